"""A site's upstream peer connection: its camera and microphone, into the relay."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media import seams
from media.peer import SitePeer
from media.stream import Stream

log = logging.getLogger(__name__)


class Publication(SitePeer):
    """One site's published tracks: a receive-only peer connection and a `Stream` per
    track. Made by `Publication.answer(offer)`; the site is always the offerer."""

    def __init__(self, site_id: str, pc: RTCPeerConnection) -> None:
        super().__init__(site_id, pc)
        self.streams: dict[str, Stream] = {}

    def __repr__(self) -> str:
        return f"<Publication {self.site_id} {self.pc.connectionState}>"

    @classmethod
    async def answer(cls, site_id: str, offer_sdp: str, configuration: RTCConfiguration,
                     *, keyframe_interval: float,
                     on_state: Callable[[Publication], None],
                     on_media: Callable[[], None] | None = None) -> tuple[Publication, str]:
        """Accept a site's offer to publish; return the publication and the answer."""
        pc = RTCPeerConnection(configuration)
        publication = cls(site_id, pc)
        pc.on("connectionstatechange", lambda: on_state(publication))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            for transceiver in pc.getTransceivers():
                track = transceiver.receiver.track
                if track is None:
                    continue  # an m-line the site only receives on: not ours to serve here
                transceiver.direction = "recvonly"
                if transceiver.kind in publication.streams:
                    # One track of a kind per site; a second is read and thrown away.
                    publication.consume(track)
                    continue
                stream = Stream(site_id, transceiver.kind, transceiver.receiver,
                                seams.negotiated_codecs(transceiver),
                                keyframe_interval=keyframe_interval, on_media=on_media)
                stream.start(track)
                publication.streams[transceiver.kind] = stream
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await publication.close()
            raise
        for transceiver in pc.getTransceivers():
            agreed = publication.streams.get(transceiver.kind)
            if agreed is not None and agreed.receiver is transceiver.receiver:
                # The answer may narrow the codecs: forward and decide by what was agreed.
                codecs = seams.negotiated_codecs(transceiver)
                agreed.codecs = {c.payloadType: c for c in codecs}
                agreed.codec = codecs[0] if codecs else None
        return publication, pc.localDescription.sdp

    @property
    def last_media(self) -> float:
        return max((s.last_media for s in self.streams.values()), default=0.0)

    async def close(self) -> None:
        for stream in self.streams.values():
            await stream.close()
        await self._close_peer()
