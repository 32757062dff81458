"""The meeting websocket: authenticate the upgrade, then read commands and answer them.

One endpoint, one socket per client, any number of meetings over it. Each frame goes
one road: envelope -> registry -> rate limit -> schema -> role in that meeting ->
handler -> result. Errors become error results here and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.api.deps import Services, origin_allowed
from server.commands import REGISTRY
from server.errors import ApiError
from server.live.connection import Connection
from server.live.context import CommandContext, Joined
from server.live.hub import Hub
from server.protocol import (
    CLOSE_NORMAL,
    CLOSE_POLICY,
    ProtocolError,
    error_frame,
    hello_frame,
    parse,
    result_frame,
    validate,
)
from server.services import access

log = logging.getLogger(__name__)

MEMBERSHIP_MAX_AGE = 60.0  # a socket's role is checked again after this long
HEARTBEAT = 20.0


async def meeting_socket(websocket: WebSocket) -> None:
    svc: Services = websocket.app.state.services
    hub: Hub = websocket.app.state.hub
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(websocket, origin):
        await websocket.close(code=CLOSE_POLICY)  # before accept: the upgrade gets 403
        return
    identity = await svc.credentials.identify(dict(websocket.headers), dict(websocket.cookies))
    if identity is None:
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept()
    conn = Connection(websocket, identity, hub, hub.process_id)
    await conn.send(hello_frame({"id": identity.user_id, "username": identity.username,
                                 "full_name": identity.full_name}, HEARTBEAT))
    reader = asyncio.create_task(_read(conn, svc, hub), name=f"ws-{conn.key}")
    try:
        waiters: set[asyncio.Future[Any]] = {reader, conn.stopped}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not reader.done():
            reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        conn.stop(CLOSE_NORMAL)
        await conn.finish()


async def _read(conn: Connection, svc: Services, hub: Hub) -> None:
    while not conn.closed:
        try:
            message = await conn.ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            conn.stop(1006)
            return
        if message["type"] == "websocket.disconnect":
            conn.stop(1006)
            return
        text = message.get("text")
        if text is None:
            await conn.send(error_frame(None, ProtocolError(
                "bad_envelope", "Send commands as JSON text frames.")))
            conn.stop(CLOSE_POLICY)
            return
        await dispatch(conn, svc, hub, text)


async def dispatch(conn: Connection, svc: Services, hub: Hub, text: str) -> None:
    command_id: str | None = None
    try:
        envelope = parse(text)
        command_id = envelope.id
        command = REGISTRY.get(envelope.cmd)
        if command is None:
            raise ProtocolError("unknown_command", f"There is no command '{envelope.cmd}'.")
        if not conn.rate.allow(command.ephemeral):
            raise ProtocolError("rate_limited", "Too many messages; slow down.")
        args = validate(command, envelope.args)
        joined = None
        if command.needs_meeting:
            if envelope.meeting_id is None:
                raise ProtocolError("bad_envelope", f"{command.name} needs a meeting_id.")
            if command.name != "meeting.join":
                joined = await _joined(conn, svc, envelope.meeting_id)
                if joined.role not in command.roles and not conn.identity.is_admin:
                    raise ProtocolError("forbidden", "Your role in this meeting does not "
                                        f"allow {command.name}.")
        ctx = CommandContext(conn, svc, hub, envelope.id, envelope.meeting_id, joined)
        result = await command.handler(ctx, args)
        await conn.send(result_frame(envelope.id, result))
    except ProtocolError as error:
        await conn.send(error_frame(command_id, error))
    except ApiError as error:
        await conn.send(error_frame(command_id, ProtocolError(error.code, error.message)))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("command failed: %.200s", text)
        await conn.send(error_frame(command_id, ProtocolError(
            "internal", "The server could not carry out this command; it was not applied.")))


async def _joined(conn: Connection, svc: Services, meeting_id: int) -> Joined:
    """The socket's membership of a meeting it joined, re-checked now and then."""
    joined = conn.joined.get(meeting_id)
    if joined is None:
        raise ProtocolError("not_joined", "Join the meeting (meeting.join) first.")
    if time.monotonic() - joined.checked_at > MEMBERSHIP_MAX_AGE:
        async with svc.db.read() as session:
            try:
                member = await access.membership(session, conn.identity, meeting_id)
            except ApiError:
                conn.hub.leave(meeting_id, conn)
                conn.joined.pop(meeting_id, None)
                raise ProtocolError("not_found", "You are no longer part of this meeting."
                                    ) from None
        joined.role, joined.participant_id = member.role, member.participant_id
        joined.checked_at = time.monotonic()
    return joined
