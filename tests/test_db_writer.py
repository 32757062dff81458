"""`Database.transact`: a durable change commits whole or not at all, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.engine import Database
from server.db.models import Meeting
from server.services import events


async def _meeting(db: Database) -> int:
    async with db.write() as session:
        meeting = Meeting(title="Kỳ họp thứ nhất")
        session.add(meeting)
        await session.flush()
        return meeting.id


async def _last_seq(db: Database, meeting_id: int) -> int:
    async with db.read() as session:
        return (await events.last_seqs(session, [meeting_id]))[meeting_id]


async def test_a_change_that_fails_leaves_nothing_and_one_that_returns_is_kept(
    db: Database
) -> None:
    meeting_id = await _meeting(db)

    def renamed_then_fails(session: Session) -> None:
        session.execute(update(Meeting).where(Meeting.id == meeting_id).values(title="Đổi"))
        events.next_seq(session, meeting_id)
        raise ValueError("the change is refused")

    with pytest.raises(ValueError):
        await db.transact(renamed_then_fails)
    assert await _last_seq(db, meeting_id) == 0

    def numbered(session: Session) -> int:
        return events.next_seq(session, meeting_id)

    assert await db.transact(numbered) == 1
    async with db.read() as session:
        title = (await session.execute(select(Meeting.title))).scalar_one()
    assert (title, await _last_seq(db, meeting_id)) == ("Kỳ họp thứ nhất", 1)


async def test_changes_at_once_beside_other_writers_are_numbered_without_gaps(
    db: Database
) -> None:
    meeting_id = await _meeting(db)

    def numbered(session: Session) -> int:
        return events.next_seq(session, meeting_id)

    async def retitled(n: int) -> None:
        # A write through the async engine, as the HTTP API makes them.
        async with db.write() as session:
            meeting = await session.get(Meeting, meeting_id)
            assert meeting is not None
            meeting.title = f"Lần {n}"

    results = await asyncio.gather(*(db.transact(numbered) for _ in range(40)),
                                   *(retitled(n) for n in range(10)))
    assert sorted(r for r in results if r is not None) == list(range(1, 41))
    assert await _last_seq(db, meeting_id) == 40
