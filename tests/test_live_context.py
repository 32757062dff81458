"""`CommandContext.durable`: the one road of a change, on both backends, without sockets.

The chair's commands are called as the websocket would call them; a hub stand-in
records what would be published.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.commands import presentation as commands
from server.db.engine import Database
from server.db.models import (
    Document,
    DocumentFile,
    Event,
    IntakeState,
    Meeting,
    Participant,
    Presentation,
    Role,
    User,
)
from server.live.context import Change, CommandContext, Joined
from server.protocol import ProtocolError
from server.services import presentation
from server.services.events import LoggedEvent

PAGES = 5


@dataclass
class Published:
    events: list[LoggedEvent] = field(default_factory=list)

    async def published(self, event: LoggedEvent) -> None:
        self.events.append(event)


@dataclass
class Room:
    db: Database
    hub: Published
    meeting_id: int
    chair_id: int
    document_id: int

    def context(self, command_id: str) -> CommandContext:
        conn = SimpleNamespace(identity=SimpleNamespace(user_id=self.chair_id, is_admin=False))
        return CommandContext(cast(Any, conn), cast(Any, SimpleNamespace(db=self.db)),
                              cast(Any, self.hub), command_id, self.meeting_id,
                              Joined(Role.CHAIR, None, time.monotonic()))

    async def show(self, command_id: str, page: int) -> dict[str, Any]:
        return await commands.show(self.context(command_id), commands.ShowArgs(
            document_id=self.document_id, page=page, zoom=1.0, viewport=None))

    async def logged(self) -> list[tuple[int, str]]:
        async with self.db.read() as session:
            return [(row.seq, row.name) for row in (await session.execute(
                select(Event.seq, Event.name).order_by(Event.seq))).all()]

    async def page(self) -> int:
        async with self.db.read() as session:
            return (await presentation.current(session, self.meeting_id)).page


@pytest.fixture
async def room(database_url: str) -> AsyncIterator[Room]:
    db = Database(database_url)
    await db.migrate()
    async with db.write() as session:
        chair = User(username="chu-toa", full_name="Chủ tọa Trần Văn Bình")
        meeting = Meeting(title="Kỳ họp thứ hai")
        file = DocumentFile(sha256="b" * 64, size=1, page_count=PAGES, pages=[],
                            state=IntakeState.READY)
        session.add_all([chair, meeting, file])
        await session.flush()
        document = Document(meeting_id=meeting.id, sha256=file.sha256, title="Báo cáo",
                            original_filename="bao-cao.pdf")
        session.add_all([document, Participant(meeting_id=meeting.id, user_id=chair.id,
                                               role=Role.CHAIR)])
        await session.flush()
        ids = meeting.id, chair.id, document.id
    yield Room(db, Published(), *ids)
    await db.dispose()


async def test_a_page_turn_sent_twice_is_applied_and_published_once(room: Room) -> None:
    first = await room.show("turn-1", 3)
    await room.show("turn-2", 4)
    again = await room.show("turn-1", 3)  # the reply was lost; the tablet sends it again

    assert first["presentation"]["page"] == 3 and first["seq"] == 1
    assert again == {**first, "duplicate": True}
    assert await room.logged() == [(1, "presentation.changed"), (2, "presentation.changed")]
    assert [event.seq for event in room.hub.events] == [1, 2]
    assert await room.page() == 4  # the retry did not turn the page back


async def test_a_change_that_fails_leaves_no_event_and_no_gap(room: Room) -> None:
    await room.show("turn-1", 2)

    def writes_then_fails(session: Session) -> Change:
        presentation.show(session, room.meeting_id, user_id=room.chair_id, role=Role.CHAIR,
                          is_admin=False, document_id=room.document_id, page=5, zoom=1.0,
                          viewport=None)
        raise ProtocolError("invalid", "refused after the state was written")

    with pytest.raises(ProtocolError):
        await room.context("turn-2").durable(writes_then_fails)
    with pytest.raises(ProtocolError):  # refused by the service itself
        await room.show("turn-3", PAGES + 1)
    after = await room.show("turn-4", 3)

    assert after["seq"] == 2
    assert await room.logged() == [(1, "presentation.changed"), (2, "presentation.changed")]
    assert [event.seq for event in room.hub.events] == [1, 2]
    assert await room.page() == 3
    async with room.db.read() as session:
        last_seq = (await session.execute(select(Meeting.last_seq))).scalar_one()
        state = await session.get(Presentation, room.meeting_id)
    assert last_seq == 2 and state is not None and state.page == 3
