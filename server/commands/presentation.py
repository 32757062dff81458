"""Presenting: show a page, hand over the presenter role, the laser pointer, the agenda."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from server.db.models import Role
from server.live.context import Change, CommandContext
from server.protocol import Command, ProtocolError
from server.services import presentation

Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
POINTER_INTERVAL = 1 / 30  # the pointer is forwarded at most 30 times a second


class ShowArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: int
    page: int = Field(ge=1)
    zoom: float = Field(1.0, ge=0.25, le=8, allow_inf_nan=False)
    viewport: tuple[Fraction, Fraction, Fraction, Fraction] | None = Field(
        None, description="The visible part of the page: x, y, width, height as fractions.")


async def _changed(ctx: CommandContext, apply: Callable[[Session, int], dict[str, Any]]
                   ) -> dict[str, Any]:
    """Change the presentation state durably; everyone gets `presentation.changed`."""
    meeting_id = ctx.require_meeting()

    def change(session: Session) -> Change:
        state = apply(session, meeting_id)
        return Change("presentation.changed", state, result={"presentation": state})

    return await ctx.durable(change)


async def show(ctx: CommandContext, args: ShowArgs) -> dict[str, Any]:
    """Show a document's page to everyone who follows."""
    return await _changed(ctx, lambda session, meeting_id: presentation.show(
        session, meeting_id, user_id=ctx.identity.user_id, role=ctx.role,
        is_admin=ctx.is_admin, document_id=args.document_id, page=args.page,
        zoom=args.zoom, viewport=list(args.viewport) if args.viewport else None))


class HandOverArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int | None = Field(description="The new presenter; null gives it back to the "
                                "chair.")


async def hand_over(ctx: CommandContext, args: HandOverArgs) -> dict[str, Any]:
    """The chair gives the presenter role to a participant, or takes it back."""
    return await _changed(ctx, lambda session, meeting_id: presentation.hand_over(
        session, meeting_id, args.user_id))


class OpenItemArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agenda_item_id: int


async def open_item(ctx: CommandContext, args: OpenItemArgs) -> dict[str, Any]:
    """Mark the agenda item the meeting is on."""
    return await _changed(ctx, lambda session, meeting_id: presentation.open_item(
        session, meeting_id, args.agenda_item_id))


class PointerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: int
    page: int = Field(ge=1)
    x: Fraction | None = Field(None, description="Fractions of the page; null hides it.")
    y: Fraction | None = None


async def pointer(ctx: CommandContext, args: PointerArgs) -> dict[str, Any]:
    """Move the presenter's laser pointer (ephemeral, at most 30 times a second)."""
    meeting_id = ctx.require_meeting()
    if ctx.role is not Role.CHAIR and not ctx.is_admin:
        async with ctx.services.db.read() as session:
            state = await presentation.current(session, meeting_id)
        if state.presenter_id != ctx.identity.user_id:
            raise ProtocolError("forbidden", "Only the presenter moves the pointer.")
    now = time.monotonic()
    if now - ctx.conn.last_pointer < POINTER_INTERVAL:
        return {"dropped": True}
    ctx.conn.last_pointer = now
    sent = ctx.hub.ephemeral(meeting_id, "pointer.moved", {**args.model_dump(),
                             "user_id": ctx.identity.user_id}, sender=ctx.conn)
    return {} if sent else {"dropped": True}


PRESENTERS = frozenset({Role.CHAIR, Role.SECRETARY, Role.DELEGATE, Role.SITE})
COMMANDS = [
    Command("presentation.show", show, ShowArgs, roles=PRESENTERS),
    Command("presentation.hand_over", hand_over, HandOverArgs, roles=frozenset({Role.CHAIR})),
    Command("agenda.open", open_item, OpenItemArgs,
            roles=frozenset({Role.CHAIR, Role.SECRETARY})),
    Command("presentation.pointer", pointer, PointerArgs, roles=PRESENTERS, ephemeral=True),
]
