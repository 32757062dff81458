"""Meetings, their sites, participants and agenda: reading and editing.

Functions take the caller's `Membership` (already checked by `access`) and work inside
the caller's transaction; they never commit on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.api import schemas
from server.config import Settings
from server.db.models import (
    AgendaItem,
    Document,
    DocumentFile,
    Meeting,
    MeetingStatus,
    Participant,
    Role,
    Site,
    User,
)
from server.errors import ApiError, invalid, not_found
from server.security.credentials import Identity
from server.services.access import Membership
from server.services.users import by_username, ensure_user

# Status moves a secretary may make, the usual next step first (clients show it first).
TRANSITIONS: dict[MeetingStatus, tuple[MeetingStatus, ...]] = {
    MeetingStatus.DRAFT: (MeetingStatus.PUBLISHED,),
    MeetingStatus.PUBLISHED: (MeetingStatus.IN_SESSION, MeetingStatus.CLOSED,
                              MeetingStatus.DRAFT),
    MeetingStatus.IN_SESSION: (MeetingStatus.CLOSED,),
    MeetingStatus.CLOSED: (MeetingStatus.PUBLISHED,),
}

PAGE_URL = "/api/files/{sha}/pages/{{page}}/{{width}}.{{format}}"
TEXT_URL = "/api/files/{sha}/pages/{{page}}/text.json"
PDF_URL = "/api/documents/{id}/pdf"


def meeting_summary(meeting: Meeting, role: Role | None, is_admin: bool
                    ) -> schemas.MeetingSummary:
    return schemas.MeetingSummary(
        id=meeting.id, key=meeting.key, title=meeting.title, place=meeting.place,
        starts_at=meeting.starts_at, ends_at=meeting.ends_at, status=meeting.status,
        my_role=role, can_edit=is_admin or role is Role.SECRETARY,
    )


async def list_for(session: AsyncSession, identity: Identity) -> list[schemas.MeetingSummary]:
    """The meetings the caller takes part in (all of them for an administrator)."""
    query = (
        select(Meeting, Participant.role)
        .outerjoin(
            Participant,
            (Participant.meeting_id == Meeting.id) & (Participant.user_id == identity.user_id),
        )
        .order_by(Meeting.starts_at.desc().nulls_last(), Meeting.id.desc())
    )
    if not identity.is_admin:
        query = query.where(Participant.id.is_not(None))
    out = []
    for meeting, role in await session.execute(query):
        if identity.is_admin or meeting.status is not MeetingStatus.DRAFT or role in (
            Role.SECRETARY, Role.CHAIR
        ):
            out.append(meeting_summary(meeting, role, identity.is_admin))
    return out


def document_out(
    document: Document, file: DocumentFile, cls: type[schemas.DocumentOut] = schemas.DocumentOut,
    **extra: object,
) -> schemas.DocumentOut:
    error = None
    if file.error_code:
        error = {"code": file.error_code, "message": file.error_message or ""}
    return cls(
        id=document.id, meeting_id=document.meeting_id, agenda_item_id=document.agenda_item_id,
        title=document.title, original_filename=document.original_filename,
        position=document.position, guest_visible=document.guest_visible,
        sha256=file.sha256, size=file.size, page_count=file.page_count, state=file.state,
        pages_ready=file.pages_ready, repaired=file.repaired, error=error,
        page_url=PAGE_URL.format(sha=file.sha256), text_url=TEXT_URL.format(sha=file.sha256),
        pdf_url=PDF_URL.format(id=document.id), **extra,
    )


def document_detail(document: Document, file: DocumentFile) -> schemas.DocumentOut:
    labels = file.page_labels or []
    pages = [
        schemas.PageOut(**page, label=labels[i] if i < len(labels) else None)
        for i, page in enumerate(file.pages)
    ]
    return document_out(
        document, file, schemas.DocumentDetail, pages=pages, outline=file.outline
    )


async def visible_documents(
    session: AsyncSession, member: Membership
) -> list[tuple[Document, DocumentFile]]:
    rows = await session.execute(
        select(Document, DocumentFile)
        .join(DocumentFile, DocumentFile.sha256 == Document.sha256)
        .where(Document.meeting_id == member.meeting.id)
        .order_by(Document.position, Document.id)
    )
    return [(d, f) for d, f in rows if member.sees_document(d)]


def agenda_tree(
    items: Sequence[AgendaItem], documents: Sequence[Document], member: Membership
) -> list[schemas.AgendaItemOut]:
    by_item: dict[int, list[int]] = {}
    for document in documents:
        if document.agenda_item_id is not None:
            by_item.setdefault(document.agenda_item_id, []).append(document.id)
    visible = [i for i in items if not member.is_guest or i.guest_visible]
    nodes = {
        item.id: schemas.AgendaItemOut(
            id=item.id, parent_id=item.parent_id, position=item.position, title=item.title,
            presenter_id=item.presenter_id, duration_minutes=item.duration_minutes,
            guest_visible=item.guest_visible, documents=by_item.get(item.id, []), children=[],
        )
        for item in sorted(visible, key=lambda i: (i.position, i.id))
    }
    roots = []
    for node in nodes.values():
        if node.parent_id is None:
            roots.append(node)
        elif node.parent_id in nodes:
            nodes[node.parent_id].children.append(node)
    return roots


async def agenda(session: AsyncSession, member: Membership,
                 documents: Sequence[Document] | None = None) -> list[schemas.AgendaItemOut]:
    """The meeting's agenda as the member sees it (pass its visible documents if known)."""
    items = (await session.execute(
        select(AgendaItem).where(AgendaItem.meeting_id == member.meeting.id)
    )).scalars().all()
    if documents is None:
        documents = [d for d, _ in await visible_documents(session, member)]
    return agenda_tree(items, documents, member)


async def detail(
    session: AsyncSession, member: Membership, settings: Settings
) -> schemas.MeetingOut:
    meeting = member.meeting
    sites = (await session.execute(select(Site).where(Site.meeting_id == meeting.id)
                                   .order_by(Site.id))).scalars().all()
    participants = await session.execute(
        select(Participant, User).join(User, User.id == Participant.user_id)
        .where(Participant.meeting_id == meeting.id).order_by(Participant.id)
    )
    documents = await visible_documents(session, member)
    return schemas.MeetingOut(
        **meeting_summary(meeting, member.role, member.is_admin).model_dump(),
        description=meeting.description,
        next_statuses=list(TRANSITIONS[meeting.status]) if member.can_edit else [],
        limits=schemas.Limits(max_upload_bytes=settings.max_upload_bytes,
                              max_pages=settings.max_pages),
        page_widths=list(settings.page_widths),
        sites=[schemas.SiteOut(id=s.id, key=s.key, name=s.name, kind=s.kind) for s in sites],
        participants=[
            schemas.ParticipantOut(
                id=p.id, user_id=u.id, username=u.username, full_name=u.full_name,
                role=p.role, position=p.position, site_id=p.site_id,
            )
            for p, u in participants
        ],
        agenda=await agenda(session, member, [d for d, _ in documents]),
        documents=[document_out(d, f) for d, f in documents],
    )


# ---- editing --------------------------------------------------------------------------

def apply_changes(row: object, changes: dict[str, object], *, nullable: set[str]) -> None:
    """Set the fields a PATCH named; `null` clears only the fields that may be empty."""
    for name, value in changes.items():
        if value is not None or name in nullable:
            setattr(row, name, value)


async def create_meeting(
    session: AsyncSession, identity: Identity, data: schemas.MeetingCreate
) -> Meeting:
    """A new draft meeting whose creator is its secretary."""
    _check_times(data.starts_at, data.ends_at)
    meeting = Meeting(
        title=data.title, description=data.description, place=data.place,
        starts_at=data.starts_at, ends_at=data.ends_at, created_by=identity.user_id,
    )
    session.add(meeting)
    await session.flush()
    session.add(Participant(meeting_id=meeting.id, user_id=identity.user_id, role=Role.SECRETARY))
    await session.flush()
    return meeting


def _check_times(starts_at: object, ends_at: object) -> None:
    for value in (starts_at, ends_at):
        if value is not None and getattr(value, "tzinfo", None) is None:
            raise invalid("Give times with a UTC offset, e.g. 2026-12-10T08:00:00+07:00.")
    if starts_at is not None and ends_at is not None and ends_at < starts_at:  # type: ignore[operator]
        raise invalid("A meeting cannot end before it starts.")


async def update_meeting(
    session: AsyncSession, member: Membership, data: schemas.MeetingUpdate
) -> Meeting:
    meeting = member.meeting
    changes = data.model_dump(exclude_unset=True)
    _check_times(changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at))
    status = changes.pop("status", None)
    if status is not None and status != meeting.status:
        if status not in TRANSITIONS[meeting.status]:
            raise ApiError(409, "bad_transition",
                           f"A {meeting.status.value} meeting cannot become {status.value}.")
        if status is MeetingStatus.PUBLISHED:
            await check_publishable(session, meeting.id)
        meeting.status = status
    apply_changes(meeting, changes, nullable={"starts_at", "ends_at"})
    await session.flush()
    return meeting


async def check_publishable(session: AsyncSession, meeting_id: int) -> None:
    roles = (await session.execute(
        select(Participant.role).where(Participant.meeting_id == meeting_id)
    )).scalars().all()
    if roles.count(Role.CHAIR) != 1:
        raise ApiError(409, "no_chair", "A meeting needs exactly one chair before it is "
                       "published.")


M = TypeVar("M", Site, Participant, AgendaItem)


async def _of_meeting(session: AsyncSession, model: type[M], meeting_id: int, row_id: int,
                      what: str) -> M:
    """The row with this id if it belongs to this meeting; 404 otherwise (even if it
    exists in another meeting)."""
    row = await session.get(model, row_id)
    if row is None or row.meeting_id != meeting_id:
        raise not_found(what)
    return row


async def get_site(session: AsyncSession, meeting_id: int, site_id: int) -> Site:
    return await _of_meeting(session, Site, meeting_id, site_id, "That site")


async def add_site(session: AsyncSession, member: Membership, data: schemas.SiteCreate) -> Site:
    exists = (await session.execute(select(Site.id).where(
        Site.meeting_id == member.meeting.id, Site.key == data.key))).first()
    if exists:
        raise ApiError(409, "duplicate", f"This meeting already has a site '{data.key}'.")
    site = Site(meeting_id=member.meeting.id, **data.model_dump())
    session.add(site)
    await session.flush()
    return site


async def get_participant(session: AsyncSession, meeting_id: int, pid: int) -> Participant:
    return await _of_meeting(session, Participant, meeting_id, pid, "That participant")


async def add_participant(
    session: AsyncSession, member: Membership, data: schemas.ParticipantCreate
) -> tuple[Participant, User]:
    meeting_id = member.meeting.id
    if data.site_id is not None:
        await get_site(session, meeting_id, data.site_id)
    user = await by_username(session, data.username)
    if user is None:
        if not data.full_name:
            raise invalid(f"There is no account '{data.username}' yet: give a full_name to "
                          "create it.")
        user = await ensure_user(session, data.username, data.full_name)
    taken = (await session.execute(select(Participant.id).where(
        Participant.meeting_id == meeting_id, Participant.user_id == user.id))).first()
    if taken:
        raise ApiError(409, "duplicate", f"'{user.username}' already takes part in this meeting.")
    if data.role is Role.CHAIR:
        await _check_no_other_chair(session, meeting_id, None)
    participant = Participant(
        meeting_id=meeting_id, user_id=user.id, role=data.role, position=data.position,
        site_id=data.site_id,
    )
    session.add(participant)
    await session.flush()
    return participant, user


async def _check_no_other_chair(session: AsyncSession, meeting_id: int, except_id: int | None) -> None:
    query = select(Participant.id).where(
        Participant.meeting_id == meeting_id, Participant.role == Role.CHAIR)
    if except_id is not None:
        query = query.where(Participant.id != except_id)
    if (await session.execute(query)).first():
        raise ApiError(409, "duplicate", "This meeting already has a chair.")


async def update_participant(
    session: AsyncSession, member: Membership, pid: int, data: schemas.ParticipantUpdate
) -> Participant:
    participant = await get_participant(session, member.meeting.id, pid)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("site_id") is not None:
        await get_site(session, member.meeting.id, changes["site_id"])
    if changes.get("role") is Role.CHAIR:
        await _check_no_other_chair(session, member.meeting.id, participant.id)
    if participant.role is Role.SECRETARY and changes.get("role", Role.SECRETARY) is not Role.SECRETARY:
        await _keep_a_secretary(session, member.meeting.id, participant.id)
    apply_changes(participant, changes, nullable={"site_id"})
    await session.flush()
    return participant


async def _keep_a_secretary(session: AsyncSession, meeting_id: int, leaving_id: int) -> None:
    others = (await session.execute(select(func.count()).select_from(Participant).where(
        Participant.meeting_id == meeting_id, Participant.role == Role.SECRETARY,
        Participant.id != leaving_id))).scalar_one()
    if not others:
        raise ApiError(409, "last_secretary", "A meeting must keep at least one secretary.")


async def remove_participant(session: AsyncSession, member: Membership, pid: int) -> None:
    participant = await get_participant(session, member.meeting.id, pid)
    if participant.role is Role.SECRETARY:
        await _keep_a_secretary(session, member.meeting.id, participant.id)
    await session.delete(participant)


async def get_item(session: AsyncSession, meeting_id: int, item_id: int) -> AgendaItem:
    return await _of_meeting(session, AgendaItem, meeting_id, item_id, "That agenda item")


async def add_item(
    session: AsyncSession, member: Membership, data: schemas.AgendaItemCreate
) -> AgendaItem:
    meeting_id = member.meeting.id
    if data.parent_id is not None:
        parent = await get_item(session, meeting_id, data.parent_id)
        if parent.parent_id is not None:
            raise invalid("Agenda items nest one level deep: a sub-item cannot have sub-items.")
    if data.presenter_id is not None:
        await get_participant(session, meeting_id, data.presenter_id)
    last = (await session.execute(select(func.max(AgendaItem.position)).where(
        AgendaItem.meeting_id == meeting_id,
        AgendaItem.parent_id.is_(None) if data.parent_id is None
        else AgendaItem.parent_id == data.parent_id,
    ))).scalar_one()
    item = AgendaItem(meeting_id=meeting_id, position=(last or 0) + 1, **data.model_dump())
    session.add(item)
    await session.flush()
    return item


async def update_item(
    session: AsyncSession, member: Membership, item_id: int, data: schemas.AgendaItemUpdate
) -> AgendaItem:
    item = await get_item(session, member.meeting.id, item_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("presenter_id") is not None:
        await get_participant(session, member.meeting.id, changes["presenter_id"])
    apply_changes(item, changes, nullable={"presenter_id", "duration_minutes"})
    await session.flush()
    return item


async def delete_item(session: AsyncSession, member: Membership, item_id: int) -> None:
    """Remove an item and its sub-items; their documents stay, unattached."""
    item = await get_item(session, member.meeting.id, item_id)
    ids = [item.id, *(await session.execute(
        select(AgendaItem.id).where(AgendaItem.parent_id == item.id))).scalars()]
    await session.execute(
        update(Document).where(Document.agenda_item_id.in_(ids)).values(agenda_item_id=None))
    await session.execute(delete(AgendaItem).where(AgendaItem.parent_id == item.id))
    await session.delete(item)


async def reorder(session: AsyncSession, member: Membership, order: list[int]) -> None:
    """Put a set of sibling items in the given order."""
    if not order:
        raise invalid("Give the ids of the items in their new order.")
    items = (await session.execute(select(AgendaItem).where(
        AgendaItem.meeting_id == member.meeting.id, AgendaItem.id.in_(order)))).scalars().all()
    parents = {i.parent_id for i in items}
    if len(items) != len(set(order)) or len(order) != len(set(order)) or len(parents) != 1:
        raise invalid("The order must name each sibling item of one parent exactly once.")
    (parent_id,) = parents
    siblings = (await session.execute(select(func.count()).select_from(AgendaItem).where(
        AgendaItem.meeting_id == member.meeting.id,
        AgendaItem.parent_id.is_(None) if parent_id is None
        else AgendaItem.parent_id == parent_id))).scalar_one()
    if siblings != len(order):
        raise invalid("The order must name every sibling item, none left out.")
    position = {item_id: n for n, item_id in enumerate(order, start=1)}
    for item in items:
        item.position = position[item.id]
    await session.flush()
