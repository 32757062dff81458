"""A meeting's video counters over HTTP: for the chair, the secretary and operators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.api.deps import path_int, reply, require_identity, services
from server.api.registry import Endpoint
from server.db.models import Role
from server.errors import ApiError, forbidden
from server.services import access

WATCHERS = frozenset({Role.CHAIR, Role.SECRETARY})


async def media_stats(request: Request) -> Response:
    """Per published stream: bytes, frames, fps, keyframe requests, subscribers; per
    subscriber track: what it was sent and its loss; and the media state (floor, health)."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    svc = services(request)
    async with svc.db.read() as session:
        member = await access.membership(session, identity, meeting_id)
    if not member.is_admin and member.role not in WATCHERS:
        raise forbidden("Only the chair, the secretary and administrators see the media "
                        "counters.")
    if svc.media is None:
        raise ApiError(404, "media_off", "Video is switched off on this server.")
    room = svc.media.rooms.get(meeting_id)
    if room is None:
        return reply({"state": {"floor": None, "requests": [], "sources": []},
                      "relay": {"floor": None, "muted": [], "audio_only": [], "streams": [],
                                "subscriptions": []}})
    return reply({"state": room.state(), "relay": room.relay.stats()})


ENDPOINTS = [
    Endpoint("GET", "/api/meetings/{meeting_id:int}/media", media_stats,
             "Video counters and state", "media"),
]
