"""Annotations: ink, text notes and highlights on a document's page.

Coordinates are PDF points of the page as displayed (the space of the page images and
of the word boxes), so a stroke sits right at every zoom and screen size. Private is
the default; shared notes reach everyone, chair-visible ones the chair and secretaries.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.db.models import (
    Annotation,
    AnnotationKind,
    Document,
    DocumentFile,
    Role,
    Visibility,
    utcnow,
)
from server.db.prepared import Prepared
from server.protocol import ProtocolError
from server.services.events import Audience

MAX_PER_PAGE = 500  # of one author's annotations on one page


def as_dict(row: Annotation) -> dict[str, Any]:
    return {
        "id": row.id, "document_id": row.document_id, "page": row.page,
        "author_id": row.author_id, "kind": row.kind.value,
        "visibility": row.visibility.value, "data": row.data,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


def audience(row: Annotation) -> Audience:
    return Audience(row.visibility, row.author_id)


# Creating is the shared-ink path, as hot as a page turn: Core statements built once,
# as in `server/services/events.py`. The changes run inside `Database.transact`,
# synchronously.
_annotations = cast(Table, Annotation.__table__)
_documents = cast(Table, Document.__table__)
_files = cast(Table, DocumentFile.__table__)
_PAGE = Prepared(
    select(_documents.c.guest_visible, _files.c.page_count)
    .join(_files, _files.c.sha256 == _documents.c.sha256)
    .where(_documents.c.id == bindparam("document_id"),
           _documents.c.meeting_id == bindparam("meeting_id"))
)
_TAKEN_AND_COUNT = Prepared(select(
    select(_annotations.c.id).where(_annotations.c.id == bindparam("id")).exists(),
    select(func.count()).select_from(_annotations).where(
        _annotations.c.document_id == bindparam("document_id"),
        _annotations.c.page == bindparam("page"),
        _annotations.c.author_id == bindparam("author_id"),
        _annotations.c.deleted_at.is_(None)).scalar_subquery(),
))
_INSERT = Prepared(insert(_annotations))


def create(
    session: Session, meeting_id: int, author_id: int, *, annotation_id: str,
    document_id: int, page: int, kind: AnnotationKind, visibility: Visibility,
    data: dict[str, Any], guest: bool,
) -> Annotation:
    """Write a new annotation on a page of one of the meeting's documents."""
    found = _PAGE.first(session, {"document_id": document_id, "meeting_id": meeting_id})
    if found is None or (guest and not found[0]):  # found: guest_visible, page_count
        raise ProtocolError("not_found", "That document is not part of this meeting.")
    if not 1 <= page <= found[1]:
        raise ProtocolError("invalid", "That page is not in the document.")
    if guest and visibility is not Visibility.PRIVATE:
        raise ProtocolError("forbidden", "Guests may write private notes only.")
    taken, count = _TAKEN_AND_COUNT.rows(session, {
        "id": annotation_id, "document_id": document_id, "page": page,
        "author_id": author_id})[0]
    if taken:
        raise ProtocolError("duplicate", "An annotation with this id exists already.")
    if count >= MAX_PER_PAGE:
        raise ProtocolError("limit", f"A page holds at most {MAX_PER_PAGE} of your "
                            "annotations; erase some first.")
    now = utcnow()
    # Not added to the session: the row is written by the statement, this is its value.
    row = Annotation(id=annotation_id, meeting_id=meeting_id, document_id=document_id,
                     page=page, author_id=author_id, kind=kind, visibility=visibility,
                     data=data, created_at=now, updated_at=now, deleted_at=None)
    _INSERT.run(session, {column.key: getattr(row, column.key)
                          for column in _annotations.columns})
    return row


def get_live(session: Session, meeting_id: int, annotation_id: str) -> Annotation:
    row = session.get(Annotation, annotation_id)
    if row is None or row.meeting_id != meeting_id or row.deleted_at is not None:
        raise ProtocolError("not_found", "That annotation does not exist.")
    return row


def may_see(row: Annotation, user_id: int, role: Role | None, is_admin: bool) -> bool:
    return audience(row).admits(user_id, role, is_admin)


def update(
    session: Session, meeting_id: int, user_id: int, annotation_id: str, *,
    data: dict[str, Any] | None, visibility: Visibility | None,
) -> tuple[Annotation, Audience]:
    """Change one's own annotation; returns it and the audience it had before."""
    row = get_live(session, meeting_id, annotation_id)
    if row.author_id != user_id:
        raise ProtocolError("forbidden", "Only its author can change an annotation.")
    before = audience(row)
    if data is not None:
        row.data = data
    if visibility is not None:
        row.visibility = visibility
    row.updated_at = utcnow()
    session.flush()
    return row, before


def delete(session: Session, meeting_id: int, user_id: int, role: Role | None,
           annotation_id: str) -> Annotation:
    """Erase an annotation (it stays in the database, marked deleted)."""
    row = get_live(session, meeting_id, annotation_id)
    chair_may = role is Role.CHAIR and row.visibility is Visibility.SHARED
    if row.author_id != user_id and not chair_may:
        raise ProtocolError("forbidden", "Only its author (or the chair, for shared notes) "
                            "can remove an annotation.")
    row.deleted_at = utcnow()
    session.flush()
    return row


async def on_page(session: AsyncSession, meeting_id: int, document_id: int, page: int | None,
                  user_id: int, role: Role | None, is_admin: bool) -> list[dict[str, Any]]:
    """The annotations of a page (or a whole document) this user may see."""
    query = select(Annotation).where(
        Annotation.meeting_id == meeting_id, Annotation.document_id == document_id,
        Annotation.deleted_at.is_(None)).order_by(Annotation.created_at, Annotation.id)
    if page is not None:
        query = query.where(Annotation.page == page)
    rows = (await session.execute(query)).scalars().all()
    return [as_dict(r) for r in rows if may_see(r, user_id, role, is_admin)]
