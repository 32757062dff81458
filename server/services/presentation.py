"""What the meeting's presenter shows: document, page, zoom, viewport, agenda item.

The chair presents unless the chair has handed the role to someone; the chair can
always take it back by presenting. The state is durable, so a tablet that joins late
lands on the page being shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import (
    AgendaItem,
    Document,
    DocumentFile,
    Participant,
    Presentation,
    Role,
)
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


def may_present(row: Presentation, user_id: int, role: Role | None, is_admin: bool) -> bool:
    return is_admin or role is Role.CHAIR or (
        row.presenter_id is not None and row.presenter_id == user_id)


async def show(
    session: AsyncSession, meeting_id: int, *, user_id: int, role: Role | None,
    is_admin: bool, document_id: int, page: int, zoom: float,
    viewport: list[float] | None,
) -> dict[str, Any]:
    """The presenter shows a page; the chair presenting takes the role back."""
    row = await current(session, meeting_id)
    if not may_present(row, user_id, role, is_admin):
        raise ProtocolError("forbidden", "Only the presenter (or the chair) can do that.")
    found = (await session.execute(
        select(Document.agenda_item_id, DocumentFile.page_count)
        .join(DocumentFile, DocumentFile.sha256 == Document.sha256)
        .where(Document.id == document_id, Document.meeting_id == meeting_id))).first()
    if found is None:
        raise ProtocolError("not_found", "That document is not part of this meeting.")
    agenda_item_id, page_count = found
    if not 1 <= page <= page_count:
        raise ProtocolError("invalid", f"The document has pages 1 to {page_count}.")
    if role is Role.CHAIR and row.presenter_id not in (None, user_id):
        row.presenter_id = user_id
    row.document_id, row.page, row.zoom, row.viewport = document_id, page, zoom, viewport
    if agenda_item_id is not None:
        row.agenda_item_id = agenda_item_id
    session.add(row)
    await session.flush()
    return as_dict(row)


async def hand_over(session: AsyncSession, meeting_id: int, user_id: int | None
                    ) -> dict[str, Any]:
    """Make another participant the presenter (None: back to the chair)."""
    if user_id is not None:
        role = (await session.execute(select(Participant.role).where(
            Participant.meeting_id == meeting_id, Participant.user_id == user_id))).scalar()
        if role is None or role is Role.GUEST:
            raise ProtocolError("invalid", "The presenter must be a participant of this "
                                "meeting (not a guest).")
    row = await current(session, meeting_id)
    row.presenter_id = user_id
    session.add(row)
    await session.flush()
    return as_dict(row)


async def open_item(session: AsyncSession, meeting_id: int, item_id: int) -> dict[str, Any]:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise ProtocolError("not_found", "That agenda item is not part of this meeting.")
    row = await current(session, meeting_id)
    row.agenda_item_id = item_id
    session.add(row)
    await session.flush()
    return as_dict(row)
