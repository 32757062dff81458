"""`Prepared` statements: on SQLite's writer they bypass `Session.execute`, yet every value
is written and read back exactly as SQLAlchemy would, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, insert, select, text
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
    User,
    Visibility,
)
from server.db.prepared import SQLITE_CONNECTION, Prepared
from server.services import events

_annotations = cast(Table, Annotation.__table__)
INSERT = Prepared(insert(_annotations))
KEYS = [column.key for column in _annotations.columns]
BY_ID = Prepared(select(*_annotations.columns).where(_annotations.c.id == bindparam("id")))
HANOI = timezone(timedelta(hours=7))


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

    def write_and_read(session: Session) -> tuple[bool, Any]:
        INSERT.run(session, written)
        return SQLITE_CONNECTION in session.info, BY_ID.first(session, {"id": "note-1"})

    straight, row = await db.transact(write_and_read)
    assert straight is db.is_sqlite  # SQLite's writer took the short road
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

    await db.transact(both)
    columns = ", ".join(KEYS[1:])  # all but the id
    async with db.read() as session:
        stored = (await session.execute(text(
            f"SELECT id, {columns} FROM annotations ORDER BY id"))).all()
    assert [row[0] for row in stored] == ["by-orm", "prepared"]
    assert stored[0][1:] == stored[1][1:]  # byte for byte: JSON text, datetimes, enums


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

    with pytest.raises(IntegrityError):
        await db.transact(again)
    async with db.read() as session:
        last_seq = (await session.execute(select(Meeting.last_seq))).scalar_one()
        logged = (await session.execute(select(Event.id))).all()
    assert (last_seq, logged) == (0, [])  # the event and its number went with it
