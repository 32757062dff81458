"""Annotations: create, change, delete; and shared ink shown live while it is drawn."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from server.db.models import AnnotationKind, Role, Visibility
from server.live.context import Change, CommandContext
from server.protocol import EVERYONE, Command, ProtocolError
from server.services import annotation
from server.services.events import Audience

MAX_POINTS = 4000  # in one stroke
MAX_TEXT = 2000
Coordinate = Annotated[float, Field(ge=-1000, le=20000, allow_inf_nan=False)]
Pressure = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InkData(Strict):
    tool: Literal["pen", "highlighter"] = "pen"
    color: Colour = "#1f3a93"
    width: float = Field(2.0, gt=0, le=100, allow_inf_nan=False)
    points: list[tuple[Coordinate, Coordinate, Pressure]] = Field(
        min_length=1, max_length=MAX_POINTS, description="[x, y, pressure] in PDF points of "
        "the page as displayed; pressure 0-1.")


class NoteData(Strict):
    x: Coordinate
    y: Coordinate
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    color: Colour = "#f2c94c"


class HighlightData(Strict):
    color: Colour = "#f2c94c"
    boxes: list[tuple[Coordinate, Coordinate, Coordinate, Coordinate]] = Field(
        min_length=1, max_length=400)
    text: str = Field("", max_length=MAX_TEXT)


SHAPES: dict[AnnotationKind, type[Strict]] = {
    AnnotationKind.INK: InkData, AnnotationKind.NOTE: NoteData,
    AnnotationKind.HIGHLIGHT: HighlightData,
}


def _check_data(kind: AnnotationKind, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return SHAPES[kind].model_validate(data).model_dump()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        if first["type"] == "too_long" and where == "points":
            raise ProtocolError("limit", f"A stroke has at most {MAX_POINTS} points.") from None
        raise ProtocolError("invalid", f"The {kind.value} data is not right: {where}: "
                            f"{first['msg']}") from None


class CreateArgs(Strict):
    id: str = Field(description="A UUID chosen by the client, so a retry creates it once.")
    document_id: int
    page: int = Field(ge=1)
    kind: AnnotationKind
    visibility: Visibility = Visibility.PRIVATE
    data: dict[str, Any]

    @field_validator("id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        return str(uuid.UUID(value))


async def create(ctx: CommandContext, args: CreateArgs) -> dict[str, Any]:
    """Write a new annotation on a page."""
    meeting_id = ctx.require_meeting()
    data = _check_data(args.kind, args.data)

    def change(session: Session) -> Change:
        row = annotation.create(
            session, meeting_id, ctx.identity.user_id, annotation_id=args.id,
            document_id=args.document_id, page=args.page, kind=args.kind,
            visibility=args.visibility, data=data, guest=ctx.role is Role.GUEST)
        return Change("annotation.created", annotation.as_dict(row),
                      annotation.audience(row), result={"id": row.id})

    return await ctx.durable(change)


class UpdateArgs(Strict):
    id: str
    data: dict[str, Any] | None = None
    visibility: Visibility | None = None


async def update(ctx: CommandContext, args: UpdateArgs) -> dict[str, Any]:
    """Change one's own annotation: its shape or text, or who sees it."""
    meeting_id = ctx.require_meeting()
    if ctx.role is Role.GUEST and args.visibility not in (None, Visibility.PRIVATE):
        raise ProtocolError("forbidden", "Guests may write private notes only.")

    def change(session: Session) -> Change:
        current = annotation.get_live(session, meeting_id, args.id)
        data = _check_data(current.kind, args.data) if args.data is not None else None
        row, before = annotation.update(
            session, meeting_id, ctx.identity.user_id, args.id, data=data,
            visibility=args.visibility)
        after = annotation.audience(row)
        # Those who could see it and no longer may are told it is gone.
        hidden = () if after.visibility is Visibility.SHARED or before == after else (
            ("annotation.deleted", {"id": row.id, "document_id": row.document_id,
                                    "page": row.page}, before),)
        return Change("annotation.updated", annotation.as_dict(row), after,
                      result={"id": row.id}, more=hidden)

    return await ctx.durable(change)


class DeleteArgs(Strict):
    id: str


async def delete(ctx: CommandContext, args: DeleteArgs) -> dict[str, Any]:
    """Erase an annotation (its author; the chair may also erase shared ones)."""
    meeting_id = ctx.require_meeting()

    def change(session: Session) -> Change:
        row = annotation.delete(session, meeting_id, ctx.identity.user_id, ctx.role, args.id)
        return Change("annotation.deleted", {"id": row.id, "document_id": row.document_id,
                                             "page": row.page},
                      annotation.audience(row), result={"id": row.id})

    return await ctx.durable(change)


class ListArgs(Strict):
    document_id: int
    page: int | None = Field(None, ge=1)


async def list_page(ctx: CommandContext, args: ListArgs) -> dict[str, Any]:
    """The annotations of a page (or of a whole document) that I may see."""
    meeting_id = ctx.require_meeting()
    async with ctx.services.db.read() as session:
        items = await annotation.on_page(session, meeting_id, args.document_id, args.page,
                                          ctx.identity.user_id, ctx.role, ctx.is_admin)
    return {"annotations": items}


class InkProgressArgs(Strict):
    stroke_id: str = Field(min_length=1, max_length=64)
    document_id: int
    page: int = Field(ge=1)
    tool: Literal["pen", "highlighter"] = "pen"
    color: Colour = "#1f3a93"
    width: float = Field(2.0, gt=0, le=100, allow_inf_nan=False)
    points: list[tuple[Coordinate, Coordinate, Pressure]] = Field(min_length=1, max_length=200)


async def ink_progress(ctx: CommandContext, args: InkProgressArgs) -> dict[str, Any]:
    """Points of a shared stroke still being drawn, shown live to the others (ephemeral)."""
    meeting_id = ctx.require_meeting()
    sent = ctx.hub.ephemeral(meeting_id, "ink.progress",
                             {**args.model_dump(), "author_id": ctx.identity.user_id},
                             audience=Audience(Visibility.SHARED), sender=ctx.conn)
    return {} if sent else {"dropped": True}


WRITERS = frozenset(EVERYONE)
COMMANDS = [
    Command("annotation.create", create, CreateArgs, roles=WRITERS),
    Command("annotation.update", update, UpdateArgs, roles=WRITERS),
    Command("annotation.delete", delete, DeleteArgs, roles=WRITERS),
    Command("annotation.list", list_page, ListArgs),
    Command("ink.progress", ink_progress, InkProgressArgs,
            roles=frozenset({Role.CHAIR, Role.SECRETARY, Role.DELEGATE, Role.SITE}),
            ephemeral=True),
]
