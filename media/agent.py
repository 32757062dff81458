"""The commune-site agent: `phonghop site --server URL --token TOKEN`.

Runs on a commune hall's computer. It signs in with a bearer token of the site's account,
finds the meeting the site takes part in (the one in session, else the next one), joins
it over the meeting websocket and then, until stopped:

- publishes the hall's camera and microphone (or a test pattern and a tone for trials);
- receives whoever has the floor and the district hall's sources;
- reports its link (round-trip time, loss) every few seconds with `media.report`, and
  follows the audio-only mode when it, or the chair, chooses it;
- when the link drops (websocket closed, a peer connection failed), starts again after a
  back-off of 1, 2, 4 … 30 s with jitter; the relay replaces the old connections.

Everything it sends is an ordinary protocol command (docs/protocol.md), under the
site's own account and role: the agent can do nothing the site's user could not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.relay import FLOOR, ice_servers
from media.sources import TestPattern, Tone

log = logging.getLogger(__name__)

STABLE_AFTER = 30.0
TEARDOWN_SECONDS = 10.0  # closing peer connections may not hang the agent
# Refusals that waiting will not cure; anything else starts the session again.
FATAL = frozenset({"forbidden", "unauthenticated", "media_off", "invalid", "bad_sdp"})  # a session that lasted this long resets the back-off


class AgentError(Exception):
    """Something the agent cannot get past by waiting (a refused token, no camera)."""


class SessionLost(Exception):
    """The link dropped: start again after a back-off."""


@dataclass
class AgentOptions:
    server: str  # http(s)://host:port of the Phòng họp server
    token: str
    meeting_id: int | None = None
    test_pattern: bool = False
    camera: str | None = None  # e.g. /dev/video0 (v4l2)
    camera_format: str = "v4l2"
    microphone: str | None = None  # e.g. default (ALSA) or a PulseAudio source
    microphone_format: str = "alsa"
    audio_only: bool = False
    report_seconds: float = 2.0
    max_backoff: float = 30.0
    # Where the agent's media may come from; tests and trials pass their own.
    ice_override: list[dict[str, Any]] | None = None


@dataclass
class Received:
    """What came in from one source, for the status line and the tests."""

    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    last: float = 0.0


class Signalling:
    """The meeting websocket as the agent uses it: commands with results, and events."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = iter(range(1, 1 << 62))
        self.hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read(), name="agent-ws")

    @classmethod
    async def connect(cls, server: str, token: str) -> Signalling:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        url = server.rstrip("/").replace("http", "ws", 1) + "/ws"
        try:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                               compression=None, max_size=2**20, open_timeout=10)
        except InvalidStatus as error:
            if error.response.status_code in (401, 403):
                raise AgentError("the server refused the token (check --token)") from None
            raise SessionLost(f"websocket refused: {error}") from None
        except OSError as error:
            raise SessionLost(f"cannot reach {server}: {error}") from None
        channel = cls(ws)
        try:
            await asyncio.wait_for(asyncio.shield(channel.hello), 10)
        except (TimeoutError, SessionLost):
            await channel.close()
            raise SessionLost("the server said no hello") from None
        return channel

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "hello" and not self.hello.done():
                    self.hello.set_result(frame)
                elif frame.get("type") == "result":
                    future = self._waiting.pop(frame.get("id") or "", None)
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif frame.get("type") == "event":
                    self.events.put_nowait(frame)
        except ConnectionClosed:
            pass
        finally:
            lost = SessionLost(f"the websocket closed ({self.ws.close_code})")
            for future in [self.hello, *self._waiting.values()]:
                if not future.done():
                    future.set_exception(lost)
            self.events.put_nowait({"type": "closed"})

    async def command(self, cmd: str, meeting_id: int | None, timeout: float = 30,
                      **args: Any) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        command_id = f"a{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        try:
            await self.ws.send(json.dumps({"id": command_id, "cmd": cmd,
                                           "meeting_id": meeting_id, "args": args}))
            frame = await asyncio.wait_for(future, timeout)
        except ConnectionClosed:
            raise SessionLost("the websocket closed") from None
        except TimeoutError:
            raise SessionLost(f"no answer to {cmd} in {timeout:.0f} s") from None
        finally:
            self._waiting.pop(command_id, None)
        if not frame["ok"]:
            error = frame["error"]
            message = f"{cmd}: {error['code']}: {error['message']}"
            if error["code"] in FATAL:
                raise AgentError(message)
            raise SessionLost(message)  # e.g. the relay dropped us: publish again
        return dict(frame["data"])

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self.reader, return_exceptions=True)


async def _finish(task: asyncio.Task[None]) -> BaseException | None:
    """Cancel a session and wait for it to end. Python 3.11's `wait_for` can swallow a
    cancellation that arrives as its inner future completes, so cancel until it ends (the
    session also watches the stop event at every turn of its loop)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task.cancelled():
        return None
    return task.exception()


def pick_meeting(meetings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The meeting in session, else the next one that is published (or None)."""
    mine = [m for m in meetings if m.get("my_role") in ("site", "chair", "secretary")]
    for status in ("in_session", "published"):
        found = sorted((m for m in mine if m.get("status") == status),
                       key=lambda m: m.get("starts_at") or "")
        if found:
            return found[0]
    return None


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our server)
        return json.load(response)


class SiteAgent:
    """One commune site's media, kept alive across dropped links."""

    def __init__(self, options: AgentOptions,
                 status: Callable[[str], None] | None = None) -> None:
        self.options = options
        self.status = status or (lambda line: log.info("%s", line))
        self.meeting_id: int | None = options.meeting_id
        self.source_id: str | None = None
        self.received: dict[str, Received] = {}
        self.sessions = 0  # how many times it (re)connected and published
        self.connected = asyncio.Event()
        self.last_report: dict[str, Any] = {}
        self._pcs: dict[str, RTCPeerConnection] = {}
        self._video_sender: RTCRtpSender | None = None
        self._video: MediaStreamTrack | None = None
        self._audio: MediaStreamTrack | None = None
        self._audio_only = options.audio_only
        self._tasks: set[asyncio.Task[None]] = set()
        self._loss_base: dict[int, tuple[int, int]] = {}
        self._stop = asyncio.Event()

    # -- the outer loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Connect, publish, receive; after a drop, back off and do it again."""
        stop = stop or asyncio.Event()
        self._stop = stop
        backoff = 1.0
        while not stop.is_set():
            started = time.monotonic()
            session = asyncio.create_task(self.session())
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                outcome = await _finish(session)
                try:
                    await asyncio.wait_for(self._teardown(), TEARDOWN_SECONDS)
                except TimeoutError:
                    log.warning("closing the peer connections took over %s s", TEARDOWN_SECONDS)
            if stop.is_set():
                return
            if isinstance(outcome, AgentError):
                raise outcome
            if not isinstance(outcome, SessionLost | None):
                log.error("the site session failed", exc_info=outcome)
            if time.monotonic() - started > STABLE_AFTER:
                backoff = 1.0
            delay = min(backoff, self.options.max_backoff) * random.uniform(0.8, 1.2)
            self.status(f"mất kết nối / link lost ({outcome}); thử lại sau {delay:.1f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            backoff = min(backoff * 2, self.options.max_backoff)

    async def session(self) -> None:
        """One connected stretch: returns (or raises SessionLost) when the link drops."""
        options = self.options
        channel = await Signalling.connect(options.server, options.token)
        try:
            meeting_id = self.meeting_id or await self._find_meeting()
            self.meeting_id = meeting_id
            await channel.command("meeting.join", meeting_id, following=False)
            media = await channel.command("media.state", meeting_id)
            if not media["can_publish"]:
                raise AgentError("this account may not publish video in the meeting "
                                 "(it needs the site role)")
            self.source_id = media["self"]
            servers = options.ice_override if options.ice_override is not None \
                else media["ice_servers"]
            config = RTCConfiguration(iceServers=list(ice_servers(servers)))
            await self._publish(channel, meeting_id, config)
            subscribed: set[str] = set()
            await self._follow(channel, meeting_id, config, media["state"], subscribed)
            self.sessions += 1
            self.connected.set()
            self.status(f"đã kết nối / connected: cuộc họp {meeting_id}, nguồn "
                        f"{self.source_id}")
            await self._loop(channel, meeting_id, config, subscribed)
        finally:
            self.connected.clear()
            await channel.close()

    async def _find_meeting(self) -> int:
        url = self.options.server.rstrip("/") + "/api/meetings"
        try:
            meetings = await asyncio.to_thread(_get_json, url, self.options.token)
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                raise AgentError("the server refused the token (check --token)") from None
            raise SessionLost(f"listing meetings failed: HTTP {error.code}") from None
        except OSError as error:
            raise SessionLost(f"listing meetings failed: {error}") from None
        chosen = pick_meeting(meetings if isinstance(meetings, list)
                              else meetings.get("meetings", []))
        if chosen is None:
            raise SessionLost("this site has no meeting in session or coming up")
        self.status(f"cuộc họp / meeting: {chosen['title']} (#{chosen['id']})")
        return int(chosen["id"])

    # -- media ---------------------------------------------------------------------------

    def _sources(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        options = self.options
        if options.test_pattern:
            return TestPattern(), Tone()
        from aiortc.contrib.media import MediaPlayer

        if not options.camera or not options.microphone:
            raise AgentError("give --camera and --microphone, or --test-pattern for a trial")
        try:
            camera = MediaPlayer(options.camera, format=options.camera_format,
                                 options={"video_size": "640x360", "framerate": "30"})
            microphone = MediaPlayer(options.microphone, format=options.microphone_format)
        except Exception as error:  # PyAV raises several kinds for a missing device
            raise AgentError(f"cannot open the camera or microphone: {error}") from None
        if camera.video is None or microphone.audio is None:
            raise AgentError("the camera gave no video or the microphone no audio")
        return camera.video, microphone.audio

    async def _publish(self, channel: Signalling, meeting_id: int,
                       config: RTCConfiguration) -> None:
        video, audio = self._sources()
        pc = self._watch(RTCPeerConnection(config), "publish")
        self._video, self._audio = video, audio
        self._video_sender = pc.addTrack(video)
        pc.addTrack(audio)
        await pc.setLocalDescription(await pc.createOffer())
        result = await channel.command("media.publish", meeting_id,
                                       offer=pc.localDescription.sdp,
                                       audio_only=self._audio_only)
        await pc.setRemoteDescription(RTCSessionDescription(result["answer"], "answer"))
        if self._audio_only:
            self._video_sender.replaceTrack(None)

    async def _subscribe(self, channel: Signalling, meeting_id: int,
                         config: RTCConfiguration, source: str) -> None:
        pc = self._watch(RTCPeerConnection(config), source)
        received = self.received.setdefault(source, Received())
        for kind in ("video", "audio"):
            pc.addTransceiver(kind, direction="recvonly")
        pc.on("track", lambda track: self._spawn(self._consume(track, received)))
        await pc.setLocalDescription(await pc.createOffer())
        result = await channel.command("media.subscribe", meeting_id,
                                       offer=pc.localDescription.sdp, source=source)
        await pc.setRemoteDescription(RTCSessionDescription(result["answer"], "answer"))

    async def _consume(self, track: MediaStreamTrack, received: Received) -> None:
        # Decoded as a site's screen would need them; counted for the status line.
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            received.frames[track.kind] = received.frames.get(track.kind, 0) + 1
            received.last = time.monotonic()

    async def _follow(self, channel: Signalling, meeting_id: int, config: RTCConfiguration,
                      state: dict[str, Any], subscribed: set[str]) -> None:
        """Receive the floor and every district-hall source; keep audio-only in step."""
        wanted = {FLOOR} | {s["id"] for s in state.get("sources", [])
                            if s.get("hall") and s["id"] != self.source_id}
        for source in sorted(wanted - subscribed):
            await self._subscribe(channel, meeting_id, config, source)
            subscribed.add(source)
        mine = next((s for s in state.get("sources", []) if s["id"] == self.source_id), None)
        if mine is not None and mine["audio_only"] != self._audio_only:
            self._audio_only = bool(mine["audio_only"])
            if self._video_sender is not None:
                self._video_sender.replaceTrack(None if self._audio_only else self._video)
            self.status("chỉ âm thanh / audio only" if self._audio_only
                        else "hình và tiếng / video and audio")
        if mine is not None and mine.get("propose_audio_only"):
            self.status("đường truyền kém: nên chuyển sang chỉ âm thanh (--audio-only) / "
                        "poor link: audio only is proposed")

    async def _loop(self, channel: Signalling, meeting_id: int, config: RTCConfiguration,
                    subscribed: set[str]) -> None:
        next_report = time.monotonic()
        while not self._stop.is_set():
            failed = [name for name, pc in self._pcs.items()
                      if pc.connectionState in ("failed", "closed")]
            if failed:
                raise SessionLost(f"the {', '.join(failed)} connection failed")
            timeout = max(0.0, next_report - time.monotonic())
            try:
                event = await asyncio.wait_for(channel.events.get(), timeout)
            except TimeoutError:
                await self._report(channel, meeting_id)
                next_report = time.monotonic() + self.options.report_seconds
                continue
            if event.get("type") == "closed":
                raise SessionLost("the websocket closed")
            if event.get("name") == "media.changed" and event["meeting_id"] == meeting_id:
                await self._follow(channel, meeting_id, config, event["data"], subscribed)

    async def link(self) -> dict[str, float | None]:
        """Round-trip time (from the relay's receiver reports) and loss, both ways."""
        rtts: list[float] = []
        losses: list[float] = []
        for pc in list(self._pcs.values()):
            report = await pc.getStats()
            for stats in report.values():
                kind = getattr(stats, "type", None)
                if kind == "remote-inbound-rtp":
                    # Both stay None until the relay's first receiver report.
                    if stats.roundTripTime is not None:
                        rtts.append(stats.roundTripTime * 1000)
                    if stats.fractionLost is not None:
                        losses.append(stats.fractionLost)
                elif kind == "inbound-rtp":
                    lost, got = stats.packetsLost, stats.packetsReceived
                    base_lost, base_got = self._loss_base.get(stats.ssrc, (0, 0))
                    self._loss_base[stats.ssrc] = (lost, got)
                    window = (lost - base_lost) + (got - base_got)
                    if window > 0:
                        losses.append(max(0.0, (lost - base_lost) / window))
        return {"rtt_ms": max(rtts) if rtts else None,
                "loss": max(losses) if losses else None}

    async def _report(self, channel: Signalling, meeting_id: int) -> None:
        link = await self.link()
        reply = await channel.command("media.report", meeting_id, rtt_ms=link["rtt_ms"],
                                      loss=link["loss"])
        self.last_report = {**link, **reply}
        rtt = "?" if link["rtt_ms"] is None else f"{link['rtt_ms']:.0f}"
        loss = "?" if link["loss"] is None else f"{100 * link['loss']:.1f}"
        self.status(f"đường truyền / link: {reply['health']['level']}, rtt {rtt} ms, "
                    f"mất gói / loss {loss} %")

    # -- bookkeeping ---------------------------------------------------------------------

    def _watch(self, pc: RTCPeerConnection, name: str) -> RTCPeerConnection:
        self._pcs[name] = pc
        return pc

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _teardown(self) -> None:
        pcs, self._pcs = list(self._pcs.values()), {}
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for track in (self._video, self._audio):
            if track is not None:
                track.stop()
        self._video = self._audio = self._video_sender = None
        self._loss_base.clear()


def parse_server(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AgentError(f"--server must be an http(s) address, not {url!r}")
    return f"{parsed.scheme}://{parsed.netloc}"
