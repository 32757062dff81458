"""The renderer as the server uses it: uploads are inspected, pages rendered once."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import documents_samples as samples
import pymupdf
import pytest
from PIL import Image

from server.documents import render
from server.documents.errors import IntakeError, PrerenderError, RenderError
from server.documents.pipeline import Renderer
from server.documents.pool import RenderPool
from server.documents.store import PageStore, sha256_file

pytestmark = pytest.mark.slow


class JobLog:
    """Wraps pool.run to record each job, and to fail chosen pages on purpose."""

    def __init__(self, pool: RenderPool) -> None:
        self.run = pool.run
        self.calls: list[tuple[Any, ...]] = []
        self.failing_pages: set[int] = set()

    async def __call__(self, fn: Any, *args: Any, timeout: float | None = None) -> Any:
        self.calls.append((fn.__name__, *args))
        if fn is render.page_outputs and args[1] in self.failing_pages:
            raise RenderError("render_crashed", "The renderer stopped unexpectedly.")
        return await self.run(fn, *args, timeout=timeout)

    def rendered(self) -> list[tuple[int, int, str]]:
        """(page, width, fmt) of every image that was rendered."""
        return [
            (call[2], width, fmt)
            for call in self.calls if call[0] == "page_outputs"
            for width, fmt in call[3]
        ]


@pytest.fixture
def store(tmp_path: Path) -> PageStore:
    return PageStore(tmp_path / "data")


@pytest.fixture
async def jobs(pool: RenderPool, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[JobLog]:
    log = JobLog(pool)
    monkeypatch.setattr(pool, "run", log)
    yield log


@pytest.fixture
def renderer(pool: RenderPool, store: PageStore, jobs: JobLog) -> Renderer:
    return Renderer(pool, store, widths=(200, 480, 800), prerender_widths=(480,),
                    thumbnail_width=200)


@pytest.fixture
async def sha(store: PageStore, tmp_path: Path) -> str:
    upload = samples.text_pdf(tmp_path / "upload.pdf")
    digest = sha256_file(upload)
    await store.put_pdf_from(upload, digest)
    return digest


async def until(predicate: Callable[[], bool], deadline: float = 10.0) -> None:
    async with asyncio.timeout(deadline):
        while not predicate():
            await asyncio.sleep(0.01)


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return image.size


def test_requested_width_snaps_up_to_a_bucket(renderer: Renderer) -> None:
    assert [renderer.snap_width(w) for w in (1, 200, 201, 799, 800, 5000)] == [
        200, 200, 480, 800, 800, 800,
    ]


def test_upload_widths_must_be_buckets(pool: RenderPool, store: PageStore) -> None:
    with pytest.raises(ValueError):
        Renderer(pool, store, widths=(200, 800), prerender_widths=(1024,), thumbnail_width=200)


async def test_page_is_rendered_on_first_request_then_served_from_disk(
    renderer: Renderer, jobs: JobLog, sha: str
) -> None:
    path = await renderer.page_file(sha, 2, 800, "jpeg")

    assert path == renderer.store.page_path(sha, 2, 800, "jpeg")
    assert image_size(path) == (800, round(842 * 800 / 595))
    assert await renderer.page_file(sha, 2, 800, "jpeg") == path
    assert jobs.rendered() == [(2, 800, "jpeg")]


async def test_ten_delegates_opening_one_page_cause_one_render(
    renderer: Renderer, jobs: JobLog, sha: str
) -> None:
    paths = await asyncio.gather(*(renderer.page_file(sha, 1, 480, "webp") for _ in range(10)))

    assert len(set(paths)) == 1
    assert len(jobs.calls) == 1


async def test_delegate_leaving_does_not_cancel_the_render_others_wait_for(
    renderer: Renderer, jobs: JobLog, sha: str
) -> None:
    leaving = asyncio.create_task(renderer.page_file(sha, 1, 800, "webp"))
    await until(lambda: len(jobs.calls) == 1)  # the render has started for `leaving`
    staying = asyncio.create_task(renderer.page_file(sha, 1, 800, "webp"))
    leaving.cancel()

    path = await staying

    assert leaving.cancelled()
    assert path.is_file()
    assert len(jobs.calls) == 1


async def test_bad_requests_are_refused_before_any_work(renderer: Renderer, sha: str) -> None:
    for width, fmt, page in [(300, "webp", 1), (200, "gif", 1), (200, "webp", 0)]:
        with pytest.raises(ValueError):
            await renderer.page_file(sha, page, width, fmt)


async def test_page_that_does_not_exist_is_a_render_error(renderer: Renderer, sha: str) -> None:
    with pytest.raises(RenderError) as caught:
        await renderer.page_file(sha, 9, 200, "webp")
    assert caught.value.code == "no_such_page"


async def test_prerender_prepares_every_page_in_order(
    renderer: Renderer, jobs: JobLog, store: PageStore, sha: str
) -> None:
    progress: list[int] = []

    async def on_progress(done: int) -> None:
        progress.append(done)

    await renderer.prerender(sha, 3, on_progress)

    assert progress == [1, 2, 3]
    for page in (1, 2, 3):
        assert image_size(store.page_path(sha, page, 200, "webp"))[0] == 200
        assert image_size(store.page_path(sha, page, 480, "webp"))[0] == 480
        assert store.text_path(sha, page).is_file()
    assert len(jobs.calls) == 3  # one job per page: both widths and the text


async def test_same_document_uploaded_again_is_not_rendered_again(
    renderer: Renderer, jobs: JobLog, sha: str
) -> None:
    await renderer.prerender(sha, 3)
    jobs.calls.clear()
    progress: list[int] = []

    async def on_progress(done: int) -> None:
        progress.append(done)

    await renderer.prerender(sha, 3, on_progress)

    assert jobs.calls == []
    assert progress == [1, 2, 3]


async def test_delegates_browsing_during_prerender_share_its_renders(
    renderer: Renderer, jobs: JobLog, sha: str
) -> None:
    await asyncio.gather(
        renderer.prerender(sha, 3),
        *(renderer.page_file(sha, page, 480, "webp") for page in (1, 2, 3, 1, 2, 3)),
        *(renderer.page_text(sha, page) for page in (3, 2, 1)),
    )

    rendered = jobs.rendered()
    assert sorted(rendered) == sorted(set(rendered))  # no image rendered twice
    assert len(rendered) == 6
    assert sum(1 for call in jobs.calls if call[4]) == 3  # text extracted once per page


async def test_failed_page_is_reported_after_the_others_are_done(
    renderer: Renderer, jobs: JobLog, store: PageStore, sha: str
) -> None:
    jobs.failing_pages = {2}
    progress: list[int] = []

    async def on_progress(done: int) -> None:
        progress.append(done)

    with pytest.raises(PrerenderError) as caught:
        await renderer.prerender(sha, 3, on_progress)

    assert list(caught.value.failures) == [2]
    assert caught.value.code == "pages_failed"
    assert "Pages 2 " in caught.value.message
    assert progress == [1, 2, 3]
    assert store.page_path(sha, 3, 480, "webp").is_file()
    assert not store.page_path(sha, 2, 480, "webp").exists()


async def test_page_text_is_extracted_once_and_kept(
    renderer: Renderer, jobs: JobLog, store: PageStore, sha: str
) -> None:
    text = await renderer.page_text(sha, 1)

    assert text["text"].splitlines()[1] == samples.LINES[0]
    assert text["words"][0][4] == "Trang"
    assert store.text_path(sha, 1).is_file()
    assert await renderer.page_text(sha, 1) == text
    assert len(jobs.calls) == 1


async def test_upload_is_inspected_in_a_worker(renderer: Renderer, tmp_path: Path) -> None:
    info = await renderer.inspect(samples.text_pdf(tmp_path / "a.pdf"), 2000)
    assert info.page_count == 3

    doc = pymupdf.open()
    doc.new_page()
    doc.save(tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="x")
    with pytest.raises(IntakeError) as caught:
        await renderer.inspect(tmp_path / "locked.pdf", 2000)
    assert caught.value.code == "encrypted"


async def test_upload_that_defeats_the_reader_is_an_intake_error(
    renderer: Renderer, jobs: JobLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stuck(*args: Any, timeout: float | None = None) -> Any:
        raise RenderError("render_timeout", "Drawing took longer than 60 s and was stopped.")

    monkeypatch.setattr(jobs, "run", stuck)

    with pytest.raises(IntakeError) as caught:
        await renderer.inspect(tmp_path / "any.pdf", 2000)

    assert (caught.value.code, caught.value.status) == ("render_timeout", 422)
    assert "took too long" in caught.value.message
