"""The meeting's event log: append in the change's own transaction, read for replay.

The sequence number comes from one atomic `UPDATE meetings SET last_seq = last_seq + 1
RETURNING last_seq`. The row lock it takes is held until commit, so events of one
meeting commit in sequence order on PostgreSQL, and SQLite's single writer gives the
same. A read-then-write counter would lose numbers under READ COMMITTED (measured: 200
concurrent increments ended at 16).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.db.models import Event, Meeting, Role, Visibility, utcnow
from server.db.prepared import Prepared

CHAIR_AUDIENCE = frozenset({Role.CHAIR, Role.SECRETARY})


@dataclass(frozen=True)
class Audience:
    """Who may receive an event: its visibility and its author."""

    visibility: Visibility = Visibility.SHARED
    author_id: int | None = None

    def admits(self, user_id: int, role: Role | None, is_admin: bool = False) -> bool:
        if self.visibility is Visibility.SHARED or user_id == self.author_id:
            return True
        if self.visibility is Visibility.CHAIR:
            return is_admin or role in CHAIR_AUDIENCE
        return False


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event appended to the log: what the hub publishes once the transaction commits."""

    meeting_id: int
    seq: int
    name: str
    data: dict[str, Any]
    audience: Audience


# The statements of every durable command, built once: constructing an expression and
# its cache key on every call cost more CPU than executing it. Core statements on the
# tables also skip the ORM's unit of work, identity map and flush, which the log never
# needs. With the same done for the presentation, a page turn on SQLite went from about
# 5.7 to 4.3 ms of CPU (in-process, interleaved runs on the noisy 2-core machine).
# (Declarative types `__table__` as a bare FromClause; it is the mapped Table.)
_events = cast(Table, Event.__table__)
_meetings = cast(Table, Meeting.__table__)
_NEXT_SEQ = Prepared(
    update(_meetings).where(_meetings.c.id == bindparam("meeting_id"))
    .values(last_seq=_meetings.c.last_seq + 1).returning(_meetings.c.last_seq)
)
_INSERT = Prepared(insert(_events))
_BY_COMMAND = Prepared(select(_events.c.seq, _events.c.result).where(
    _events.c.command_key == bindparam("command_key")))


# Appending runs inside `Database.transact`, synchronously: see `server/db/writer.py`.

def next_seq(session: Session, meeting_id: int) -> int:
    return int(_NEXT_SEQ.scalar(session, {"meeting_id": meeting_id}))


def append(
    session: Session, meeting_id: int, name: str, data: dict[str, Any], *,
    audience: Audience | None = None, command_key: str | None = None,
    result: dict[str, Any] | None = None,
) -> LoggedEvent:
    """Add an event to the caller's transaction, numbered after every earlier one."""
    audience = audience or Audience()
    seq = next_seq(session, meeting_id)
    _INSERT.run(session, {
        "meeting_id": meeting_id, "seq": seq, "name": name, "data": data,
        "visibility": audience.visibility, "author_id": audience.author_id,
        "command_key": command_key, "result": result, "created_at": utcnow(),
    })
    return LoggedEvent(meeting_id, seq, name, data, audience)


@dataclass(frozen=True, slots=True)
class Prior:
    """What a command that ran already produced: its event's number and its result."""

    seq: int
    result: dict[str, Any] | None


def by_command(session: Session, command_key: str) -> Prior | None:
    """The sequence number and result of the event a command produced, if it ran."""
    row = _BY_COMMAND.first(session, {"command_key": command_key})
    return None if row is None else Prior(row[0], row[1])


async def after(session: AsyncSession, meeting_id: int, seq: int, limit: int) -> Sequence[Event]:
    """Events of the meeting numbered above `seq`, in order, at most `limit`."""
    return (await session.execute(
        select(Event).where(Event.meeting_id == meeting_id, Event.seq > seq)
        .order_by(Event.seq).limit(limit))).scalars().all()


async def last_seqs(session: AsyncSession, meeting_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Meeting.id, Meeting.last_seq).where(Meeting.id.in_(meeting_ids)))
    return {meeting_id: seq for meeting_id, seq in rows}
