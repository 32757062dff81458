"""The media relay: sites publish audio and video to it, and it forwards them, encoded.

Shape
-----
Every site is the offerer, on two kinds of peer connection (no renegotiation, ever):

- `publish(site_id, offer) -> answer`: the site's camera and microphone come in
  (`Publication`: one `Stream` per track).
- `subscribe(site_id, offer, source) -> answer`: the site receives one source — another
  site by id, or `FLOOR`, whoever holds the floor at the moment (`Subscription`: one
  `RelayedTrack` per m-line). The district hall subscribes to `FLOOR`; a commune site
  subscribes to the hall and to `FLOOR`.

Frames are forwarded as they arrived, never decoded, the moment their last packet is
in: a subscriber costs an RTP header, SRTP and a socket write per packet (payloads are
made once per frame for all subscribers). A subscriber whose codec differs from its source's gets frames
decoded once (shared) and encoded for it alone — the only decoding the relay does.
Keyframe requests (PLI/FIR) from subscribers go back to the publisher, coalesced.

Floor and mute: only the floor holder and the sites in `always_heard` (the hall) are
heard; a muted site is not heard at all. Unheard audio is read and dropped at the relay.
Video always flows. `set_floor`, `mute`, `leave` take effect on the next frame.

A site that vanishes without a goodbye: its publication is dropped when no media came
for `silence_timeout`, a subscription when it sent no RTCP for that long while we were
sending to it (and either when ICE consent expires or DTLS closes). Nobody else notices.

How the rest plugs in
---------------------
- Signalling: `server/commands/media.py` carries `media.publish` / `media.subscribe`
  (an SDP offer in, the relay's answer out), `media.candidate`, `media.leave`, and the
  chair's `media.floor` / `media.mute` / `media.audio_only` over the meeting websocket,
  with the same envelope, authentication and roles as any command (docs/protocol.md).
  `server/live/media.py` holds one `Relay` per meeting (site id `p<participant id>`),
  adds the district hall to `always_heard`, and tells the meeting the media state as
  `media.changed`.
- The commune-site agent (`media/agent.py`, `phonghop site`) and the web client
  (`client-web/video.js`) publish, subscribe to what that state tells them, report their
  link with `media.report`, and offer again after a dropped link.
- Health badges (`media/health.py`) and the HTTP counters read `Relay.stats()` (per
  stream: fps, bytes, frames, keyframe requests, subscribers; per subscriber track:
  frames, bytes, loss, round trip).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.sdp import SessionDescription

from media import seams
from media.publication import Publication
from media.stream import Stream
from media.subscription import Subscription
from media.track import RelayedTrack

log = logging.getLogger(__name__)

FLOOR = "@floor"  # a subscription source: whichever site holds the floor


def check_offer(sdp: str) -> None:
    """aiortc answers nearly anything, even text that is not SDP, with an empty answer:
    refuse (ValueError) an offer that carries no audio or video."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as error:  # aiortc's parser fails in many ways (even by assert)
        raise ValueError(f"it is not SDP ({error!r:.200})") from None
    if not any(m.kind in ("audio", "video") for m in parsed.media):
        raise ValueError("it has no audio or video in it")


def ice_servers(servers: list[dict[str, Any]]) -> tuple[RTCIceServer, ...]:
    """ICE servers as a browser's RTCPeerConnection takes them (urls, username,
    credential), for aiortc."""
    return tuple(RTCIceServer(urls=s["urls"], username=s.get("username"),
                              credential=s.get("credential")) for s in servers)


@dataclass(frozen=True)
class RelayConfig:
    """How the relay reaches sites and when it gives up on them."""

    # STUN/TURN servers: none on a LAN, where host candidates reach every site.
    ice_servers: tuple[RTCIceServer, ...] = ()
    # A site that sends nothing (publisher) or answers nothing (subscriber) this long is gone.
    silence_timeout: float = 10.0
    # Keyframe requests to one publisher closer together than this become one.
    keyframe_interval: float = 0.3
    # Heard whatever the floor: the district hall, where the chair speaks.
    always_heard: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.silence_timeout <= 0:
            raise ValueError(f"silence_timeout must be positive, not {self.silence_timeout}")
        if not 0 <= self.keyframe_interval <= 5:
            raise ValueError(f"keyframe_interval {self.keyframe_interval} is not 0-5 s")
        if FLOOR in self.always_heard:
            raise ValueError(f"{FLOOR!r} is a source, not a site")

    def rtc_configuration(self) -> RTCConfiguration:
        return RTCConfiguration(iceServers=list(self.ice_servers))


class Relay:
    """All the media of one meeting: publications, subscriptions, floor and mutes."""

    def __init__(self, config: RelayConfig | None = None) -> None:
        seams.check()  # an aiortc that moved under us must fail here, not in a meeting
        self.config = config or RelayConfig()
        self.publications: dict[str, Publication] = {}
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.floor: str | None = None
        self.muted: set[str] = set()
        # Heard whatever the floor: the config's sites and those the server adds (the hall).
        self.always_heard: set[str] = set(self.config.always_heard)
        # Sites on audio only: their video is not forwarded, and none is sent to them.
        self.audio_only: set[str] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    # -- signalling -------------------------------------------------------------------

    async def publish(self, site_id: str, offer_sdp: str) -> str:
        """A site offers its camera and microphone; answer it. Replaces its previous
        publication (a reconnect)."""
        self._check_site(site_id)
        check_offer(offer_sdp)
        self._start_watchdog()
        publication, answer = await Publication.answer(
            site_id, offer_sdp, self.config.rtc_configuration(),
            keyframe_interval=self.config.keyframe_interval,
            on_state=self._publication_state)
        previous = self.publications.pop(site_id, None)
        self.publications[site_id] = publication
        if previous is not None:
            log.info("%r replaces %r", publication, previous)
            await previous.close()
        self._route()
        return answer

    async def subscribe(self, site_id: str, offer_sdp: str, source: str = FLOOR) -> str:
        """A site offers to receive `source` (a site id, or FLOOR); answer it. Replaces
        its previous subscription to the same source."""
        self._check_site(site_id)
        if source != FLOOR:
            self._check_site(source)
        check_offer(offer_sdp)
        self._start_watchdog()
        subscription, answer = await Subscription.answer(
            site_id, source, offer_sdp, self.config.rtc_configuration(),
            on_state=self._subscription_state)
        previous = self.subscriptions.pop((site_id, source), None)
        self.subscriptions[(site_id, source)] = subscription
        if previous is not None:
            await previous.close()
        self._route()
        return answer

    async def leave(self, site_id: str) -> None:
        """A site leaves (or is gone): close everything it sent and received."""
        closing: list[Publication | Subscription] = []
        gone = self.publications.pop(site_id, None)
        if gone is not None:
            closing.append(gone)
        for key in [k for k in self.subscriptions if k[0] == site_id]:
            closing.append(self.subscriptions.pop(key))
        self._route()
        await asyncio.gather(*(c.close() for c in closing), return_exceptions=True)

    # -- the chair --------------------------------------------------------------------

    def set_floor(self, site_id: str | None) -> None:
        """Give the floor to a site (None: to nobody). Its video goes to every FLOOR
        subscriber and its audio is heard, unless muted."""
        if site_id is not None:
            self._check_site(site_id)
        self.floor = site_id
        self._route()

    def mute(self, site_id: str, muted: bool = True) -> None:
        """Silence a site's audio everywhere (or let it be heard again)."""
        self._check_site(site_id)
        if muted:
            self.muted.add(site_id)
        else:
            self.muted.discard(site_id)
        self._route()

    def set_always_heard(self, site_id: str, heard: bool = True) -> None:
        """Hear a site whatever the floor (the district hall), or no longer."""
        self._check_site(site_id)
        (self.always_heard.add if heard else self.always_heard.discard)(site_id)
        self._route()

    def set_audio_only(self, site_id: str, on: bool = True) -> None:
        """Carry only a site's audio, both ways: for a site on a poor link."""
        self._check_site(site_id)
        (self.audio_only.add if on else self.audio_only.discard)(site_id)
        self._route()

    def heard(self, site_id: str) -> bool:
        return site_id not in self.muted and (
            site_id == self.floor or site_id in self.always_heard)

    # -- what goes where --------------------------------------------------------------

    def _route(self) -> None:
        """Point every connected subscriber track at the stream it should carry now."""
        for site_id, publication in self.publications.items():
            audio = publication.streams.get("audio")
            if audio is not None:
                audio.heard = self.heard(site_id)
        for subscription in self.subscriptions.values():
            if subscription.pc.connectionState != "connected":
                continue  # nothing would read the frames: they would pile up
            site = self.floor if subscription.source == FLOOR else subscription.source
            for kind, track in subscription.tracks.items():
                stream: Stream | None = None
                if kind == "video" and (subscription.site_id in self.audio_only
                                        or site in self.audio_only):
                    pass  # audio only: nothing to carry
                elif site is not None and site != subscription.site_id:
                    source = self.publications.get(site)
                    if source is not None:
                        stream = source.streams.get(kind)
                if track.source is not stream:
                    track.set_source(stream)

    def _publication_state(self, publication: Publication) -> None:
        state = publication.pc.connectionState
        log.info("%r is %s", publication, state)
        if state in ("failed", "closed"):
            self._drop_publication(publication)
        elif state == "connected":
            self._route()

    def _subscription_state(self, subscription: Subscription) -> None:
        state = subscription.pc.connectionState
        log.info("%r is %s", subscription, state)
        if state in ("failed", "closed"):
            self._drop_subscription(subscription)
        elif state == "connected":
            self._route()

    def _drop_publication(self, publication: Publication) -> None:
        if self.publications.get(publication.site_id) is publication:
            del self.publications[publication.site_id]
            self._route()
        self._close_later(publication)

    def _drop_subscription(self, subscription: Subscription) -> None:
        key = (subscription.site_id, subscription.source)
        if self.subscriptions.get(key) is subscription:
            del self.subscriptions[key]
        for track in subscription.tracks.values():
            track.set_source(None)  # now: closing the connection may take a while
        self._close_later(subscription)

    def _close_later(self, peer: Publication | Subscription) -> None:
        task = asyncio.ensure_future(peer.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- sites that vanish ------------------------------------------------------------

    def _start_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="relay-watchdog")

    async def _watch(self) -> None:
        timeout = self.config.silence_timeout
        while True:
            await asyncio.sleep(timeout / 4)
            now = time.monotonic()
            for publication in list(self.publications.values()):
                if now - publication.last_media > timeout:
                    log.warning("%r sent nothing for %.1f s: dropping it", publication,
                                now - publication.last_media)
                    self._drop_publication(publication)
            for subscription in list(self.subscriptions.values()):
                if subscription.silent_for(now) > timeout:
                    log.warning("%r answered nothing for %.1f s: dropping it",
                                subscription, subscription.silent_for(now))
                    self._drop_subscription(subscription)

    # -- counters ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Per published stream and per subscriber track: the health badge's inputs."""
        return {
            "floor": self.floor,
            "muted": sorted(self.muted),
            "audio_only": sorted(self.audio_only),
            "streams": [stream.stats() for publication in self.publications.values()
                        for stream in publication.streams.values()],
            "subscriptions": [
                {"site_id": s.site_id, "source": s.source, "state": s.pc.connectionState,
                 "tracks": [t.stats() for t in s.tracks.values()]}
                for s in self.subscriptions.values()],
        }

    def tracks_of(self, site_id: str) -> list[RelayedTrack]:
        return [t for (site, _), s in self.subscriptions.items() if site == site_id
                for t in s.tracks.values()]

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for site_id in {*self.publications, *(k[0] for k in self.subscriptions)}:
            await self.leave(site_id)
        await asyncio.gather(*self._closing, return_exceptions=True)

    @staticmethod
    def _check_site(site_id: str) -> None:
        if not isinstance(site_id, str) or not site_id or site_id == FLOOR:
            raise ValueError(f"not a site id: {site_id!r}")
