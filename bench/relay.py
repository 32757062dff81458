"""Video relay CPU: encoded forwarding (media.relay) against stock aiortc MediaRelay.

    .venv/bin/python bench/relay.py [--subscribers 1,4,8] [--seconds 6]

One 640x360 30 fps publisher (test pattern + tone) and K subscribers, all aiortc peers
on 127.0.0.1 in this process; the relay runs in a child process of its own, so that its
CPU (from /proc) is the relay's alone. Two relays, in turn, for each K:
  forward  media.relay.Relay: encoded frames forwarded, never decoded;
  stock    aiortc's MediaRelay: each frame decoded once and encoded per subscriber.
Subscribers count frames without decoding them (a stand-in jitter buffer), so this
process stays light. Reported: relay CPU per subscriber stream (percent of one core),
and the lowest subscriber video fps. Latency over a direct link: not yet (next stage).
The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402

from media import seams  # noqa: E402
from media.sources import TestPattern, Tone  # noqa: E402


def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback
TICKS = os.sysconf("SC_CLK_TCK")


# -- the relay process ----------------------------------------------------------------

async def serve(mode: str) -> None:
    """Answer offers from stdin: {"publish": sdp} or {"subscribe": sdp}, one per line."""
    from aiortc.contrib.media import MediaRelay

    from media.relay import Relay

    relay = Relay()
    stock = MediaRelay()
    stock_pcs: list[RTCPeerConnection] = []
    tracks: dict[str, object] = {}
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        request = json.loads(line)
        if mode == "forward":
            if "publish" in request:
                answer = await relay.publish("A", request["publish"])
                relay.set_floor("A")
            else:
                answer = await relay.subscribe(request["site"], request["subscribe"])
        else:
            pc = RTCPeerConnection()
            stock_pcs.append(pc)
            if "publish" in request:
                pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
                await pc.setRemoteDescription(RTCSessionDescription(request["publish"],
                                                                    "offer"))
            else:
                await pc.setRemoteDescription(RTCSessionDescription(request["subscribe"],
                                                                    "offer"))
                for kind in ("video", "audio"):
                    pc.addTrack(stock.subscribe(tracks[kind]))  # type: ignore[arg-type]
            await pc.setLocalDescription(await pc.createAnswer())
            answer = pc.localDescription.sdp
        print(json.dumps({"answer": answer}), flush=True)


# -- the sites, in this process --------------------------------------------------------

class FrameCounter:
    """Stands in for a subscriber's jitter buffer: counts frames, decodes nothing."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last: int | None = None

    def add(self, packet: seams.RtpPacket) -> tuple[bool, None]:
        if packet.timestamp != self._last:
            self._last = packet.timestamp
            self.times.append(time.monotonic())
        return False, None

    def fps(self, since: float, until: float) -> float:
        return sum(1 for t in self.times if since <= t < until) / (until - since)


class RelayProcess:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", self.mode, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)

    async def ask(self, request: dict[str, str]) -> str:
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        await self.proc.stdin.drain()
        return str(json.loads(await self.proc.stdout.readline())["answer"])

    def cpu_seconds(self) -> float:
        assert self.proc
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def run(mode: str, k: int, seconds: float) -> dict[str, float]:
    relay = RelayProcess(mode)
    await relay.start()
    pcs: list[RTCPeerConnection] = []
    counters: list[FrameCounter] = []
    try:
        publisher = RTCPeerConnection()
        pcs.append(publisher)
        publisher.addTrack(TestPattern(640, 360))
        publisher.addTrack(Tone())
        await publisher.setLocalDescription(await publisher.createOffer())
        answer = await relay.ask({"publish": publisher.localDescription.sdp})
        await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(1.0)  # the stock relay needs the publisher's tracks first
        for n in range(k):
            pc = RTCPeerConnection()
            pcs.append(pc)
            for kind in ("video", "audio"):
                transceiver = pc.addTransceiver(kind, direction="recvonly")
                if kind == "video":
                    counter = FrameCounter()
                    seams.replace_jitter_buffer(transceiver.receiver, counter)
                    counters.append(counter)
            await pc.setLocalDescription(await pc.createOffer())
            answer = await relay.ask({"subscribe": pc.localDescription.sdp,
                                      "site": f"S{n}"})
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        deadline = time.monotonic() + 20
        while any(len(c.times) < 30 for c in counters) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # settle
        cpu0, t0 = relay.cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, t1 = relay.cpu_seconds(), time.monotonic()
        cpu = (cpu1 - cpu0) / (t1 - t0)
        return {"cpu_pct": 100 * cpu, "cpu_pct_per_sub": 100 * cpu / k,
                "min_fps": min(c.fps(t0, t1) for c in counters)}
    finally:
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        await relay.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve")
    parser.add_argument("--subscribers", default="1,4,8")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    sizes = [int(k) for k in args.subscribers.split(",")]
    rows: dict[tuple[str, int], dict[str, float]] = {}
    print(f"{'K':>3} {'relay':>8} {'cpu %':>8} {'%/sub':>8} {'min fps':>8}")
    for k in sizes:
        for mode in ("forward", "stock"):
            row = rows[(mode, k)] = await run(mode, k, args.seconds)
            print(f"{k:>3} {mode:>8} {row['cpu_pct']:8.1f} {row['cpu_pct_per_sub']:8.2f} "
                  f"{row['min_fps']:8.1f}", flush=True)
    top = max(sizes)
    ratio = rows[("stock", top)]["cpu_pct_per_sub"] / max(
        rows[("forward", top)]["cpu_pct_per_sub"], 1e-3)
    print(f"RESULT k_max={top} "
          f"forward_cpu_pct_per_sub={rows[('forward', top)]['cpu_pct_per_sub']:.2f} "
          f"stock_cpu_pct_per_sub={rows[('stock', top)]['cpu_pct_per_sub']:.2f} "
          f"cpu_ratio={ratio:.1f} "
          f"forward_min_fps={rows[('forward', top)]['min_fps']:.1f} "
          f"stock_min_fps={rows[('stock', top)]['min_fps']:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
