"""Video signalling and floor control, over the meeting websocket.

Every site is the offerer: it sends an SDP offer with `media.publish` (its camera and
microphone) or `media.subscribe` (to receive one source, or the floor) and gets the
relay's answer as the result. The relay gathers its candidates before answering, so a
client needs to send its own late ones only (`media.candidate`); a client that waits for
its ICE gathering to finish before offering needs none. State comes back as the
`media.changed` event (see docs/protocol.md).
"""

from __future__ import annotations

from typing import Any

from aiortc.sdp import candidate_from_sdp
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from media.health import LinkReading
from server.db.models import Participant, Role, Site
from server.live.context import CommandContext
from server.live.ice import ice_servers
from server.live.media import FLOOR, MeetingMedia, Source, media_id
from server.protocol import Command, ProtocolError

MAX_SDP = 32 * 1024
SOURCE_ID = r"p[0-9]{1,12}"  # media_id(): "p" and the participant's id
SOURCE_PATTERN = rf"^({SOURCE_ID}|@floor)$"
PUBLISHERS = frozenset({Role.CHAIR, Role.SECRETARY, Role.SITE})
CHAIR = frozenset({Role.CHAIR})
LISTENERS = frozenset(Role)


def _room(ctx: CommandContext) -> MeetingMedia:
    rooms = ctx.services.media
    if rooms is None:
        raise ProtocolError("media_off", "Video is switched off on this server.")
    return rooms.room(ctx.require_meeting())  # type: ignore[no-any-return]


def _own_id_or_none(ctx: CommandContext) -> str | None:
    """The sender's source id; None for an administrator who is not a participant."""
    if ctx.joined is None or ctx.joined.participant_id is None:
        return None
    return media_id(ctx.joined.participant_id)


def _own_id(ctx: CommandContext) -> str:
    own = _own_id_or_none(ctx)
    if own is None:
        raise ProtocolError("forbidden", "Only participants of the meeting take part in "
                            "its video.")
    return own


def _publishing(room: MeetingMedia, source_id: str) -> None:
    if source_id not in room.relay.publications:
        raise ProtocolError("not_found", f"{source_id} is not publishing.")


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def state(ctx: CommandContext, args: NoArgs) -> dict[str, Any]:
    """The media state now, this participant's source id and the ICE servers to use."""
    room = _room(ctx)
    own = _own_id_or_none(ctx)
    return {"self": own, "floor_source": FLOOR,
            "ice_servers": ice_servers(ctx.services.settings, f"user-{ctx.identity.user_id}"),
            "can_publish": ctx.role in PUBLISHERS, "state": room.state()}


class PublishArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offer: str = Field(min_length=1, max_length=MAX_SDP, description="SDP offer.")
    audio_only: bool = False


async def publish(ctx: CommandContext, args: PublishArgs) -> dict[str, Any]:
    """Publish a camera and microphone (replacing this participant's previous ones)."""
    room = _room(ctx)
    own = _own_id(ctx)
    assert ctx.joined is not None  # _own_id checked it
    async with ctx.services.db.read() as session:
        row = (await session.execute(
            select(Site.id, Site.name, Site.kind).join(
                Participant, Participant.site_id == Site.id).where(
                Participant.id == ctx.joined.participant_id))).first()
    site = {"id": row.id, "name": row.name, "kind": row.kind.value} if row else None
    source = Source(own, ctx.identity.user_id, ctx.identity.full_name,
                    ctx.role.value if ctx.role else None, site,
                    wants_audio_only=args.audio_only)
    answer = await _signal(room.publish(source, args.offer))
    return {"answer": answer, "source": own}


class SubscribeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offer: str = Field(min_length=1, max_length=MAX_SDP, description="SDP offer.")
    source: str = Field(pattern=SOURCE_PATTERN, description="A source id (p12), or "
                        "@floor for whoever holds the floor.")


async def subscribe(ctx: CommandContext, args: SubscribeArgs) -> dict[str, Any]:
    """Receive one source, or the floor (replacing a previous subscription to it)."""
    room = _room(ctx)
    own = _own_id(ctx)
    answer = await _signal(room.subscribe(own, args.offer, args.source))
    return {"answer": answer, "source": args.source}


async def _signal(offer: Any) -> str:
    try:
        return str(await offer)
    except ValueError as error:  # aiortc's word for an SDP it cannot use
        raise ProtocolError("bad_sdp", f"The offer could not be used: {error}") from None


class CandidateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(pattern=rf"^(publish|{SOURCE_ID}|@floor)$", description=(
        "Which of this participant's connections: 'publish', or the subscribed source."))
    candidate: str = Field(max_length=1024, description="The candidate line, as the "
                           "browser gives it ('candidate:...'); empty: no more candidates.")
    sdp_mid: str | None = Field(None, max_length=32)
    sdp_mline_index: int | None = Field(None, ge=0, le=16)


async def candidate(ctx: CommandContext, args: CandidateArgs) -> dict[str, Any]:
    """A late ICE candidate of one of this participant's connections."""
    room = _room(ctx)
    own = _own_id(ctx)
    peer = (room.relay.publications.get(own) if args.target == "publish"
            else room.relay.subscriptions.get((own, args.target)))
    if peer is None:
        raise ProtocolError("not_found", "No such connection: publish or subscribe first.")
    line = args.candidate.removeprefix("candidate:").strip()
    if not line:
        return {}  # end of candidates: aiortc needs no word of it
    try:
        parsed = candidate_from_sdp(line)
    except (ValueError, IndexError):
        raise ProtocolError("invalid", "That is not an ICE candidate line.") from None
    parsed.sdpMid = args.sdp_mid
    parsed.sdpMLineIndex = args.sdp_mline_index
    await peer.pc.addIceCandidate(parsed)
    return {}


async def leave(ctx: CommandContext, args: NoArgs) -> dict[str, Any]:
    """Stop publishing and receiving."""
    await _room(ctx).leave(_own_id(ctx))
    return {}


class FloorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(pattern=rf"^{SOURCE_ID}$", description="Who gets the "
                               "floor; null takes it back.")


async def floor(ctx: CommandContext, args: FloorArgs) -> dict[str, Any]:
    """The chair gives the floor to a source, or takes it back."""
    room = _room(ctx)
    if args.source is not None:
        _publishing(room, args.source)
    room.give_floor(args.source)
    return {"floor": args.source}


class RequestFloorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raised: bool = True


async def request_floor(ctx: CommandContext, args: RequestFloorArgs) -> dict[str, Any]:
    """A site asks for the floor (or withdraws the request)."""
    room = _room(ctx)
    own = _own_id(ctx)
    _publishing(room, own)
    room.request_floor(own, args.raised)
    return {"requests": list(room.requests)}


class MuteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern=rf"^{SOURCE_ID}$")
    muted: bool = True


async def mute(ctx: CommandContext, args: MuteArgs) -> dict[str, Any]:
    """The chair silences a source everywhere, or lets it be heard again."""
    room = _room(ctx)
    _publishing(room, args.source)
    room.mute(args.source, args.muted)
    return {}


class AudioOnlyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, pattern=rf"^{SOURCE_ID}$", description="Whose; "
                               "none: the sender's own. Only the chair sets another's.")
    on: bool = True


async def audio_only(ctx: CommandContext, args: AudioOnlyArgs) -> dict[str, Any]:
    """Audio only for a site on a poor link: chosen by the site, or imposed by the chair."""
    room = _room(ctx)
    own = _own_id_or_none(ctx)
    target = args.source or own
    if target is None:
        raise ProtocolError("invalid", "Say whose video to switch (source).")
    _publishing(room, target)
    imposed = target != own
    if imposed and ctx.role is not Role.CHAIR and not ctx.is_admin:
        raise ProtocolError("forbidden", "Only the chair switches another site to audio "
                            "only.")
    source = room.sources[target]
    if not imposed and not args.on and source.imposed_audio_only:
        raise ProtocolError("forbidden", "The chair has put this site on audio only.")
    room.set_audio_only(target, args.on, imposed=imposed)
    return {"audio_only": room.sources[target].audio_only}


class ReportArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rtt_ms: float | None = Field(None, ge=0, le=60_000, allow_inf_nan=False)
    loss: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    fps: float | None = Field(None, ge=0, le=240, allow_inf_nan=False)


async def report(ctx: CommandContext, args: ReportArgs) -> dict[str, Any]:
    """A site tells how its link is doing (from its own peer connection statistics)."""
    room = _room(ctx)
    own = _own_id(ctx)
    _publishing(room, own)
    room.report(own, LinkReading(args.rtt_ms, args.loss, args.fps))
    source = next(s for s in room.state()["sources"] if s["id"] == own)
    return {"health": source["health"], "propose_audio_only": source["propose_audio_only"]}


COMMANDS = [
    Command("media.state", state, NoArgs, roles=LISTENERS),
    Command("media.publish", publish, PublishArgs, roles=PUBLISHERS),
    Command("media.subscribe", subscribe, SubscribeArgs, roles=LISTENERS),
    Command("media.candidate", candidate, CandidateArgs, roles=LISTENERS),
    Command("media.leave", leave, NoArgs, roles=LISTENERS),
    Command("media.floor", floor, FloorArgs, roles=CHAIR),
    Command("media.request_floor", request_floor, RequestFloorArgs, roles=PUBLISHERS),
    Command("media.mute", mute, MuteArgs, roles=CHAIR),
    Command("media.audio_only", audio_only, AudioOnlyArgs, roles=PUBLISHERS),
    Command("media.report", report, ReportArgs, roles=PUBLISHERS, ephemeral=True),
]
