"""Documents: intake of an uploaded PDF, pre-rendering in the background, and search.

An upload is streamed to a temporary file while it is hashed, so a 100 MB PDF never sits
in memory. The content is then inspected in a render worker (a hostile file can hang or
crash MuPDF; the worker dies, the server does not). Content is keyed by SHA-256: the
same file uploaded again, to any meeting, is neither stored nor rendered twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.api import schemas
from server.config import Settings
from server.db.engine import Database
from server.db.models import Document, DocumentFile, IntakeState, PageText
from server.documents.errors import IntakeError, RenderError, unreadable
from server.documents.intake import InspectedPdf, looks_like_pdf
from server.documents.pipeline import Renderer
from server.documents.textsearch import find_matches, fold, snippet
from server.errors import ApiError
from server.services.access import Membership

log = logging.getLogger(__name__)

MAX_SEARCH_HITS = 100
# How often (in pages) rendering progress is written to the database.
PROGRESS_EVERY = 4


class DocumentService:
    def __init__(self, settings: Settings, db: Database, renderer: Renderer) -> None:
        self.settings = settings
        self.db = db
        self.renderer = renderer
        self.tmp_dir = settings.data_dir / "tmp"
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # ---- intake ---------------------------------------------------------------------

    async def receive(self, chunks: AsyncIterator[bytes]) -> tuple[Path, str, int]:
        """Stream an upload to a temporary file; returns (path, sha256, size).

        Refuses, as soon as it can tell, a body that is too large or does not start
        like a PDF, and removes what it wrote.
        """
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".upload")
        path = Path(name)
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.settings.max_upload_bytes:
                        raise IntakeError(
                            "too_large",
                            f"The file is larger than the limit of "
                            f"{self.settings.max_upload_bytes // (1024 * 1024)} MB.",
                            413,
                        )
                    if len(head) < 1024:
                        head += chunk[: 1024 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise IntakeError("empty_file", "The file is empty.", 422)
            if not looks_like_pdf(head):
                raise IntakeError("not_pdf", "This file is not a PDF. Upload a PDF document.",
                                  415)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, digest.hexdigest(), size

    async def intake(self, tmp: Path, sha256: str, size: int) -> DocumentFile:
        """Inspect and store the content of an upload, or reuse what is stored already."""
        try:
            async with self.db.read() as session:
                existing = await session.get(DocumentFile, sha256)
            if existing is not None and existing.state is not IntakeState.FAILED:
                return existing
            try:
                info: InspectedPdf = await self.renderer.inspect(str(tmp), self.settings.max_pages)
            except RenderError as error:
                raise unreadable(error) from error
            await self.renderer.store.put_pdf_from(tmp, sha256)
        finally:
            tmp.unlink(missing_ok=True)
        try:
            file = await self._record(sha256, size, info)
        except IntegrityError:
            # A simultaneous upload of the same new file recorded it first: use that.
            async with self.db.read() as session:
                stored = await session.get(DocumentFile, sha256)
            assert stored is not None
            return stored
        if info.repaired:
            log.warning("document %s was damaged and repaired by MuPDF", sha256[:12])
        return file

    async def _record(self, sha256: str, size: int, info: InspectedPdf) -> DocumentFile:
        async with self.db.write() as session:
            file = await session.get(DocumentFile, sha256)
            if file is None:
                file = DocumentFile(sha256=sha256, size=size)
                session.add(file)
            file.page_count = info.page_count
            file.pages = [
                {"width": p.width, "height": p.height, "rotation": p.rotation} for p in info.pages
            ]
            file.outline = [
                {"level": e.level, "title": e.title, "page": e.page} for e in info.outline
            ]
            file.page_labels = list(info.page_labels) if info.page_labels else None
            file.pdf_title = info.title
            file.repaired = info.repaired
            file.state = IntakeState.PENDING
            file.pages_ready = 0
            file.error_code = file.error_message = None
        return file

    # ---- pre-rendering ----------------------------------------------------------------

    def schedule_prerender(self, sha256: str) -> None:
        """Render every page in the background unless that is already under way."""
        task = self._tasks.get(sha256)
        if task is None or task.done():
            self._tasks[sha256] = asyncio.create_task(
                self._prerender(sha256), name=f"prerender-{sha256[:12]}"
            )

    async def wait_rendered(self, sha256: str) -> None:
        task = self._tasks.get(sha256)
        if task is not None:
            await asyncio.shield(task)

    async def _prerender(self, sha256: str) -> None:
        async with self.db.write() as session:
            file = await session.get(DocumentFile, sha256)
            if file is None or file.state is IntakeState.READY:
                return
            file.state = IntakeState.RENDERING
            page_count = file.page_count

        async def progress(done: int) -> None:
            if done % PROGRESS_EVERY == 0 or done == page_count:
                await self._set_progress(sha256, done)

        try:
            await self.renderer.prerender(sha256, page_count, progress)
            await self._index_text(sha256, page_count)
        except asyncio.CancelledError:
            raise
        except (RenderError, IntakeError) as error:
            log.warning("rendering %s failed: %s", sha256[:12], error.message)
            await self._set_failed(sha256, error.code, error.message)
            return
        except Exception:
            log.exception("rendering %s failed unexpectedly", sha256[:12])
            await self._set_failed(sha256, "render_failed", "The document could not be rendered.")
            return
        async with self.db.write() as session:
            file = await session.get(DocumentFile, sha256)
            if file is not None:
                file.state = IntakeState.READY
                file.pages_ready = page_count
        log.info("document %s ready (%d pages)", sha256[:12], page_count)

    async def _set_progress(self, sha256: str, done: int) -> None:
        async with self.db.write() as session:
            file = await session.get(DocumentFile, sha256)
            if file is not None:
                file.pages_ready = max(file.pages_ready, done)

    async def _set_failed(self, sha256: str, code: str, message: str) -> None:
        async with self.db.write() as session:
            file = await session.get(DocumentFile, sha256)
            if file is not None:
                file.state = IntakeState.FAILED
                file.error_code = code
                file.error_message = message

    async def _index_text(self, sha256: str, page_count: int) -> None:
        texts = [await self.renderer.page_text(sha256, n) for n in range(1, page_count + 1)]
        async with self.db.write() as session:
            await session.execute(delete(PageText).where(PageText.sha256 == sha256))
            session.add_all(
                PageText(sha256=sha256, page=n, text=t["text"], folded=fold(t["text"]))
                for n, t in enumerate(texts, start=1)
            )

    async def resume(self) -> None:
        """After a restart, finish rendering what was interrupted."""
        async with self.db.read() as session:
            unfinished = (await session.execute(
                select(DocumentFile.sha256).where(
                    DocumentFile.state.in_([IntakeState.PENDING, IntakeState.RENDERING])
                )
            )).scalars().all()
        for sha256 in unfinished:
            self.schedule_prerender(sha256)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    # ---- attaching to a meeting ---------------------------------------------------------

    @staticmethod
    async def attach(
        session: AsyncSession, member: Membership, file: DocumentFile, *, title: str,
        filename: str, agenda_item_id: int | None, guest_visible: bool, user_id: int | None,
    ) -> Document:
        last = (await session.execute(select(func.max(Document.position)).where(
            Document.meeting_id == member.meeting.id))).scalar_one()
        document = Document(
            meeting_id=member.meeting.id, agenda_item_id=agenda_item_id, sha256=file.sha256,
            title=title, original_filename=filename, position=(last or 0) + 1,
            guest_visible=guest_visible, uploaded_by=user_id,
        )
        session.add(document)
        await session.flush()
        return document

    # ---- search ------------------------------------------------------------------------

    async def search(
        self, session: AsyncSession, member: Membership, query: str
    ) -> schemas.SearchOut:
        """Pages of the meeting's documents containing the query, with word boxes.

        The database narrows the pages with the folded text (no case, no diacritics);
        the word-level match then honours any diacritics the query does have.
        """
        folded = fold(query)
        if len(folded) < 2:
            raise ApiError(422, "invalid", "Search for at least two letters.")
        pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await session.execute(
            select(Document, PageText.page, PageText.text)
            .join(PageText, PageText.sha256 == Document.sha256)
            .where(Document.meeting_id == member.meeting.id,
                   PageText.folded.like(pattern, escape="\\"))
            .order_by(Document.position, Document.id, PageText.page)
        )
        hits: list[schemas.SearchHit] = []
        truncated = False
        labels: dict[str, list[str] | None] = {}
        for document, page, text in rows:
            if not member.sees_document(document):
                continue
            if document.sha256 not in labels:
                file = await session.get(DocumentFile, document.sha256)
                labels[document.sha256] = file.page_labels if file else None
            words = (await self.renderer.page_text(document.sha256, page))["words"]
            matches = find_matches(words, query)
            if not matches:
                continue
            if len(hits) == MAX_SEARCH_HITS:
                truncated = True
                break
            hits.append(schemas.SearchHit(
                document_id=document.id, document_title=document.title, page=page,
                page_label=_label(labels[document.sha256], page),
                snippet=snippet(text, query),
                boxes=[[list(box) for box in match] for match in matches],
            ))
        return schemas.SearchOut(query=query, hits=hits, truncated=truncated)


def _label(labels: list[str] | None, page: int) -> str | None:
    return labels[page - 1] if labels and page <= len(labels) else None
