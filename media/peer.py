"""What a publication and a subscription share: one site's peer connection with the relay."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class SitePeer:
    def __init__(self, site_id: str, pc: RTCPeerConnection) -> None:
        self.site_id = site_id
        self.pc = pc
        self._drains: set[asyncio.Task[None]] = set()

    def consume(self, track: MediaStreamTrack) -> None:
        """Read a track we do not use until it ends, so that its queue stays empty."""
        async def read() -> None:
            while True:
                try:
                    await track.recv()
                except MediaStreamError:
                    return

        task = asyncio.create_task(read(), name=f"consume-{self.site_id}-{track.kind}")
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _close_peer(self) -> None:
        """Stop the drains and close the peer connection."""
        for task in list(self._drains):
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)
        await self.pc.close()
