"""Shapes of the JSON API: request bodies are validated with these, responses built
from them, and `/api/openapi.json` is generated from both."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from server.db.models import IntakeState, MeetingStatus, Role, SiteKind

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- requests -------------------------------------------------------------------------

class LoginRequest(Strict):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=1024)]


class TokenRequest(Strict):
    label: Text
    username: Username | None = Field(
        None, description="Administrators may issue a token for another user."
    )
    days: int | None = Field(None, ge=1, le=3650, description="Lifetime; none: until revoked.")


class MeetingCreate(Strict):
    title: Text
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    place: Annotated[str, StringConstraints(max_length=500)] = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class MeetingUpdate(Strict):
    title: Text | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    place: Annotated[str, StringConstraints(max_length=500)] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: MeetingStatus | None = None


class SiteCreate(Strict):
    key: Key
    name: Text
    kind: SiteKind = SiteKind.COMMUNE


class SiteUpdate(Strict):
    name: Text | None = None
    kind: SiteKind | None = None


class ParticipantCreate(Strict):
    username: Username
    full_name: Text | None = Field(None, description="Needed when the account is new.")
    role: Role
    position: Annotated[str, StringConstraints(max_length=300)] = ""
    site_id: int | None = None


class ParticipantUpdate(Strict):
    role: Role | None = None
    position: Annotated[str, StringConstraints(max_length=300)] | None = None
    site_id: int | None = None


class AgendaItemCreate(Strict):
    title: Text
    parent_id: int | None = None
    presenter_id: int | None = Field(None, description="A participant id of this meeting.")
    duration_minutes: int | None = Field(None, ge=1, le=1440)
    guest_visible: bool = True


class AgendaItemUpdate(Strict):
    title: Text | None = None
    presenter_id: int | None = None
    duration_minutes: int | None = Field(None, ge=1, le=1440)
    guest_visible: bool | None = None


class AgendaOrder(Strict):
    order: list[int] = Field(description="Every top-level item id, or every child id of "
                             "one parent, in the new order.")


class DocumentUpdate(Strict):
    title: Text | None = None
    agenda_item_id: int | None = None
    position: int | None = Field(None, ge=0)
    guest_visible: bool | None = None


# ---- responses ------------------------------------------------------------------------

class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    is_admin: bool


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str | None


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; send it as `Authorization: Bearer <token>`.")
    label: str | None
    expires_at: datetime | None


class SiteOut(BaseModel):
    id: int
    key: str
    name: str
    kind: SiteKind


class ParticipantOut(BaseModel):
    id: int
    user_id: int
    username: str
    full_name: str
    role: Role
    position: str
    site_id: int | None


class PageOut(BaseModel):
    width: float
    height: float
    rotation: int
    label: str | None = None


class DocumentOut(BaseModel):
    id: int
    meeting_id: int
    agenda_item_id: int | None
    title: str
    original_filename: str
    position: int
    guest_visible: bool
    sha256: str
    size: int
    page_count: int
    state: IntakeState
    pages_ready: int
    repaired: bool
    error: dict[str, str] | None
    page_url: str = Field(description="URL template: fill {page} (1-based), {width} (one of "
                          "page_widths) and {format} (webp or jpg).")
    text_url: str
    pdf_url: str


class DocumentDetail(DocumentOut):
    pages: list[PageOut]
    outline: list[dict[str, Any]]


class AgendaItemOut(BaseModel):
    id: int
    parent_id: int | None
    position: int
    title: str
    presenter_id: int | None
    duration_minutes: int | None
    guest_visible: bool
    documents: list[int]
    children: list[AgendaItemOut] = []


class MeetingSummary(BaseModel):
    id: int
    key: str | None
    title: str
    place: str
    starts_at: datetime | None
    ends_at: datetime | None
    status: MeetingStatus
    my_role: Role | None
    can_edit: bool


class Limits(BaseModel):
    max_upload_bytes: int
    max_pages: int


class MeetingOut(MeetingSummary):
    description: str
    next_statuses: list[MeetingStatus] = Field(
        description="The statuses the secretary may move the meeting to from here.")
    limits: Limits
    page_widths: list[int]
    sites: list[SiteOut]
    participants: list[ParticipantOut]
    agenda: list[AgendaItemOut]
    documents: list[DocumentOut]


class SearchHit(BaseModel):
    document_id: int
    document_title: str
    page: int
    page_label: str | None
    snippet: str
    boxes: list[list[list[float]]] = Field(
        description="Per occurrence, the word boxes [x0, y0, x1, y1] in PDF points of the "
        "page as displayed."
    )


class SearchOut(BaseModel):
    query: str
    hits: list[SearchHit]
    truncated: bool


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    action: str
    target: str
    detail: dict[str, Any]


class ErrorOut(BaseModel):
    error: dict[str, Any]
