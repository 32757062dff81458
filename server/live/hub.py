"""The process's hub: one subscription per meeting, fan-out to local sockets, in order.

Durable events reach a process by two roads: the broker (fast, may lose messages) and
the database (the truth). For each meeting the hub remembers the last sequence number
it delivered and delivers only the next one; anything further ahead waits while the
gap is read from the database. A lost *last* message leaves no later one to reveal the
gap, so a tail check compares every meeting with the database once a second. After
the broker reconnects, every meeting is checked at once.

Each socket also has a cursor per meeting. While a socket joins, its live events are
held; once its replay (or snapshot) is sent, the held events past its cursor follow.
So a client sees every event it may see, once, in order.

Ephemeral fan-out has a budget per process, in deliveries per second: a flood of live
ink from many tablets is dropped beyond it instead of filling the event loop, so page
turns and notes, which never count against it, still go out at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.broker import RESYNC, Broker, Message
from server.db.engine import Database
from server.db.models import Role, Visibility
from server.live.connection import Connection
from server.live.presence import PresenceBoard, PresenceEntry
from server.live.ratelimit import Bucket
from server.protocol import event_frame
from server.services import events
from server.services.events import Audience, LoggedEvent

log = logging.getLogger(__name__)

TAIL_CHECK_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
FILL_BATCH = 500
EVERYONE = Audience()




@dataclass
class Member:
    """A socket's standing in one meeting, for filtering what it may receive."""

    user_id: int
    role: Role | None
    is_admin: bool
    cursor: int | None = None  # None while joining: live events are held
    held: list[tuple[int, str, Audience]] = field(default_factory=list)

    def admits(self, audience: Audience) -> bool:
        return audience.admits(self.user_id, self.role, self.is_admin)


class MeetingChannel:
    def __init__(self, meeting_id: int, process_id: str) -> None:
        self.meeting_id = meeting_id
        self.members: dict[Connection, Member] = {}
        self.seq = 0
        self.ahead: dict[int, tuple[str, dict[str, Any], Audience]] = {}
        self.filling: asyncio.Task[None] | None = None
        self.presence = PresenceBoard(process_id)


class Hub:
    def __init__(self, db: Database, broker: Broker, *, prefix: str = "phonghop",
                 backlog: int = 512, ephemeral_budget: int = 20_000) -> None:
        self.db = db
        self.broker = broker
        self.prefix = prefix
        self.backlog = backlog
        self.slow_drops = 0
        self.ephemeral_budget = Bucket(rate=ephemeral_budget, burst=ephemeral_budget)
        self.ephemeral_drops = 0
        self.process_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._own = json.dumps({"p": self.process_id}, separators=(",", ":"))[:-1].encode()
        self.channels: dict[int, MeetingChannel] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._opening: dict[int, asyncio.Future[MeetingChannel]] = {}

    # ---- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect()
        self._tasks = [
            asyncio.create_task(self._read_broker(), name="hub-broker"),
            asyncio.create_task(self._tail_check(), name="hub-tail-check"),
            asyncio.create_task(self._heartbeat(), name="hub-presence"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for channel in self.channels.values():
            if channel.filling is not None:
                channel.filling.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.disconnect()

    def channel_name(self, meeting_id: int) -> str:
        return f"{self.prefix}:meeting:{meeting_id}"

    # ---- joining and leaving ------------------------------------------------------------

    async def channel(self, meeting_id: int) -> MeetingChannel:
        """The meeting's channel, subscribed once per process."""
        channel = self.channels.get(meeting_id)
        if channel is not None:
            return channel
        if meeting_id in self._opening:
            return await asyncio.shield(self._opening[meeting_id])
        future: asyncio.Future[MeetingChannel] = asyncio.get_running_loop().create_future()
        self._opening[meeting_id] = future
        try:
            channel = MeetingChannel(meeting_id, self.process_id)
            # Subscribe before reading the sequence: nothing published after the read
            # can then be missed, and what came before is a duplicate we drop.
            await self.broker.subscribe(self.channel_name(meeting_id))
            async with self.db.read() as session:
                channel.seq = (await events.last_seqs(session, [meeting_id]))[meeting_id]
            self.channels[meeting_id] = channel
            # A newcomer has missed earlier presence announcements: ask for them now.
            self._publish_nowait(channel, {"k": "p", "op": "ask"})
            future.set_result(channel)
            return channel
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: a failed open is raised to its caller only
            raise
        finally:
            del self._opening[meeting_id]

    def hold(self, channel: MeetingChannel, conn: Connection, member: Member) -> None:
        """Register a joining socket; its live events are held until `release`."""
        member.cursor = None
        channel.members[conn] = member

    def release(self, channel: MeetingChannel, conn: Connection, cursor: int) -> None:
        """The socket has its replay up to `cursor`: send what was held after it."""
        member = channel.members.get(conn)
        if member is None:
            return
        member.cursor = cursor
        held, member.held = member.held, []
        for seq, frame, audience in held:
            if seq > member.cursor and member.admits(audience):
                member.cursor = seq
                conn.offer(frame)

    def leave(self, meeting_id: int, conn: Connection) -> None:
        channel = self.channels.get(meeting_id)
        if channel is None or channel.members.pop(conn, None) is None:
            return
        entry = channel.presence.remove_local(conn.key)
        if entry is not None:
            self._presence_out(channel, "presence.left", {"key": entry.key}, exclude=None)
            self._publish_nowait(channel, {"k": "p", "op": "leave", "keys": [entry.key]})
        if not channel.members:
            self.channels.pop(meeting_id, None)
            if channel.filling is not None:
                channel.filling.cancel()
            asyncio.get_running_loop().create_task(
                self.broker.unsubscribe(self.channel_name(meeting_id)))

    # ---- durable events -----------------------------------------------------------------

    async def published(self, event: LoggedEvent) -> None:
        """A committed event: deliver it here at once and tell the other processes."""
        audience = event.audience
        channel = self.channels.get(event.meeting_id)
        if channel is not None:
            self._durable(channel, event.seq, event.name, event.data, audience)
        if not self.broker.reaches_others:
            return
        await self.broker.publish(self.channel_name(event.meeting_id), self._encode({
            "k": "e", "seq": event.seq, "name": event.name, "data": event.data,
            "vis": audience.visibility.value, "a": audience.author_id}))

    def _durable(self, channel: MeetingChannel, seq: int, name: str, data: dict[str, Any],
                 audience: Audience) -> None:
        if seq <= channel.seq:
            return  # seen already (our own event back from Redis, or filled from the DB)
        if seq > channel.seq + 1:
            channel.ahead[seq] = (name, data, audience)
            self._fill(channel)
            return
        self._deliver(channel, seq, name, data, audience)
        while channel.seq + 1 in channel.ahead:
            self._deliver(channel, channel.seq + 1, *channel.ahead.pop(channel.seq + 1))

    def _deliver(self, channel: MeetingChannel, seq: int, name: str, data: dict[str, Any],
                 audience: Audience) -> None:
        channel.seq = seq
        frame = event_frame(channel.meeting_id, seq, name, data)
        shared = audience.visibility is Visibility.SHARED
        for conn, member in channel.members.items():
            if member.cursor is None:
                member.held.append((seq, frame, audience))
            elif seq > member.cursor and (shared or member.admits(audience)):
                member.cursor = seq
                conn.offer(frame)

    def _fill(self, channel: MeetingChannel) -> None:
        if channel.filling is None or channel.filling.done():
            channel.filling = asyncio.get_running_loop().create_task(self._fill_from_db(channel))

    async def _fill_from_db(self, channel: MeetingChannel) -> None:
        """Read what the broker did not bring, and deliver it in order."""
        try:
            while True:
                async with self.db.read() as session:
                    rows = await events.after(session, channel.meeting_id, channel.seq,
                                              FILL_BATCH)
                for row in rows:
                    self._durable(channel, row.seq, row.name, row.data,
                                  Audience(row.visibility, row.author_id))
                if len(rows) < FILL_BATCH:
                    break
            for seq in [s for s in channel.ahead if s <= channel.seq]:
                del channel.ahead[seq]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("filling meeting %s from the database failed", channel.meeting_id)

    async def _tail_check(self) -> None:
        while True:
            await asyncio.sleep(TAIL_CHECK_SECONDS)
            try:
                await self.resync()
            except Exception:
                log.exception("tail check failed")

    async def resync(self, meeting_ids: Iterable[int] | None = None) -> None:
        """Compare meetings with the database and fill whatever was missed."""
        ids = list(self.channels if meeting_ids is None else meeting_ids)
        if not ids:
            return
        async with self.db.read() as session:
            latest = await events.last_seqs(session, ids)
        for meeting_id, seq in latest.items():
            channel = self.channels.get(meeting_id)
            if channel is not None and seq > channel.seq:
                self._fill(channel)

    # ---- ephemeral events ---------------------------------------------------------------

    def ephemeral(self, meeting_id: int, name: str, data: dict[str, Any], *,
                  audience: Audience = EVERYONE, sender: Connection | None = None) -> bool:
        """Best effort, no sequence number: pointer moves, strokes being drawn.

        False if the process's ephemeral budget dropped it (then it goes nowhere).
        """
        channel = self.channels.get(meeting_id)
        if channel is None:
            return True
        if not self._ephemeral_out(channel, name, data, audience,
                                   sender.key if sender else None):
            return False
        self._publish_nowait(channel, {"k": "x", "name": name, "data": data,
                                       "vis": audience.visibility.value,
                                       "a": audience.author_id,
                                       "from": sender.key if sender else None})
        return True

    def _ephemeral_out(self, channel: MeetingChannel, name: str, data: dict[str, Any],
                       audience: Audience, sender_key: str | None) -> bool:
        # Counted as if every member got it: cheaper than counting first, and an event
        # larger than the whole budget still goes out when the budget is full.
        if not self.ephemeral_budget.take(min(len(channel.members),
                                              self.ephemeral_budget.burst)):
            self.ephemeral_drops += 1
            return False
        frame = event_frame(channel.meeting_id, None, name, data)
        for conn, member in channel.members.items():
            if member.cursor is not None and conn.key != sender_key and member.admits(audience):
                conn.offer(frame)
        return True

    def _publish_nowait(self, channel: MeetingChannel, message: dict[str, Any]) -> None:
        if not self.broker.reaches_others:
            return  # one process: no task and no encoding for nobody
        asyncio.get_running_loop().create_task(
            self.broker.publish(self.channel_name(channel.meeting_id), self._encode(message)))

    def _encode(self, message: dict[str, Any]) -> bytes:
        # The sender first: Redis hands every process its own messages back too, and
        # `_on_message` recognises those by their first bytes without decoding them.
        return json.dumps({"p": self.process_id, **message}, ensure_ascii=False,
                          separators=(",", ":")).encode()

    # ---- presence -----------------------------------------------------------------------

    def present(self, channel: MeetingChannel, entry: PresenceEntry) -> None:
        """Add or change a local socket's presence, here and in the other processes."""
        op = "presence.updated" if channel.presence.has(entry.key) else "presence.joined"
        channel.presence.set_local(entry)
        self._presence_out(channel, op, entry.public(), exclude=None)
        self._publish_nowait(channel, {"k": "p", "op": "set", "entries": [entry.public()]})

    def _presence_out(self, channel: MeetingChannel, name: str, data: dict[str, Any],
                      exclude: Connection | None) -> None:
        frame = event_frame(channel.meeting_id, None, name, data)
        for conn, member in channel.members.items():
            if member.cursor is not None and conn is not exclude:
                conn.offer(frame)

    def _remote_presence(self, channel: MeetingChannel, message: dict[str, Any]) -> None:
        process = message["p"]
        op = message["op"]
        if op == "ask":
            self._announce(channel)
            return
        if op == "leave":
            for key in message["keys"]:
                if channel.presence.remove_remote(process, key):
                    self._presence_out(channel, "presence.left", {"key": key}, exclude=None)
            return
        changes = channel.presence.merge_remote(process, message["entries"],
                                                complete=(op == "sync"))
        for name, data in changes:
            self._presence_out(channel, name, data, exclude=None)

    def _announce(self, channel: MeetingChannel) -> None:
        entries = channel.presence.local_entries()
        if entries:
            self._publish_nowait(channel, {"k": "p", "op": "sync",
                                           "entries": [e.public() for e in entries]})

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            now = time.monotonic()
            for channel in list(self.channels.values()):
                self._announce(channel)
                for key in channel.presence.expire(now, 3 * HEARTBEAT_SECONDS):
                    self._presence_out(channel, "presence.left", {"key": key}, exclude=None)

    # ---- the broker's messages ----------------------------------------------------------

    async def _read_broker(self) -> None:
        while True:
            try:
                message = await self.broker.next_message()
                if message is RESYNC:
                    await self.resync()
                    continue
                assert isinstance(message, Message)
                self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a broker message could not be handled")

    def _on_message(self, message: Message) -> None:
        meeting_id = int(message.channel.rsplit(":", 1)[1])
        channel = self.channels.get(meeting_id)
        if channel is None:
            return
        if message.data.startswith(self._own):
            # Ours, back from Redis: delivered here when it was published (a durable
            # event straight after its commit), and decoding it, ink and all, bought
            # nothing but CPU.
            return
        body = json.loads(message.data)
        audience = Audience(Visibility(body.get("vis", "shared")), body.get("a"))
        if body["k"] == "e":
            self._durable(channel, body["seq"], body["name"], body["data"], audience)
        elif body["k"] == "x":
            self._ephemeral_out(channel, body["name"], body["data"], audience, body.get("from"))
        elif body["k"] == "p":
            self._remote_presence(channel, body)

    # ---- inspection -----------------------------------------------------------------------

    def presence_of(self, meeting_id: int) -> list[dict[str, Any]]:
        channel = self.channels.get(meeting_id)
        return channel.presence.everyone() if channel else []

    def drop(self, conn: Connection) -> None:
        """Forget a socket everywhere (it closed, or could not keep up)."""
        for meeting_id in list(conn.meetings):
            self.leave(meeting_id, conn)
        conn.meetings.clear()

