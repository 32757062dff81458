"""What the meeting's presenter shows: document, page, zoom, viewport, agenda item.

The chair presents unless the chair has handed the role to someone; the chair can
always take it back by presenting. The state is durable, so a tablet that joins late
lands on the page being shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.db.models import (
    AgendaItem,
    Document,
    DocumentFile,
    Participant,
    Presentation,
    Role,
    utcnow,
)
from server.db.prepared import Prepared
from server.protocol import ProtocolError


async def current(session: AsyncSession, meeting_id: int) -> Presentation:
    row = await session.get(Presentation, meeting_id)
    if row is None:
        row = Presentation(meeting_id=meeting_id, page=1, zoom=1.0)
    return row


def as_dict(row: Presentation) -> dict[str, Any]:
    return {
        "presenter_id": row.presenter_id, "document_id": row.document_id, "page": row.page,
        "zoom": row.zoom, "viewport": row.viewport, "agenda_item_id": row.agenda_item_id,
    }


def may_present(presenter_id: int | None, user_id: int, role: Role | None, is_admin: bool
                ) -> bool:
    return is_admin or role is Role.CHAIR or (presenter_id is not None and presenter_id == user_id)


# The page-turn path in Core statements built once: read the state (locked on
# PostgreSQL, so concurrent changes apply one after the other; SQLite's writer holds the
# whole database already), check the document, write the state back in one upsert.
# Why Core statements built once: see `server/services/events.py`.
_presentations = Presentation.__table__
_documents = Document.__table__
_files = DocumentFile.__table__
STATE_COLUMNS = ("presenter_id", "document_id", "page", "zoom", "viewport", "agenda_item_id")
_STATE = Prepared(
    select(*(_presentations.c[name] for name in STATE_COLUMNS))
    .where(_presentations.c.meeting_id == bindparam("meeting_id")).with_for_update()
)
_DOCUMENT = Prepared(
    select(_documents.c.agenda_item_id, _files.c.page_count)
    .join(_files, _files.c.sha256 == _documents.c.sha256)
    .where(_documents.c.id == bindparam("document_id"),
           _documents.c.meeting_id == bindparam("meeting_id"))
)


def _upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(_presentations)
    return statement.on_conflict_do_update(
        index_elements=[_presentations.c.meeting_id],
        set_={name: statement.excluded[name] for name in (*STATE_COLUMNS, "updated_at")})


_UPSERT = Prepared(_upsert(postgresql.insert), sqlite=_upsert(sqlite.insert))


# The changes below run inside `Database.transact`, synchronously.

def _state(session: Session, meeting_id: int) -> dict[str, Any]:
    """The presentation state to change, as `as_dict` gives it."""
    row = _STATE.first(session, {"meeting_id": meeting_id})
    if row is None:
        return as_dict(Presentation(meeting_id=meeting_id, page=1, zoom=1.0))
    return dict(zip(STATE_COLUMNS, row, strict=True))


def _save(session: Session, meeting_id: int, state: dict[str, Any]) -> dict[str, Any]:
    _UPSERT.run(session, {**state, "meeting_id": meeting_id, "updated_at": utcnow()})
    return state


def show(
    session: Session, meeting_id: int, *, user_id: int, role: Role | None,
    is_admin: bool, document_id: int, page: int, zoom: float,
    viewport: list[float] | None,
) -> dict[str, Any]:
    """The presenter shows a page; the chair presenting takes the role back."""
    state = _state(session, meeting_id)
    if not may_present(state["presenter_id"], user_id, role, is_admin):
        raise ProtocolError("forbidden", "Only the presenter (or the chair) can do that.")
    found = _DOCUMENT.first(session, {"document_id": document_id, "meeting_id": meeting_id})
    if found is None:
        raise ProtocolError("not_found", "That document is not part of this meeting.")
    agenda_item_id, page_count = found
    if not 1 <= page <= page_count:
        raise ProtocolError("invalid", f"The document has pages 1 to {page_count}.")
    if role is Role.CHAIR and state["presenter_id"] not in (None, user_id):
        state["presenter_id"] = user_id
    state.update(document_id=document_id, page=page, zoom=zoom, viewport=viewport)
    if agenda_item_id is not None:
        state["agenda_item_id"] = agenda_item_id
    return _save(session, meeting_id, state)


def hand_over(session: Session, meeting_id: int, user_id: int | None) -> dict[str, Any]:
    """Make another participant the presenter (None: back to the chair)."""
    if user_id is not None:
        role = session.execute(select(Participant.role).where(
            Participant.meeting_id == meeting_id, Participant.user_id == user_id)).scalar()
        if role is None or role is Role.GUEST:
            raise ProtocolError("invalid", "The presenter must be a participant of this "
                                "meeting (not a guest).")
    state = _state(session, meeting_id)
    state["presenter_id"] = user_id
    return _save(session, meeting_id, state)


def open_item(session: Session, meeting_id: int, item_id: int) -> dict[str, Any]:
    """Mark the agenda item the meeting is on."""
    item = session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise ProtocolError("not_found", "That agenda item is not part of this meeting.")
    state = _state(session, meeting_id)
    state["agenda_item_id"] = item_id
    return _save(session, meeting_id, state)
