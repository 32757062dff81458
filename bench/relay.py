"""Video relay: encoded forwarding (media.relay) against stock aiortc MediaRelay.

    .venv/bin/python bench/relay.py [--subscribers 1,4,8,16,32] [--stock-up-to 8]
                                    [--seconds 6] [--modes forward,stock]

One 640x360 30 fps publisher (test pattern + tone) and K subscribers, all aiortc peers
on 127.0.0.1 in this process; the relay runs in a child process of its own, so that its
CPU (from /proc) is the relay's alone. Two relays, in turn, for each K:
  forward  media.relay.Relay: encoded frames forwarded, never decoded;
  stock    aiortc's MediaRelay: each frame decoded once and encoded per subscriber.
Stock runs only up to `--stock-up-to` subscribers: past that it needs more than the one
core its event loop has, and its figures say only that it is saturated. CPU ratios are
taken at the largest K both relays ran.

Latency: the publisher also sends the same pattern straight to one more peer in this
process (a direct link, its own encoder), during every run. Each video frame's pts
carries a small deterministic mark, so that RTP timestamps identify frames across the
re-timing every path applies (one constant offset per receiving peer, found by vote).
Latency is from the publisher handing a frame's last packet to SRTP to that packet
leaving SRTP at the receiver; "added" is relayed minus direct, per percentile.

Subscribers count frames without decoding them (a stand-in jitter buffer), so this
process stays light. Reported per K: relay CPU per subscriber stream (percent of one
core: the relay's whole CPU divided by K), the lowest subscriber video fps, latency
p50/p95 through the relay and direct, this process's own CPU (when it nears a core, the
direct link's latency rises too: the harness, not the relay, is then the limit) and the
video frames the forwarding relay dropped in the window for subscribers that fell behind (-1: stock,
not counted). The last line is `RESULT key=value ...`.

Two CPU ratios, read differently:
  cpu_ratio       whole relay CPU / K, stock over forward, at the largest K both ran.
                  Forward's figure carries its fixed cost of receiving the publisher
                  (a few % of a core, whatever K), so at small K this is mostly that.
  marginal_ratio  CPU per *added* subscriber: the least-squares slope of relay CPU
                  against K over the K where both relays held KEPT_UP_FPS (`marginal_k`),
                  stock over forward; `forward_fixed_pct` is forward's intercept.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import fractions
import json
import os
import statistics
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaRelay  # noqa: E402

from media import seams  # noqa: E402
from media.sources import TestPattern, Tone  # noqa: E402


def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback
TICKS = os.sysconf("SC_CLK_TCK")
RTP_MODULO = 1 << 32
KEPT_UP_FPS = 29.0  # a relay below this at the slowest subscriber is saturated


# -- the relay process ----------------------------------------------------------------

async def serve(mode: str) -> None:
    """Answer offers from stdin: {"publish": sdp} or {"subscribe": sdp}, one per line."""
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
        if "stats" in request:
            print(json.dumps({"stats": relay.stats()}), flush=True)
            continue
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

class MarkedPattern(TestPattern):
    """The test pattern, each frame's pts nudged by a mark that depends on its number.

    The nudge (under 1 ms) makes the gaps between RTP timestamps irregular, so that a
    receiver's timestamps line up with the publisher's at one offset only.
    """

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        pts, time_base = await super().next_timestamp()
        return pts + (pts // 3000 * 7919) % 89, time_base


class SendLog:
    """When each video frame's last packet left the publisher, by RTP timestamp."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self.sent: dict[int, float] = {}
        self._sender = sender
        transport = sender.transport
        original: Callable[[bytes], Awaitable[None]] = transport._send_rtp

        async def send_rtp(data: bytes) -> None:
            # RTP (not RTCP), marker bit set, our SSRC: the end of a video frame.
            if (len(data) >= 12 and data[1] & 0x80 and not 192 <= data[1] <= 223
                    and struct.unpack_from("!I", data, 8)[0] == self._sender._ssrc):
                self.sent[struct.unpack_from("!I", data, 4)[0]] = time.monotonic()
            await original(data)

        transport._send_rtp = send_rtp  # type: ignore[method-assign]


class Arrivals:
    """Stands in for a subscriber's jitter buffer: notes when each frame's last packet
    arrived, decodes nothing."""

    def __init__(self) -> None:
        self.complete: dict[int, float] = {}

    def add(self, packet: seams.RtpPacket) -> tuple[bool, None]:
        if packet.marker:
            self.complete[packet.timestamp] = time.monotonic()
        return False, None

    def fps(self, since: float, until: float) -> float:
        return sum(1 for t in self.complete.values() if since <= t < until) / (until - since)

    def latencies(self, sent: dict[int, float], since: float, until: float) -> list[float]:
        """Seconds from send to arrival for the frames that arrived in [since, until)."""
        offset = self._offset(sent)
        if offset is None:
            return []
        found = []
        for timestamp, arrived in self.complete.items():
            left = sent.get((timestamp - offset) % RTP_MODULO)
            if left is not None and since <= arrived < until:
                found.append(arrived - left)
        return found

    def _offset(self, sent: dict[int, float]) -> int | None:
        """The receiver's RTP timestamp minus the publisher's for the same frame: the
        difference most frames agree on, pairing each arrival with every frame sent in
        the second before it."""
        by_time = sorted((t, ts) for ts, t in sent.items())
        votes: collections.Counter[int] = collections.Counter()
        for timestamp, arrived in list(self.complete.items())[-150:]:
            for left, published in by_time:
                if arrived - 1.0 <= left <= arrived:
                    votes[(timestamp - published) % RTP_MODULO] += 1
        if not votes:
            return None
        return votes.most_common(1)[0][0]


def light_receiver(pc: RTCPeerConnection) -> Arrivals:
    """Receive video and audio on `pc`; video frames are only timed, never decoded."""
    arrivals = Arrivals()
    for kind in ("video", "audio"):
        transceiver = pc.addTransceiver(kind, direction="recvonly")
        if kind == "video":
            seams.replace_jitter_buffer(transceiver.receiver, arrivals)
    return arrivals


class RelayProcess:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", self.mode, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)

    async def ask(self, request: dict[str, str]) -> str:
        return str((await self._ask(request))["answer"])

    async def dropped(self) -> int:
        """Frames the forwarding relay dropped for subscribers that fell behind."""
        stats = (await self._ask({"stats": ""}))["stats"]
        return sum(t["frames_dropped"] for s in stats["subscriptions"] for t in s["tracks"]
                   if t["kind"] == "video")

    async def _ask(self, request: dict[str, str]) -> dict[str, Any]:
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        await self.proc.stdin.drain()
        answer: dict[str, Any] = json.loads(await self.proc.stdout.readline())
        return answer

    def cpu_seconds(self) -> float:
        assert self.proc
        return cpu_seconds(self.proc.pid)

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def connect(offerer: RTCPeerConnection, answer: Callable[[str], Awaitable[str]]) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    answer_sdp = await answer(offerer.localDescription.sdp)
    await offerer.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))


async def run(mode: str, k: int, seconds: float) -> dict[str, float]:
    relay = RelayProcess(mode)
    await relay.start()
    pcs: list[RTCPeerConnection] = []
    try:
        # The publisher: one pattern, encoded twice, for the relay and for the direct link.
        pattern, split = MarkedPattern(640, 360), MediaRelay()
        publisher = RTCPeerConnection()
        pcs.append(publisher)
        to_relay = publisher.addTrack(split.subscribe(pattern, buffered=False))
        publisher.addTrack(Tone())
        await connect(publisher, lambda sdp: relay.ask({"publish": sdp}))
        sent_relayed = SendLog(to_relay)

        direct_out, direct_in = RTCPeerConnection(), RTCPeerConnection()
        pcs += [direct_out, direct_in]
        to_direct = direct_out.addTrack(split.subscribe(pattern, buffered=False))
        direct = light_receiver(direct_in)

        async def answer_direct(sdp: str) -> str:
            await direct_out.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await direct_out.setLocalDescription(await direct_out.createAnswer())
            return str(direct_out.localDescription.sdp)

        await connect(direct_in, answer_direct)
        sent_direct = SendLog(to_direct)
        await asyncio.sleep(1.0)  # the stock relay needs the publisher's tracks first

        subscribers: list[Arrivals] = []
        for n in range(k):
            pc = RTCPeerConnection()
            pcs.append(pc)
            subscribers.append(light_receiver(pc))

            async def answer_relayed(sdp: str, site: str = f"S{n}") -> str:
                return await relay.ask({"subscribe": sdp, "site": site})

            await connect(pc, answer_relayed)
        deadline = time.monotonic() + 30
        while (any(len(s.complete) < 30 for s in [*subscribers, direct])
               and time.monotonic() < deadline):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # settle
        dropped0 = await relay.dropped() if mode == "forward" else 0
        cpu0, own0, t0 = relay.cpu_seconds(), cpu_seconds(os.getpid()), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, own1, t1 = relay.cpu_seconds(), cpu_seconds(os.getpid()), time.monotonic()
        dropped = await relay.dropped() - dropped0 if mode == "forward" else -1
        await asyncio.sleep(0.5)  # the last frames of the window, still on their way
        cpu = (cpu1 - cpu0) / (t1 - t0)
        relayed = [x for s in subscribers for x in s.latencies(sent_relayed.sent, t0, t1)]
        straight = direct.latencies(sent_direct.sent, t0, t1)
        return {"cpu_pct": 100 * cpu, "cpu_pct_per_sub": 100 * cpu / k,
                "min_fps": min(s.fps(t0, t1) for s in subscribers),
                "own_cpu_pct": 100 * (own1 - own0) / (t1 - t0), "dropped": dropped,
                "relay_p50": percentile(relayed, 50), "relay_p95": percentile(relayed, 95),
                "direct_p50": percentile(straight, 50),
                "direct_p95": percentile(straight, 95)}
    finally:
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        await relay.stop()


def percentile(values: list[float], pct: int) -> float:
    """In milliseconds; NaN when nothing was measured."""
    if len(values) < 2:
        return float("nan")
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve")
    parser.add_argument("--subscribers", default="1,4,8,16,32")
    parser.add_argument("--stock-up-to", type=int, default=8)
    parser.add_argument("--modes", default="forward,stock")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    sizes = [int(k) for k in args.subscribers.split(",")]
    modes = args.modes.split(",")
    rows: dict[tuple[str, int], dict[str, float]] = {}
    print(f"{'K':>3} {'relay':>8} {'cpu %':>7} {'%/sub':>7} {'min fps':>8} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'direct p50':>10} {'p95':>6} "
          f"{'added p50':>9} {'p95':>6} {'bench cpu %':>11} {'dropped':>7}")
    for k in sizes:
        for mode in modes:
            if mode == "stock" and k > args.stock_up_to:
                continue
            row = rows[(mode, k)] = await run(mode, k, args.seconds)
            row["added_p50"] = row["relay_p50"] - row["direct_p50"]
            row["added_p95"] = row["relay_p95"] - row["direct_p95"]
            print(f"{k:>3} {mode:>8} {row['cpu_pct']:7.1f} {row['cpu_pct_per_sub']:7.2f} "
                  f"{row['min_fps']:8.1f} {row['relay_p50']:7.1f} {row['relay_p95']:7.1f} "
                  f"{row['direct_p50']:10.1f} {row['direct_p95']:6.1f} "
                  f"{row['added_p50']:9.1f} {row['added_p95']:6.1f} "
                  f"{row['own_cpu_pct']:11.1f} {row['dropped']:7.0f}", flush=True)
    result = [f"k_max={max(sizes)}"]
    if "forward" in modes:
        top = rows[("forward", max(sizes))]
        worst_added = max(rows[("forward", k)]["added_p95"] for k in sizes)
        result += [f"forward_cpu_pct_per_sub={top['cpu_pct_per_sub']:.2f}",
                   f"forward_min_fps={top['min_fps']:.1f}",
                   f"forward_added_p50_ms={top['added_p50']:.1f}",
                   f"forward_added_p95_ms={top['added_p95']:.1f}",
                   f"forward_worst_added_p95_ms={worst_added:.1f}"]
    both = [k for k in sizes if ("forward", k) in rows and ("stock", k) in rows]
    if both:
        k = max(both)
        forward, stock = rows[("forward", k)], rows[("stock", k)]
        result += [f"ratio_k={k}",
                   f"stock_cpu_pct_per_sub={stock['cpu_pct_per_sub']:.2f}",
                   f"cpu_ratio={stock['cpu_pct_per_sub'] / max(forward['cpu_pct_per_sub'], 1e-3):.1f}",
                   f"stock_min_fps={stock['min_fps']:.1f}"]
        # What one more subscriber costs: the slope of CPU against K, over the K where
        # both relays kept up (a saturated relay's CPU stops growing with K).
        kept = [k for k in both if min(rows[(m, k)]["min_fps"] for m in modes) >= KEPT_UP_FPS]
        if len(kept) >= 2:
            forward_slope, forward_fixed = fit_line(
                [(k, rows[("forward", k)]["cpu_pct"]) for k in kept])
            stock_slope, _ = fit_line([(k, rows[("stock", k)]["cpu_pct"]) for k in kept])
            result += [f"marginal_k={','.join(map(str, kept))}",
                       f"stock_marginal_pct_per_sub={stock_slope:.2f}",
                       f"forward_marginal_pct_per_sub={forward_slope:.2f}",
                       f"forward_fixed_pct={forward_fixed:.1f}",
                       f"marginal_ratio={stock_slope / max(forward_slope, 1e-3):.1f}"]
        else:
            result.append("marginal_k=none")  # too few K where both kept up: no slope
    print("RESULT " + " ".join(result))


def fit_line(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares: (slope, intercept) of CPU % against K."""
    mean_k = statistics.fmean(k for k, _ in points)
    mean_cpu = statistics.fmean(cpu for _, cpu in points)
    slope = (sum((k - mean_k) * (cpu - mean_cpu) for k, cpu in points)
             / sum((k - mean_k) ** 2 for k, _ in points))
    return slope, mean_cpu - slope * mean_k


if __name__ == "__main__":
    asyncio.run(main())
