"""A meeting's video: its relay, who publishes, the floor, and how each link is doing.

The relay (`media.relay.Relay`) moves the media; this module is what the meeting knows
about it. Each participant who publishes is one source, `p<participant id>`: a commune
site's agent or browser, the chair's tablet or the district hall's camera. The hall's
sources are heard whatever the floor; a commune site is heard when it has the floor.

Everything here is told to the meeting as one ephemeral `media.changed` event carrying
the whole media state, sent whenever that state changes (a publication comes or goes,
the floor moves, a badge changes colour). A client that (re)joins asks for it with
`media.state`. The state lives in this process, with its relay: all of a meeting's
video has to reach the same server process (see docs/deploy notes in the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from media.health import LinkReading
from media.relay import FLOOR, Relay, RelayConfig, ice_servers
from server.config import Settings
from server.live.hub import Hub
from server.live.ice import ice_servers as ice_servers_for

log = logging.getLogger(__name__)

HEALTH_SECONDS = 2.0  # how often link health is read and, if it changed, announced
REPORT_MAX_AGE = 10.0  # a site's own link report older than this no longer counts
FPS_SETTLE = 3.0  # a frame rate is read over 2 s: not before the video has run that long
HALL = "district"


def media_id(participant_id: int) -> str:
    return f"p{participant_id}"


@dataclass
class Source:
    """One participant who publishes, as the meeting sees them."""

    id: str
    user_id: int
    name: str
    role: str | None
    site: dict[str, Any] | None  # {"id", "name", "kind"} of the participant's site
    wants_audio_only: bool = False  # chosen by the site itself
    imposed_audio_only: bool = False  # chosen by the chair
    report: LinkReading = field(default_factory=LinkReading)
    reported_at: float = 0.0
    server_rtt_ms: float | None = None
    published_at: float = 0.0

    @property
    def hall(self) -> bool:
        if self.site is not None:
            return bool(self.site.get("kind") == HALL)
        return self.role in ("chair", "secretary")

    @property
    def audio_only(self) -> bool:
        return self.wants_audio_only or self.imposed_audio_only


class MeetingMedia:
    """The media of one meeting in this process."""

    def __init__(self, meeting_id: int, settings: Settings, hub: Hub) -> None:
        self.meeting_id = meeting_id
        self.settings = settings
        self.hub = hub
        self.relay = Relay(self._relay_config())
        self.sources: dict[str, Source] = {}
        self.requests: list[str] = []  # who asked for the floor, oldest first
        self._config_at = time.monotonic()
        self._announced: str | None = None

    def _relay_config(self) -> RelayConfig:
        servers = ice_servers_for(self.settings, f"relay-{self.meeting_id}")
        return RelayConfig(ice_servers=ice_servers(servers))

    def _fresh_config(self) -> None:
        """TURN credentials expire: renew the relay's before they do."""
        if self.settings.turn_url and (time.monotonic() - self._config_at
                                       > self.settings.turn_ttl_hours * 1800):
            self.relay.config = replace(self.relay.config,
                                        ice_servers=self._relay_config().ice_servers)
            self._config_at = time.monotonic()

    # -- signalling ---------------------------------------------------------------------

    async def publish(self, source: Source, offer: str) -> str:
        self._fresh_config()
        known = self.sources.get(source.id)
        if known is not None:  # a reconnect: keep what the chair imposed
            source.imposed_audio_only = known.imposed_audio_only
        answer = await self.relay.publish(source.id, offer)  # ValueError: a bad offer
        source.published_at = time.monotonic()
        self.sources[source.id] = source
        self.relay.set_always_heard(source.id, source.hall)
        self.relay.set_audio_only(source.id, source.audio_only)
        self.announce()
        return answer

    async def subscribe(self, subscriber: str, offer: str, source: str) -> str:
        self._fresh_config()
        return await self.relay.subscribe(subscriber, offer, source)

    async def leave(self, source_id: str) -> None:
        await self.relay.leave(source_id)
        if source_id in self.requests:
            self.requests.remove(source_id)
        if self.relay.floor == source_id:
            self.relay.set_floor(None)
        self.announce()

    # -- the floor ----------------------------------------------------------------------

    def request_floor(self, source_id: str, raised: bool) -> None:
        if raised and source_id not in self.requests and self.relay.floor != source_id:
            self.requests.append(source_id)
        elif not raised and source_id in self.requests:
            self.requests.remove(source_id)
        self.announce()

    def give_floor(self, source_id: str | None) -> None:
        self.relay.set_floor(source_id)
        if source_id in self.requests:
            self.requests.remove(source_id)
        self.announce()

    def mute(self, source_id: str, muted: bool) -> None:
        self.relay.mute(source_id, muted)
        self.announce()

    def set_audio_only(self, source_id: str, on: bool, *, imposed: bool) -> None:
        source = self.sources[source_id]
        if imposed:
            source.imposed_audio_only = on
        else:
            source.wants_audio_only = on
        self.relay.set_audio_only(source_id, source.audio_only)
        self.announce()

    def report(self, source_id: str, reading: LinkReading) -> None:
        source = self.sources[source_id]
        source.report = reading
        source.reported_at = time.monotonic()
        self.announce()

    # -- what everyone is told ----------------------------------------------------------

    def reading(self, source: Source) -> LinkReading:
        """The site's link: its own report where fresh, and what the relay sees."""
        fresh = time.monotonic() - source.reported_at < REPORT_MAX_AGE
        own = source.report if fresh else LinkReading()
        losses = [track.fraction_lost for track in self.relay.tracks_of(source.id)]
        publication = self.relay.publications.get(source.id)
        video = publication.streams.get("video") if publication else None
        rtt = own.rtt_ms if own.rtt_ms is not None else source.server_rtt_ms
        loss = max([x for x in (own.loss, *losses) if x is not None], default=None)
        settled = time.monotonic() - source.published_at > FPS_SETTLE
        fps = None if source.audio_only or video is None or not settled else video.fps
        return LinkReading(rtt_ms=rtt, loss=loss, fps=fps)

    def state(self) -> dict[str, Any]:
        relay = self.relay
        publishing = relay.publications
        listed = []
        for source in self.sources.values():
            if source.id not in publishing:
                continue
            reading = self.reading(source)
            kinds = sorted(publishing[source.id].streams)
            listed.append({
                "id": source.id, "user_id": source.user_id, "name": source.name,
                "role": source.role, "site": source.site, "hall": source.hall,
                "kinds": kinds, "muted": source.id in relay.muted,
                "heard": relay.heard(source.id),
                "audio_only": source.audio_only, "imposed_audio_only":
                source.imposed_audio_only, "requesting": source.id in self.requests,
                "health": reading.public(),
                "propose_audio_only": reading.propose_audio_only() and not source.audio_only,
            })
        return {"floor": relay.floor, "requests": list(self.requests), "sources": listed}

    def announce(self) -> None:
        """Tell the meeting, if anything it sees has changed."""
        state = self.state()
        encoded = json.dumps(state, sort_keys=True)
        if encoded == self._announced:
            return
        self._announced = encoded
        self.hub.ephemeral(self.meeting_id, "media.changed", state)

    async def measure(self) -> None:
        """Round-trip times the relay measures to each site (from RTCP)."""
        for (site_id, _), subscription in list(self.relay.subscriptions.items()):
            source = self.sources.get(site_id)
            if source is None or subscription.pc.connectionState != "connected":
                continue
            with contextlib.suppress(Exception):
                report = await subscription.pc.getStats()
                rtts = [s.roundTripTime for s in report.values()
                        if getattr(s, "type", None) == "remote-inbound-rtp"
                        and getattr(s, "roundTripTime", None) is not None]
                if rtts:
                    source.server_rtt_ms = max(rtts) * 1000

    async def close(self) -> None:
        await self.relay.close()


class MediaRooms:
    """Every meeting's media in this process; made on first use, closed with the app."""

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self.settings = settings
        self.hub = hub
        self.rooms: dict[int, MeetingMedia] = {}
        self._watch: asyncio.Task[None] | None = None

    def room(self, meeting_id: int) -> MeetingMedia:
        room = self.rooms.get(meeting_id)
        if room is None:
            room = self.rooms[meeting_id] = MeetingMedia(meeting_id, self.settings, self.hub)
            if self._watch is None:
                self._watch = asyncio.create_task(self._health(), name="media-health")
        return room

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_SECONDS)
            for room in list(self.rooms.values()):
                try:
                    await room.measure()
                    room.announce()
                except Exception:
                    log.exception("reading the media health of meeting %s failed",
                                  room.meeting_id)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await asyncio.gather(*(room.close() for room in self.rooms.values()),
                             return_exceptions=True)
        self.rooms.clear()


__all__ = ["FLOOR", "MediaRooms", "MeetingMedia", "Source", "media_id"]
