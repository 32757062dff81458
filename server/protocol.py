"""The wire protocol of the meeting websocket: envelope, error codes, command registry.

Every frame is one JSON object (see docs/protocol.md):
- client -> server, a command:   {"id": "c1", "cmd": "presentation.show", "meeting_id": 7,
                                  "args": {...}}
- server -> client, its result:  {"type": "result", "id": "c1", "ok": true, "data": {...}}
                                 {"type": "result", "id": "c1", "ok": false,
                                  "error": {"code": "forbidden", "message": "..."}}
- server -> client, an event:    {"type": "event", "meeting_id": 7, "seq": 42,
                                  "name": "presentation.changed", "data": {...}}
  Durable events carry their meeting's sequence number; ephemeral ones (pointer, strokes
  in progress, presence) carry "seq": null and may be lost.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from server.db.models import Role

if TYPE_CHECKING:
    from server.live.context import CommandContext

PROTOCOL_VERSION = 1
MAX_COMMAND_ID = 64

# Close codes (4000-4999 are the application's own).
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # a frame we refuse to read (binary, not JSON, not an object)
CLOSE_TOO_BIG = 1009
CLOSE_SLOW = 4008  # could not keep up: reconnect and replay
CLOSE_SHUTDOWN = 1012  # the server is restarting: reconnect
CLOSE_LOGGED_OUT = 4001


class ProtocolError(Exception):
    """A command's failure with a stable code; the sender gets it as an error result."""

    def __init__(self, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return error


Handler = Callable[["CommandContext", Any], Awaitable[dict[str, Any] | None]]
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Command:
    """A command as the registry knows it: name, argument schema, who may send it."""

    name: str
    handler: Handler
    schema: type[BaseModel]
    roles: frozenset[Role] = EVERYONE
    needs_meeting: bool = True
    # Ephemeral commands are cheap and frequent (pointer, live ink); they have their own
    # rate bucket so that drawing never starves a page turn.
    ephemeral: bool = False


@dataclass(frozen=True)
class Envelope:
    id: str
    cmd: str
    meeting_id: int | None
    args: dict[str, Any]


def parse(text: str) -> Envelope:
    """Check a frame's envelope; the arguments are checked later against the schema."""
    try:
        frame = json.loads(text)
    except ValueError:
        raise ProtocolError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise ProtocolError("bad_envelope", "A message must be a JSON object.")
    command_id = frame.get("id")
    if not isinstance(command_id, str) or not 0 < len(command_id) <= MAX_COMMAND_ID:
        raise ProtocolError("bad_envelope",
                            f"Every command needs an 'id': a string of 1-{MAX_COMMAND_ID} "
                            "characters chosen by the client.")
    cmd = frame.get("cmd")
    meeting_id = frame.get("meeting_id")
    args = frame.get("args", {})
    if not isinstance(cmd, str):
        raise ProtocolError("bad_envelope", "A command needs a 'cmd' name.")
    if meeting_id is not None and (not isinstance(meeting_id, int) or isinstance(meeting_id, bool)):
        raise ProtocolError("bad_envelope", "'meeting_id' must be a number.")
    if not isinstance(args, dict):
        raise ProtocolError("bad_envelope", "'args' must be a JSON object.")
    return Envelope(command_id, cmd, meeting_id, args)


def validate(command: Command, args: dict[str, Any]) -> BaseModel:
    try:
        return command.schema.model_validate(args)
    except ValidationError as error:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        summary = "; ".join(f"{'.'.join(map(str, d['loc'])) or 'args'}: {d['msg']}"
                            for d in detail[:3])
        raise ProtocolError("invalid", f"The arguments of {command.name} are not right: "
                            f"{summary}", detail) from None


def result_frame(command_id: str, data: dict[str, Any] | None) -> str:
    return json.dumps({"type": "result", "id": command_id, "ok": True, "data": data or {}},
                      ensure_ascii=False, separators=(",", ":"))


def error_frame(command_id: str | None, error: ProtocolError) -> str:
    return json.dumps({"type": "result", "id": command_id, "ok": False, "error": error.body()},
                      ensure_ascii=False, separators=(",", ":"))


def event_frame(meeting_id: int, seq: int | None, name: str, data: dict[str, Any]) -> str:
    """Encode an event once; the same string goes to every socket that may see it."""
    return json.dumps({"type": "event", "meeting_id": meeting_id, "seq": seq, "name": name,
                       "data": data}, ensure_ascii=False, separators=(",", ":"))


def hello_frame(user: dict[str, Any], heartbeat: float) -> str:
    return json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION, "user": user,
                       "heartbeat": heartbeat}, ensure_ascii=False, separators=(",", ":"))
