"""`Prepared` statements: in `Database.transact` they bypass `Session.execute` (SQLite's
writer, or straight on asyncpg), yet every value is written and read back exactly as
SQLAlchemy would, on both backends, inside the transaction the session commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db.engine import Database
from server.db.models import (
    Annotation,
    AnnotationKind,
    Document,
    DocumentFile,
    Event,
    IntakeState,
    Meeting,
    Presentation,
    Role,
    User,
    Visibility,
)
from server.db.prepared import ASYNCPG_CONNECTION, SQLITE_CONNECTION, Prepared
from server.services import events, presentation

_annotations = cast(Table, Annotation.__table__)
INSERT = Prepared(insert(_annotations))
KEYS = [column.key for column in _annotations.columns]
BY_ID = Prepared(select(*_annotations.columns).where(_annotations.c.id == bindparam("id")))
HANOI = timezone(timedelta(hours=7))
NEW_YORK = timezone(timedelta(hours=-5))


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("Session.execute was called on the short road")


async def _document(db: Database) -> tuple[int, int, int]:
    """A meeting, its secretary and a one-page document: (meeting, user, document)."""
    async with db.write() as session:
        user = User(username="thu-ky", full_name="Thư ký Nguyễn Thị Hà")
        meeting = Meeting(title="Kỳ họp thứ nhất")
        file = DocumentFile(sha256="a" * 64, size=1, page_count=1, pages=[],
                            state=IntakeState.READY)
        session.add_all([user, meeting, file])
        await session.flush()
        document = Document(meeting_id=meeting.id, sha256=file.sha256, title="Tờ trình",
                            original_filename="to-trinh.pdf")
        session.add(document)
        await session.flush()
        return meeting.id, user.id, document.id


def _note(meeting_id: int, user_id: int, document_id: int, note_id: str) -> dict[str, Any]:
    return {
        "id": note_id, "meeting_id": meeting_id, "document_id": document_id, "page": 1,
        "author_id": user_id, "kind": AnnotationKind.NOTE, "visibility": Visibility.CHAIR,
        "data": {"text": "Đề nghị làm rõ khoản chi thường xuyên", "điểm": [1.5, None, True],
                 "nested": {"ghi chú": "Ủy ban nhân dân xã"}},
        "created_at": datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=HANOI),
        "updated_at": datetime(2026, 11, 21, 2, 30, 15, 654321, tzinfo=UTC),
        "deleted_at": None,
    }


async def test_values_round_trip_exactly_through_a_prepared_statement(db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)
    written = _note(meeting_id, user_id, document_id, "note-1")

    def write_and_read(session: Session) -> tuple[bool, bool, Any]:
        with pytest.MonkeyPatch.context() as patch:  # no `Session.execute` on the road
            patch.setattr(Session, "execute", _refuse)
            INSERT.run(session, written)
            row = BY_ID.first(session, {"id": "note-1"})
        return SQLITE_CONNECTION in session.info, ASYNCPG_CONNECTION in session.info, row

    calls = INSERT.asyncpg_calls, BY_ID.asyncpg_calls
    on_sqlite, on_asyncpg, row = await db.transact(write_and_read)
    assert (on_sqlite, on_asyncpg) == (db.is_sqlite, not db.is_sqlite)
    # On PostgreSQL both statements ran straight on asyncpg, once each.
    assert (INSERT.asyncpg_calls - calls[0], BY_ID.asyncpg_calls - calls[1]) == (
        (0, 0) if db.is_sqlite else (1, 1))
    expected = {**written, "created_at": written["created_at"].astimezone(UTC)}
    assert dict(zip(KEYS, row, strict=True)) == expected
    kind, visibility, created_at = row[5], row[6], row[8]
    assert (kind, visibility, created_at.tzinfo) == (AnnotationKind.NOTE, Visibility.CHAIR, UTC)
    assert type(kind) is AnnotationKind and type(visibility) is Visibility

    async with db.read() as session:  # and the ORM, over the other driver, agrees
        note = await session.get(Annotation, "note-1")
    assert note is not None
    assert {key: getattr(note, key) for key in KEYS} == expected


async def test_the_short_road_stores_what_session_execute_stores(db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)

    def both(session: Session) -> None:
        session.execute(INSERT.statement, _note(meeting_id, user_id, document_id, "by-orm"))
        INSERT.run(session, _note(meeting_id, user_id, document_id, "prepared"))

    calls = INSERT.asyncpg_calls
    await db.transact(both)
    assert INSERT.asyncpg_calls - calls == (0 if db.is_sqlite else 1)
    # As the database holds them, as text: JSON exactly as sent, datetimes, enums.
    columns = ", ".join(f"CAST({key} AS TEXT)" for key in KEYS[1:])  # all but the id
    async with db.read() as session:
        stored = (await session.execute(text(
            f"SELECT id, {columns} FROM annotations ORDER BY id"))).all()
    assert [row[0] for row in stored] == ["by-orm", "prepared"]
    assert stored[0][1:] == stored[1][1:]  # byte for byte
    note = _note(meeting_id, user_id, document_id, "prepared")
    assert stored[1][KEYS.index("data")] == json.dumps(note["data"])  # as SQLAlchemy sends it


async def test_defaults_sqlalchemy_fills_in_are_filled_in(db: Database) -> None:
    meeting_id, _, _ = await _document(db)
    async with db.read() as session:
        before = (await session.execute(select(Meeting.updated_at))).scalar_one()

    seq = await db.transact(lambda session: events.next_seq(session, meeting_id))

    async with db.read() as session:
        last_seq, after = (await session.execute(
            select(Meeting.last_seq, Meeting.updated_at))).one()
    assert (seq, last_seq) == (1, 1)
    assert after > before and after.tzinfo is UTC  # the column's onupdate=utcnow ran


async def test_a_unique_key_fails_as_sqlalchemy_says_it_and_rolls_back(db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)
    await db.transact(lambda session: INSERT.run(
        session, _note(meeting_id, user_id, document_id, "once")))

    def again(session: Session) -> None:
        events.append(session, meeting_id, "annotation.created", {"id": "once"})
        INSERT.run(session, _note(meeting_id, user_id, document_id, "once"))

    calls = INSERT.asyncpg_calls
    with pytest.raises(IntegrityError) as failed:
        await db.transact(again)
    assert INSERT.asyncpg_calls - calls == (0 if db.is_sqlite else 1)
    # The driver's error underneath, as `Session.execute` would have wrapped it.
    assert type(failed.value.orig).__name__ == "IntegrityError" if db.is_sqlite else (
        type(failed.value.orig).__name__, getattr(failed.value.orig, "sqlstate", None)
    ) == ("UniqueViolationError", "23505")
    async with db.read() as session:
        last_seq = (await session.execute(select(Meeting.last_seq))).scalar_one()
        logged = (await session.execute(select(Event.id))).all()
    assert (last_seq, logged) == (0, [])  # the event and its number went with it
    # and the connection went back to the pool fit for the next transaction
    assert await db.transact(lambda session: events.next_seq(session, meeting_id)) == 1


async def test_a_rollback_undoes_straight_statements_and_a_commit_keeps_them(
        db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)

    def change_then_fail(session: Session) -> None:
        events.append(session, meeting_id, "annotation.created", {"id": "lost"})
        INSERT.run(session, _note(meeting_id, user_id, document_id, "lost"))
        raise RuntimeError("the command's check failed after its statements")

    with pytest.raises(RuntimeError):
        await db.transact(change_then_fail)

    def change(session: Session) -> int:
        seq = events.append(session, meeting_id, "annotation.created", {"id": "kept"}).seq
        INSERT.run(session, _note(meeting_id, user_id, document_id, "kept"))
        return seq

    assert await db.transact(change) == 1  # the failed attempt's number was rolled back
    async with db.read() as session:  # another connection sees what was committed
        notes = (await session.execute(select(Annotation.id))).scalars().all()
        logged = (await session.execute(select(Event.seq, Event.data))).all()
        last_seq = (await session.execute(select(Meeting.last_seq))).scalar_one()
    assert (notes, logged, last_seq) == (["kept"], [(1, {"id": "kept"})], 1)


TRANSACTION_ID = Prepared(select(func.txid_current()))


async def test_straight_statements_share_the_sessions_transaction(db: Database) -> None:
    """On PostgreSQL: asyncpg's statements and the ORM's run in one server transaction,
    whichever goes first, and the ORM's changes are flushed before a straight statement."""
    if db.is_sqlite:
        pytest.skip("txid_current is PostgreSQL's")
    meeting_id, user_id, _ = await _document(db)

    def both(session: Session) -> tuple[int, int, int | None]:
        straight = TRANSACTION_ID.scalar(session, {})
        by_orm = session.execute(select(func.txid_current())).scalar_one()
        session.add(User(username="dai-bieu", full_name="Đại biểu Trần Văn Nam"))
        found = Prepared(select(func.count()).select_from(User).where(
            User.username == bindparam("username"))).scalar(session, {"username": "dai-bieu"})
        return straight, by_orm, found

    straight, by_orm, found = await db.transact(both)
    assert straight == by_orm and found == 1

    def orm_first_then_fail(session: Session) -> None:
        session.add(User(username="khach", full_name="Khách mời"))
        session.flush()
        events.append(session, meeting_id, "presentation.shown", {"page": 1})
        raise RuntimeError

    with pytest.raises(RuntimeError):
        await db.transact(orm_first_then_fail)
    async with db.read() as session:
        users = (await session.execute(select(User.username).order_by(User.id))).scalars()
        assert list(users) == ["thu-ky", "dai-bieu"]
        assert (await session.execute(select(Meeting.last_seq))).scalar_one() == 0
    assert user_id


async def test_a_page_turn_round_trips_floats_lists_and_none(db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)

    def turn(session: Session) -> dict[str, Any]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Session, "execute", _refuse)
            presentation.show(session, meeting_id, user_id=user_id, role=Role.CHAIR,
                              is_admin=False, document_id=document_id, page=1, zoom=1.25,
                              viewport=[0.125, 0.5, 0.75, 0.3333333333333333])
            presentation.show(session, meeting_id, user_id=user_id, role=Role.CHAIR,
                              is_admin=False, document_id=document_id, page=1, zoom=2.0,
                              viewport=None)
            return presentation._state(session, meeting_id)

    state = await db.transact(turn)
    expected = {"presenter_id": None, "document_id": document_id, "page": 1, "zoom": 2.0,
                "viewport": None, "agenda_item_id": None}
    assert state == expected and type(state["zoom"]) is float
    async with db.read() as session:
        row = await session.get(Presentation, meeting_id)
    assert row is not None and presentation.as_dict(row) == expected
    assert row.updated_at.tzinfo is UTC


async def test_aware_datetimes_in_any_zone_are_stored_as_the_same_instant(
        db: Database) -> None:
    meeting_id, user_id, document_id = await _document(db)
    note = {**_note(meeting_id, user_id, document_id, "zones"),
            "created_at": datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=NEW_YORK),
            "deleted_at": datetime(2027, 1, 1, 11, 59, 59, 999999, tzinfo=HANOI),
            "data": {}, "visibility": Visibility.PRIVATE, "kind": AnnotationKind.INK}
    row = await db.transact(lambda session: (
        INSERT.run(session, note), BY_ID.first(session, {"id": "zones"}))[1])
    got = dict(zip(KEYS, row, strict=True))
    assert got["created_at"] == datetime(2027, 1, 1, 4, 59, 59, 999999, tzinfo=UTC)
    assert got["deleted_at"] == datetime(2027, 1, 1, 4, 59, 59, 999999, tzinfo=UTC)
    assert got["created_at"].tzinfo is UTC and got["deleted_at"].tzinfo is UTC
    assert (got["data"], got["visibility"], got["kind"]) == (
        {}, Visibility.PRIVATE, AnnotationKind.INK)
