"""What a command handler is given, and the one road of every durable change.

`durable()` is STYLE.md's "one path for every change": state and event row in one
transaction, numbered by the meeting's sequence; commit; then publish. A command is
keyed by its sender and its client-chosen id, so a retry after a lost reply finds the
first attempt's event and returns the same result instead of applying twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.api.deps import Services
from server.db.models import Role
from server.live.connection import Connection
from server.live.hub import Hub
from server.protocol import ProtocolError
from server.security.credentials import Identity
from server.services import events
from server.services.events import Audience, LoggedEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What a durable command's transaction produced: one event and the sender's result."""

    name: str
    data: dict[str, Any]
    audience: Audience = field(default_factory=Audience)
    result: dict[str, Any] = field(default_factory=dict)
    # Further events in the same transaction (e.g. hiding a note from those who lose it).
    more: tuple[tuple[str, dict[str, Any], Audience], ...] = ()


@dataclass
class Joined:
    """A socket's membership of a meeting, checked when it joined."""

    role: Role | None
    participant_id: int | None
    checked_at: float


@dataclass
class CommandContext:
    conn: Connection
    services: Services
    hub: Hub
    command_id: str
    meeting_id: int | None
    joined: Joined | None

    @property
    def identity(self) -> Identity:
        return self.conn.identity

    @property
    def role(self) -> Role | None:
        return self.joined.role if self.joined else None

    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    def require_meeting(self) -> int:
        if self.meeting_id is None:
            raise ProtocolError("bad_envelope", "This command needs a meeting_id.")
        return self.meeting_id

    async def durable(self, change: Callable[[Session], Change]) -> dict[str, Any]:
        """Apply a change with its event in one transaction, commit, then publish.

        `change` runs synchronously inside the transaction (`Database.transact`): on
        SQLite the whole transaction is one hop to the writer's thread.
        """
        meeting_id = self.require_meeting()
        key = f"{self.identity.user_id}:{self.command_id}"

        def transaction(session: Session) -> tuple[Change, list[LoggedEvent]]:
            outcome = change(session)
            logged = [events.append(session, meeting_id, outcome.name, outcome.data,
                                    audience=outcome.audience, command_key=key,
                                    result=outcome.result)]
            logged += [events.append(session, meeting_id, name, data, audience=aud)
                       for name, data, aud in outcome.more]
            return outcome, logged

        try:
            outcome, logged = await self.services.db.transact(transaction)
        except (IntegrityError, ProtocolError):
            # Maybe a retry (a lost reply, or the same command twice at once from two
            # processes). The command's key is unique in the event log and its event is
            # written in the change's own transaction, so a second attempt cannot
            # commit: its change is refused, or its event row breaks the unique key, and
            # all it did rolls back. Only then is the first attempt looked up, which
            # spares every command that runs once a statement.
            async with self.services.db.read() as session:
                prior = await session.run_sync(events.by_command, key)
            if prior is None:
                raise
            return {**(prior.result or {}), "seq": prior.seq, "duplicate": True}
        # Committed: from here on nothing may report the command as failed. Should
        # publishing fail, every process still finds the events by sequence number.
        for committed in logged:
            try:
                await self.hub.published(committed)
            except Exception:
                log.exception("publishing event %s of meeting %s failed", committed.seq,
                              meeting_id)
        return {**outcome.result, "seq": logged[0].seq}


def fresh(joined: Joined, max_age: float) -> bool:
    return time.monotonic() - joined.checked_at < max_age
