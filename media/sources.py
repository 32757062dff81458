"""A test pattern and a tone: what a site publishes without a camera and a microphone."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time

from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

TONE_RATE = 48_000
TONE_SAMPLES = 960  # 20 ms
TONE_HZ = 400  # 120 samples a period: a 20 ms frame holds exactly eight


class TestPattern(VideoStreamTrack):
    """Grey bars with a bright band moving across, at 30 frames a second.

    The band moves so that the encoder has something to encode (a still image compresses
    to almost nothing, and would hide bandwidth and CPU costs).
    """

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        if width % 2 or height % 2 or width < 16 or height < 16:
            raise ValueError(f"a test pattern needs even sides of 16 or more: {width}x{height}")
        self.width, self.height = width, height
        self.frames = 0
        bars = bytes(32 + (x * 8 // width) * 24 for x in range(width))
        self._rows = bars * height
        self._chroma = bytes([128]) * (width // 2 * height // 2)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        band = (self.frames * 4) % self.height
        rows = min(16, self.height - band)
        luma = bytearray(self._rows)
        start = band * self.width
        luma[start:start + rows * self.width] = b"\xeb" * (rows * self.width)
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class Tone(AudioStreamTrack):
    """A quiet 400 Hz sine, 48 kHz mono, in 20 ms frames, paced in real time."""

    def __init__(self, level: float = 0.2) -> None:
        super().__init__()
        if not 0 <= level <= 1:
            raise ValueError(f"tone level {level} is not between 0 and 1")
        samples = array.array("h", (int(level * 32767 * math.sin(2 * math.pi * TONE_HZ * i
                                                                  / TONE_RATE))
                                    for i in range(TONE_SAMPLES)))
        self._pcm = samples.tobytes()
        self._began: float | None = None
        self._sent = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._began is None:
            self._began = time.time()
        else:
            wait = self._began + (self._sent + TONE_SAMPLES) / TONE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._sent += TONE_SAMPLES
        frame = AudioFrame(format="s16", layout="mono", samples=TONE_SAMPLES)
        frame.planes[0].update(self._pcm)
        frame.pts, frame.sample_rate = self._sent, TONE_RATE
        frame.time_base = fractions.Fraction(1, TONE_RATE)
        return frame
