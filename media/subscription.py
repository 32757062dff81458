"""A site's downstream peer connection: one source's audio and video, out of the relay."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from media import seams
from media.packing import ForwardingEncoder
from media.peer import SitePeer
from media.sending import PacketWriter
from media.track import RelayedTrack

log = logging.getLogger(__name__)


class Subscription(SitePeer):
    """What `site_id` receives from `source` (a site, or the floor): a send-only peer
    connection with one `RelayedTrack` per m-line the site offered to receive."""

    def __init__(self, site_id: str, source: str, pc: RTCPeerConnection) -> None:
        super().__init__(site_id, pc)
        self.source = source
        self.tracks: dict[str, RelayedTrack] = {}

    def __repr__(self) -> str:
        return f"<Subscription {self.site_id} <- {self.source} {self.pc.connectionState}>"

    @classmethod
    async def answer(cls, site_id: str, source: str, offer_sdp: str,
                     configuration: RTCConfiguration,
                     on_state: Callable[[Subscription], None]) -> tuple[Subscription, str]:
        """Accept a site's offer to receive; return the subscription and the answer."""
        pc = RTCPeerConnection(configuration)
        subscription = cls(site_id, source, pc)
        pc.on("connectionstatechange", lambda: on_state(subscription))
        # Whatever the site sends on this connection is read and thrown away.
        pc.on("track", subscription.consume)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind in subscription.tracks:
                    continue  # one track of a kind per source
                track = RelayedTrack(transceiver.kind, site_id)
                pc.addTrack(track)
                seams.hook_sender_rtcp(transceiver.sender, track.on_rtcp)
                subscription.tracks[transceiver.kind] = track
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await subscription.close()
            raise
        for transceiver in pc.getTransceivers():
            sending = subscription.tracks.get(transceiver.kind)
            codecs = seams.negotiated_codecs(transceiver)
            if sending is not None and transceiver.sender.track is sending and codecs:
                sending.codec = codecs[0]
                encoder = ForwardingEncoder(codecs[0])
                seams.replace_encoder(transceiver.sender, encoder)
                seams.hook_sender_start(transceiver.sender, functools.partial(
                    start_writing, sending, transceiver.sender, encoder))
        return subscription, pc.localDescription.sdp

    def silent_for(self, now: float | None = None) -> float:
        """How long we have been sending media without a word back (RTCP) from the site."""
        now = time.monotonic() if now is None else now
        worst = 0.0
        for track in self.tracks.values():
            if track.last_sent > track.last_report:
                worst = max(worst, now - track.last_report)
        return worst

    async def close(self) -> None:
        for track in self.tracks.values():
            track.stop()
        await self._close_peer()


def start_writing(track: RelayedTrack, sender: RTCRtpSender, encoder: ForwardingEncoder,
                  parameters: RTCRtpSendParameters) -> None:
    """The sender has started: forwarded frames go out through a writer of our own."""
    track.start_writing(PacketWriter(sender, parameters, encoder))
