"""`Database.transact`: a durable change commits whole or not at all, on both backends."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.engine import Database
from server.db.models import Meeting
from server.db.writer import CHECKPOINT_EVERY, SQLiteWriter
from server.services import events
from tests.helpers import new_meeting


async def _last_seq(db: Database, meeting_id: int) -> int:
    async with db.read() as session:
        return (await events.last_seqs(session, [meeting_id]))[meeting_id]


async def test_a_change_that_fails_leaves_nothing_and_one_that_returns_is_kept(
    db: Database
) -> None:
    meeting_id = await new_meeting(db)

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
    meeting_id = await new_meeting(db)

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


# ---- SQLite's writer: on the event loop when it can be, on its thread when it must --------

@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'phonghop.db'}")
    await db.migrate()
    yield db
    await db.dispose()


def _writer(db: Database) -> SQLiteWriter:
    assert db._writer is not None
    return db._writer


async def test_a_held_write_lock_hands_changes_to_the_thread_in_order_and_the_loop_goes_on(
    sqlite_db: Database, tmp_path: Path
) -> None:
    db = sqlite_db
    meeting_id = await new_meeting(db)
    # Another writer (as the HTTP API or a second process would be) holds the write lock.
    other = sqlite3.connect(tmp_path / "phonghop.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    def numbered(session: Session) -> int:
        return events.next_seq(session, meeting_id)

    changes = [asyncio.create_task(db.transact(numbered)) for _ in range(5)]
    ticks = 0
    while ticks < 20:  # the loop is free while the changes wait for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not any(change.done() for change in changes)
    assert _writer(db).handed_over == 1  # the first found the lock taken; the rest queued
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(asyncio.gather(*changes), 30) == [1, 2, 3, 4, 5]
    # With the queue empty again, the next change is made on the loop at once.
    assert await db.transact(numbered) == 6
    assert _writer(db).handed_over == 1


async def test_a_steady_stream_of_changes_on_the_loop_keeps_the_wal_small(
    sqlite_db: Database, tmp_path: Path
) -> None:
    db = sqlite_db
    meeting_id = await new_meeting(db)
    changes = 10 * CHECKPOINT_EVERY

    def appended(session: Session) -> None:
        events.append(session, meeting_id, "agenda.note", {"text": "Ý kiến " * 40})

    # Back to back, as in a busy meeting: no quiet moment for the WAL to start over in.
    for _ in range(changes):
        await db.transact(appended)
    checkpoint = _writer(db)._checkpoint
    assert checkpoint is not None
    await checkpoint  # the last one may still run: the probe would find the WAL busy
    probe = sqlite3.connect(tmp_path / "phonghop.db", isolation_level=None)
    try:
        _busy, wal_frames, _copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    # Each change writes at least two pages (the meeting's counter, the event row), so a
    # WAL never started over would hold more than 2 * changes frames; started over after
    # each checkpoint, it holds what came since the last one.
    assert 0 < wal_frames < changes
