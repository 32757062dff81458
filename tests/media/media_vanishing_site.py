"""A site in its own process, so that a test can kill it without a goodbye (SIGKILL).

Protocol on stdio, one JSON object per line: it prints {"offer": sdp}, reads
{"answer": sdp}, then prints {"video": n} about every 100 ms while frames arrive.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


async def main() -> None:
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    pc = RTCPeerConnection()
    for kind in ("video", "audio"):
        pc.addTransceiver(kind, direction="recvonly")
    counts = {"video": 0, "audio": 0}

    async def read(track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += 1

    tasks = []
    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(read(track))))
    await pc.setLocalDescription(await pc.createOffer())
    print(json.dumps({"offer": pc.localDescription.sdp}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await pc.setRemoteDescription(RTCSessionDescription(json.loads(line)["answer"], "answer"))
    while True:
        await asyncio.sleep(0.1)
        print(json.dumps({"video": counts["video"]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
