"""Import a meeting folder (`meeting.toml` + PDFs, see docs/agenda-format.md).

The whole file is checked before anything is written, and every PDF passes the same
intake as an upload. Re-importing a folder updates the meeting with the same key in
place: ids of documents, agenda items and participants stay, so nothing written during a
session against them is lost. Nothing is deleted except agenda items the file no longer
lists; participants and documents added through the web are kept.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select

from server.api.deps import Services
from server.db.models import (
    AgendaItem,
    Document,
    DocumentFile,
    IntakeState,
    Meeting,
    MeetingStatus,
    Participant,
    Role,
    Site,
    SiteKind,
)
from server.documents.errors import IntakeError
from server.services import audit
from server.services.users import ensure_user

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class AgendaImportError(Exception):
    """The folder cannot be imported; the message says where and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentRef(_Model):
    file: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=500)
    guest_visible: bool = False


class ItemSpec(_Model):
    title: str = Field(min_length=1, max_length=500)
    presenter: str | None = None
    duration_minutes: int | None = Field(None, ge=1, le=1440)
    guest_visible: bool = True
    documents: list[DocumentRef] = []
    items: list[ItemSpec] = []


class SiteSpec(_Model):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=300)
    kind: SiteKind


class ParticipantSpec(_Model):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    position: str = ""
    site: str | None = None


class MeetingSpec(_Model):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    title: str = Field(min_length=1, max_length=500)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    status: MeetingStatus = MeetingStatus.DRAFT
    description: str = ""

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-12-10T08:00:00+07:00")
        return value


class MeetingFile(_Model):
    meeting: MeetingSpec
    sites: list[SiteSpec] = []
    participants: list[ParticipantSpec] = []
    agenda: list[ItemSpec] = []


@dataclass
class ImportResult:
    meeting_id: int
    created: bool
    documents: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    usernames: list[str] = field(default_factory=list)


def load(folder: Path) -> MeetingFile:
    """Read and check `meeting.toml`; every cross-reference is resolved here."""
    path = folder / "meeting.toml"
    if not path.is_file():
        raise AgendaImportError(f"{folder} has no meeting.toml.")
    try:
        spec = MeetingFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as error:
        raise AgendaImportError(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:10])
        raise AgendaImportError(f"{path}: {problems}") from None
    sites = {s.key for s in spec.sites}
    people = {p.username for p in spec.participants}
    if len(sites) != len(spec.sites):
        raise AgendaImportError(f"{path}: two sites share a key.")
    if len(people) != len(spec.participants):
        raise AgendaImportError(f"{path}: a participant is listed twice.")
    roles = [p.role for p in spec.participants]
    if roles.count(Role.CHAIR) != 1:
        raise AgendaImportError(f"{path}: a meeting needs exactly one chair.")
    if Role.SECRETARY not in roles:
        raise AgendaImportError(f"{path}: a meeting needs at least one secretary.")
    for p in spec.participants:
        if p.site is not None and p.site not in sites:
            raise AgendaImportError(f"{path}: participant '{p.username}' names unknown site "
                               f"'{p.site}'.")
    for item in _walk(spec.agenda):
        if item.presenter is not None and item.presenter not in people:
            raise AgendaImportError(f"{path}: agenda item '{item.title}' names presenter "
                               f"'{item.presenter}', who is not a participant.")
        for ref in item.documents:
            if Path(ref.file).name != ref.file or not (folder / ref.file).is_file():
                raise AgendaImportError(f"{path}: agenda item '{item.title}' names a file "
                                   f"'{ref.file}' that is not in the folder.")
    for item in spec.agenda:
        for child in item.items:
            if child.items:
                raise AgendaImportError(f"{path}: '{child.title}': agenda items nest one level.")
    return spec


def _walk(items: list[ItemSpec]) -> list[ItemSpec]:
    out = []
    for item in items:
        out.append(item)
        out.extend(item.items)
    return out


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def import_folder(svc: Services, folder: Path, *, render: bool = True) -> ImportResult:
    """Import or update the meeting in `folder`; returns what was written."""
    spec = load(folder)
    result_docs: dict[str, str] = {}
    files: dict[str, DocumentFile] = {}
    for ref in (r for item in _walk(spec.agenda) for r in item.documents):
        if ref.file in files:
            continue
        try:
            tmp, sha256, size = await svc.documents.receive(_chunks(folder / ref.file))
            files[ref.file] = await svc.documents.intake(tmp, sha256, size)
        except IntakeError as error:
            raise AgendaImportError(f"{folder / ref.file}: {error.message}") from None
        result_docs[ref.file] = files[ref.file].sha256

    async with svc.db.write() as session:
        meeting = (await session.execute(
            select(Meeting).where(Meeting.key == spec.meeting.key))).scalar_one_or_none()
        created = meeting is None
        if meeting is None:
            meeting = Meeting(key=spec.meeting.key, title=spec.meeting.title)
            session.add(meeting)
        for name in ("title", "starts_at", "ends_at", "place", "status", "description"):
            setattr(meeting, name, getattr(spec.meeting, name))
        await session.flush()

        existing_sites = {s.key: s for s in (await session.execute(
            select(Site).where(Site.meeting_id == meeting.id))).scalars()}
        for s in spec.sites:
            site = existing_sites.get(s.key) or Site(meeting_id=meeting.id, key=s.key)
            site.name, site.kind = s.name, s.kind
            session.add(site)
            existing_sites[s.key] = site
        await session.flush()

        participants: dict[str, Participant] = {}
        existing = {p.user_id: p for p in (await session.execute(
            select(Participant).where(Participant.meeting_id == meeting.id))).scalars()}
        for p in spec.participants:
            user = await ensure_user(session, p.username, p.full_name)
            participant = existing.get(user.id) or Participant(
                meeting_id=meeting.id, user_id=user.id)
            participant.role = p.role
            participant.position = p.position
            participant.site_id = existing_sites[p.site].id if p.site else None
            session.add(participant)
            participants[p.username] = participant
        await session.flush()

        documents = {d.original_filename: d for d in (await session.execute(
            select(Document).where(Document.meeting_id == meeting.id))).scalars()}
        items = list((await session.execute(
            select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position, AgendaItem.id))).scalars())
        kept: set[int] = set()
        doc_position = 0

        async def place(spec_items: list[ItemSpec], parent: AgendaItem | None) -> None:
            nonlocal doc_position
            siblings = [i for i in items
                        if i.parent_id == (parent.id if parent else None) and i.id not in kept]
            for position, item_spec in enumerate(spec_items, start=1):
                item = siblings[position - 1] if position <= len(siblings) else AgendaItem(
                    meeting_id=meeting.id)
                item.parent_id = parent.id if parent else None
                item.position = position
                item.title = item_spec.title
                item.presenter_id = (participants[item_spec.presenter].id
                                     if item_spec.presenter else None)
                item.duration_minutes = item_spec.duration_minutes
                item.guest_visible = item_spec.guest_visible
                session.add(item)
                await session.flush()
                kept.add(item.id)
                for ref in item_spec.documents:
                    doc_position += 1
                    document = documents.get(ref.file) or Document(
                        meeting_id=meeting.id, original_filename=ref.file)
                    document.sha256 = files[ref.file].sha256
                    document.title = ref.title
                    document.agenda_item_id = item.id
                    document.guest_visible = ref.guest_visible
                    document.position = doc_position
                    session.add(document)
                    documents[ref.file] = document
                await place(item_spec.items, item)

        await place(spec.agenda, None)
        stale = [i.id for i in items if i.id not in kept]
        if stale:
            for document in documents.values():
                if document.agenda_item_id in stale:
                    document.agenda_item_id = None
            await session.flush()
            await session.execute(delete(AgendaItem).where(AgendaItem.id.in_(stale)))
        audit.record(session, "meeting_imported", user_id=None, meeting_id=meeting.id,
                     target=str(folder.name), created=created, documents=len(files))
        meeting_id = meeting.id

    if render:
        for file in files.values():
            if file.state is not IntakeState.READY:
                svc.documents.schedule_prerender(file.sha256)
    svc.file_access.forget()
    log.info("imported meeting %s from %s (%s)", meeting_id, folder,
             "created" if created else "updated")
    return ImportResult(meeting_id, created, result_docs,
                        [p.username for p in spec.participants])

