"""The server's one door to the PDF engine: inspect uploads, serve and pre-render pages.

Every cached file is produced by one pool job at a time: the first request for a file
starts the job and registers a future per output file; anyone else asking meanwhile
(another delegate, or pre-rendering) waits on that future. Jobs run as tasks of their
own, so a delegate who closes the page does not cancel the render others wait for.

Workers return encoded images and the server writes them (in a thread, atomically):
a 400 KB result costs 0.6 ms more per job than an empty one, against 60-130 ms of WebP
encoding, and a worker killed mid-job can leave no half-written file behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from server.documents import errors, render
from server.documents.errors import PrerenderError, RenderError
from server.documents.intake import InspectedPdf, inspect_pdf
from server.documents.pool import RenderPool
from server.documents.store import PageStore, write_atomic

logger = logging.getLogger(__name__)

CLIENT_FORMATS = ("webp", "jpeg")
PRERENDER_FORMAT = "webp"

# ("image", sha, page, width, fmt) or ("text", sha, page)
_Key = tuple[Any, ...]


class Renderer:
    def __init__(
        self,
        pool: RenderPool,
        store: PageStore,
        widths: tuple[int, ...],
        prerender_widths: tuple[int, ...],
        thumbnail_width: int,
        quality: int = 80,
        max_pixels: int = 16_000_000,
    ) -> None:
        self.pool = pool
        self.store = store
        self.widths = tuple(sorted(set(widths)))
        if not self.widths:
            raise ValueError("at least one page width is needed")
        upload_widths = {*prerender_widths, thumbnail_width}
        if not upload_widths <= set(self.widths):
            raise ValueError("pre-render and thumbnail widths must be among the page widths")
        # Smallest first: the thumbnail strip fills in before the big images.
        self.upload_widths = tuple(sorted(upload_widths))
        self.quality = quality
        self.max_pixels = max_pixels
        self._inflight: dict[_Key, asyncio.Future[Path]] = {}
        self._jobs: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Stop the renders still running (at server shutdown; close the pool after)."""
        for task in list(self._jobs):
            task.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)

    def snap_width(self, requested: int) -> int:
        """The smallest width bucket at least `requested`, else the largest bucket."""
        for width in self.widths:
            if width >= requested:
                return width
        return self.widths[-1]

    async def inspect(self, pdf_path: Path | str, max_pages: int) -> InspectedPdf:
        """Check an upload in a worker; every refusal is an IntakeError."""
        try:
            return await self.pool.run(inspect_pdf, str(pdf_path), max_pages)
        except RenderError as exc:
            raise errors.unreadable(exc) from exc

    async def page_file(self, sha: str, page: int, width: int, fmt: str) -> Path:
        """The cached image of a page, rendered now if it is not cached yet."""
        if width not in self.widths:
            raise ValueError(f"width {width} is not one of {self.widths}")
        if fmt not in CLIENT_FORMATS:
            raise ValueError(f"format {fmt!r} is not one of {CLIENT_FORMATS}")
        _check_page(page)
        path = self.store.page_path(sha, page, width, fmt)
        return await self._obtain(sha, page, [(width, fmt)], with_text=False, paths=[path])

    async def page_text(self, sha: str, page: int) -> dict[str, Any]:
        """Text and word boxes of a page: {"width", "height", "text", "words"}."""
        _check_page(page)
        path = self.store.text_path(sha, page)
        await self._obtain(sha, page, [], with_text=True, paths=[path])
        data: dict[str, Any] = json.loads(await asyncio.to_thread(path.read_bytes))
        return data

    async def prerender(
        self,
        sha: str,
        page_count: int,
        on_progress: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """Render every page at the upload widths (WebP) and extract its text.

        Pages start in order, at most one per worker at a time, and `on_progress(n)` is
        awaited each time pages 1..n are all finished. A page that fails does not stop
        the others; at the end PrerenderError lists the failed pages.
        """
        failures: dict[int, RenderError] = {}
        finished: set[int] = set()
        running: dict[asyncio.Task[None], int] = {}
        next_page, reported = 1, 0
        try:
            while reported < page_count:
                while next_page <= page_count and len(running) < self.pool.workers:
                    task = asyncio.create_task(self._prerender_page(sha, next_page))
                    running[task] = next_page
                    next_page += 1
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    page = running.pop(task)
                    exc = task.exception()
                    if isinstance(exc, RenderError):
                        logger.warning("page %s of %s failed to render: %s", page, sha, exc)
                        failures[page] = exc
                    elif exc is not None:
                        raise exc
                    finished.add(page)
                while reported + 1 in finished:
                    reported += 1
                    if on_progress is not None:
                        await on_progress(reported)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if failures:
            raise PrerenderError(failures)

    async def _prerender_page(self, sha: str, page: int) -> None:
        images = [(width, PRERENDER_FORMAT) for width in self.upload_widths]
        paths = [self.store.page_path(sha, page, w, f) for w, f in images]
        paths.append(self.store.text_path(sha, page))
        await self._obtain(sha, page, images, with_text=True, paths=paths)

    async def _obtain(
        self,
        sha: str,
        page: int,
        images: list[tuple[int, str]],
        with_text: bool,
        paths: list[Path],
    ) -> Path:
        """Make sure the given outputs of one page exist; return the first one's path.

        `paths` are the files for `images` and then (if with_text) the text file.
        """
        keys: list[_Key] = [("image", sha, page, w, f) for w, f in images]
        if with_text:
            keys.append(("text", sha, page))
        unclaimed = [(k, p) for k, p in zip(keys, paths, strict=True) if k not in self._inflight]
        if unclaimed:
            there = await asyncio.to_thread(lambda: [p.is_file() for _, p in unclaimed])
            # Check the claims again: another request may have started a job meanwhile.
            missing = [
                (k, p) for (k, p), exists in zip(unclaimed, there, strict=True)
                if not exists and k not in self._inflight
            ]
            if missing:
                self._start(sha, page, missing)
        for future in [self._inflight[k] for k in keys if k in self._inflight]:
            await asyncio.shield(future)
        return paths[0]

    def _start(self, sha: str, page: int, outputs: list[tuple[_Key, Path]]) -> None:
        """Claim `outputs` of one page and start the one pool job that produces them."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Path]] = []
        for key, _ in outputs:
            future: asyncio.Future[Path] = loop.create_future()
            # Retrieve the outcome even if every waiter has gone, so a failure is not
            # reported again as "exception was never retrieved".
            future.add_done_callback(_consume)
            self._inflight[key] = future
            futures.append(future)
        self._detach(self._produce(sha, page, outputs, futures))

    def _detach(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._jobs.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._jobs.discard)

    async def _produce(
        self,
        sha: str,
        page: int,
        outputs: list[tuple[_Key, Path]],
        futures: list[asyncio.Future[Path]],
    ) -> None:
        images = [(key[3], key[4]) for key, _ in outputs if key[0] == "image"]
        with_text = any(key[0] == "text" for key, _ in outputs)
        try:
            rendered, text = await self.pool.run(
                render.page_outputs,
                str(self.store.pdf_path(sha)),
                page,
                images,
                with_text,
                self.quality,
                self.max_pixels,
            )
            files = [p for key, p in outputs if key[0] == "image"]
            blobs: list[tuple[Path, bytes | dict[str, Any]]] = []
            blobs += zip(files, rendered, strict=True)
            if text is not None:
                blobs += [(p, text) for key, p in outputs if key[0] == "text"]
            await asyncio.to_thread(_write_all, blobs)
        except BaseException as exc:
            for future in futures:
                if not future.done():
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for future, (_, path) in zip(futures, outputs, strict=True):
                future.set_result(path)
        finally:
            for key, _ in outputs:
                self._inflight.pop(key, None)


def _check_page(page: int) -> None:
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")


def _consume(future: asyncio.Future[Path]) -> None:
    if not future.cancelled():
        future.exception()


def _write_all(blobs: Iterable[tuple[Path, bytes | dict[str, Any]]]) -> None:
    for path, data in blobs:
        if isinstance(data, dict):
            data = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        write_atomic(path, data)
