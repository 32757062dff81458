"""Joining a meeting: replay or snapshot, presence; and leaving it."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.errors import ApiError
from server.live.context import CommandContext, Joined
from server.live.hub import Member
from server.live.presence import PresenceEntry
from server.protocol import Command, ProtocolError, event_frame
from server.services import access, events, presentation
from server.services.events import Audience

REPLAY_LIMIT = 1000  # further behind than this, a client gets a snapshot instead


class JoinArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_seq: int | None = Field(None, ge=0, description="The last sequence number this "
                                 "client saw of the meeting; none for a first join.")
    following: bool = True


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def join(ctx: CommandContext, args: JoinArgs) -> dict[str, Any]:
    """Join a meeting: the events missed since `last_seq`, or a snapshot."""
    meeting_id = ctx.require_meeting()
    svc, conn, identity = ctx.services, ctx.conn, ctx.identity
    async with svc.db.read() as session:
        try:
            member = await access.membership(session, identity, meeting_id)
        except ApiError as error:
            raise ProtocolError(error.code, error.message) from None
    channel = await ctx.hub.channel(meeting_id)
    hub_member = Member(identity.user_id, member.role, identity.is_admin)
    ctx.hub.hold(channel, conn, hub_member)
    conn.meetings.add(meeting_id)
    conn.joined[meeting_id] = Joined(member.role, member.participant_id, time.monotonic())
    try:
        async with svc.db.read() as session:
            latest = (await events.last_seqs(session, [meeting_id]))[meeting_id]
            behind = None if args.last_seq is None else latest - args.last_seq
            replay = behind is not None and 0 <= behind <= REPLAY_LIMIT
            rows = await events.after(session, meeting_id, args.last_seq or 0, REPLAY_LIMIT
                                      ) if replay and behind else []
            state = presentation.as_dict(await presentation.current(session, meeting_id))
        replayed = 0
        cursor = latest if not replay else args.last_seq or 0
        for row in rows:
            if hub_member.admits(Audience(row.visibility, row.author_id)):
                await conn.send(event_frame(meeting_id, row.seq, row.name, row.data))
                replayed += 1
            cursor = row.seq
        entry = PresenceEntry(
            key=conn.key, user_id=identity.user_id, username=identity.username,
            full_name=identity.full_name, role=member.role.value if member.role else None,
            site_id=member.site_id, following=args.following)
        ctx.hub.present(channel, entry)
        snapshot = None if replay else {
            "meeting": {"status": member.meeting.status.value, "title": member.meeting.title},
            "presentation": state,
        }
        result = {"seq": cursor, "replayed": replayed, "snapshot": snapshot,
                  "role": member.role.value if member.role else None,
                  "presence": ctx.hub.presence_of(meeting_id)}
        return result
    finally:
        ctx.hub.release(channel, conn, latest if not replay else cursor)


async def leave(ctx: CommandContext, args: NoArgs) -> dict[str, Any]:
    """Leave a meeting (closing the socket leaves every meeting)."""
    meeting_id = ctx.require_meeting()
    ctx.hub.leave(meeting_id, ctx.conn)
    ctx.conn.meetings.discard(meeting_id)
    ctx.conn.joined.pop(meeting_id, None)
    return {}


class PresenceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    following: bool
    document_id: int | None = None
    page: int | None = Field(None, ge=1)


async def update_presence(ctx: CommandContext, args: PresenceArgs) -> dict[str, Any]:
    """Say whether this tablet follows the presenter, and which page it shows."""
    meeting_id = ctx.require_meeting()
    channel = ctx.hub.channels.get(meeting_id)
    if channel is None:
        raise ProtocolError("not_joined", "Join the meeting first.")
    previous = next((e for e in channel.presence.local_entries() if e.key == ctx.conn.key),
                    None)
    if previous is None:
        raise ProtocolError("not_joined", "Join the meeting first.")
    previous.following = args.following
    previous.document_id = args.document_id
    previous.page = args.page
    ctx.hub.present(channel, previous)
    return {}


COMMANDS = [
    Command("meeting.join", join, JoinArgs),
    Command("meeting.leave", leave, NoArgs),
    Command("presence.update", update_presence, PresenceArgs, ephemeral=True),
]
