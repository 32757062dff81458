"""Documents over HTTP: upload, metadata, page images, page text, search.

Page images and page text are addressed by content (`/api/files/{sha256}/...`): the URL
of a rendered page never changes meaning, so it is cached by browsers for a year and
revalidates with `304`. A content address is not a secret: every request is still
checked against the caller's meetings.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from server.api import schemas
from server.api.deps import (
    client_address,
    optional_identity,
    path_int,
    reply,
    require_identity,
    services,
)
from server.api.registry import Endpoint, Param
from server.db.models import Document, DocumentFile, IntakeState
from server.documents.errors import IntakeError
from server.errors import ApiError, invalid, not_found, unauthenticated
from server.security.credentials import Identity
from server.services import access, annotation, audit, meetings

# Bump when the renderer's output changes, so cached images are not reused across it.
RENDER_VERSION = 1
IMMUTABLE = "private, max-age=31536000, immutable"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FORMATS = {"webp": "image/webp", "jpg": "image/jpeg"}


async def upload(request: Request) -> Response:
    """Upload a PDF (the request body, `Content-Type: application/pdf`) to a meeting."""
    identity = await require_identity(request)
    svc = services(request)
    meeting_id = path_int(request, "meeting_id")
    params = request.query_params
    filename = (params.get("filename") or "tai-lieu.pdf").strip()[:300]
    title = (params.get("title") or filename.rsplit(".", 1)[0]).strip()[:500]
    guest_visible = params.get("guest_visible", "false").lower() in {"1", "true", "yes"}
    agenda_item_id = None
    if params.get("agenda_item_id"):
        try:
            agenda_item_id = int(params["agenda_item_id"])
        except ValueError:
            raise invalid("agenda_item_id must be a number.") from None
    if request.headers.get("content-type", "").split(";")[0].strip() not in (
        "application/pdf", "application/octet-stream"
    ):
        raise ApiError(415, "unsupported_media_type",
                       "Send the PDF itself as the request body (Content-Type: application/pdf).")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > svc.settings.max_upload_bytes:
        raise IntakeError("too_large", "The file is larger than the limit of "
                          f"{svc.settings.max_upload_bytes // (1024 * 1024)} MB.", 413)
    async with svc.db.read() as session:
        member = await access.editable(session, identity, meeting_id)
        if agenda_item_id is not None:
            await meetings.get_item(session, meeting_id, agenda_item_id)
    tmp, sha256, size = await svc.documents.receive(request.stream())
    file = await svc.documents.intake(tmp, sha256, size)
    async with svc.db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        document = await svc.documents.attach(
            session, member, file, title=title, filename=filename, agenda_item_id=agenda_item_id,
            guest_visible=guest_visible, user_id=identity.user_id)
        audit.record(session, "document_uploaded", user_id=identity.user_id,
                     meeting_id=meeting_id, target=str(document.id),
                     address=client_address(request), sha256=sha256, filename=filename,
                     pages=file.page_count, repaired=file.repaired)
    if file.state is not IntakeState.READY:
        svc.documents.schedule_prerender(sha256)
    svc.file_access.forget()
    return reply(meetings.document_out(document, file), 201)


async def _document(request: Request, identity: Identity, *, edit: bool = False
                    ) -> tuple[Document, DocumentFile, access.Membership]:
    async with services(request).db.read() as session:
        row = (await session.execute(
            select(Document, DocumentFile).join(DocumentFile)
            .where(Document.id == path_int(request, "document_id")))).first()
        if row is None:
            raise not_found("That document")
        document, file = row
        member = await access.membership(session, identity, document.meeting_id)
        if not member.sees_document(document):
            raise not_found("That document")
        if edit and not member.can_edit:
            raise ApiError(403, "forbidden", "Only the meeting's secretary can change documents.")
    return document, file, member


async def list_documents(request: Request) -> Response:
    """The meeting's documents with their intake state."""
    identity = await require_identity(request)
    async with services(request).db.read() as session:
        member = await access.membership(session, identity, path_int(request, "meeting_id"))
        documents = await meetings.visible_documents(session, member)
    return reply([meetings.document_out(d, f) for d, f in documents])


async def get_document(request: Request) -> Response:
    """A document with its pages (sizes, rotation, labels) and outline."""
    identity = await require_identity(request)
    document, file, _ = await _document(request, identity)
    return reply(meetings.document_detail(document, file))


async def update_document(request: Request, body: schemas.DocumentUpdate) -> Response:
    """Rename a document, move it on the agenda, or change who sees it."""
    identity = await require_identity(request)
    document, _, member = await _document(request, identity, edit=True)
    svc = services(request)
    async with svc.db.write() as session:
        changes = body.model_dump(exclude_unset=True)
        if changes.get("agenda_item_id") is not None:
            await meetings.get_item(session, member.meeting.id, changes["agenda_item_id"])
        row = await session.get(Document, document.id)
        assert row is not None
        meetings.apply_changes(row, changes, nullable={"agenda_item_id"})
        audit.record(session, "document_updated", user_id=identity.user_id,
                     meeting_id=member.meeting.id, target=str(document.id),
                     address=client_address(request), **body.model_dump(exclude_unset=True))
        file = await session.get(DocumentFile, row.sha256)
        assert file is not None
        out = meetings.document_out(row, file)
    svc.file_access.forget()
    return reply(out)


async def delete_document(request: Request) -> Response:
    """Take a document out of the meeting (its stored content stays for other meetings)."""
    identity = await require_identity(request)
    document, _, member = await _document(request, identity, edit=True)
    svc = services(request)
    async with svc.db.write() as session:
        row = await session.get(Document, document.id)
        if row is not None:
            await session.delete(row)
        audit.record(session, "document_removed", user_id=identity.user_id,
                     meeting_id=member.meeting.id, target=str(document.id),
                     address=client_address(request), sha256=document.sha256)
    svc.file_access.forget()
    return reply(None)


async def download_pdf(request: Request) -> Response:
    """The original PDF."""
    identity = await require_identity(request)
    document, file, _ = await _document(request, identity)
    path = services(request).renderer.store.pdf_path(file.sha256)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", document.original_filename) or "document.pdf"
    disposition = (f"attachment; filename=\"{ascii_name}\"; "
                   f"filename*=UTF-8''{quote(document.original_filename)}")
    return FileResponse(path, media_type="application/pdf", headers={
        "Content-Disposition": disposition, "ETag": f'"{file.sha256}"',
        "Cache-Control": IMMUTABLE,
    })


async def _file_for(request: Request) -> tuple[str, int]:
    """Check access to a content-addressed file; returns (sha256, page)."""
    sha256 = request.path_params["sha256"]
    page = path_int(request, "page")
    if not SHA256.match(sha256):
        raise not_found("That page")
    identity = await optional_identity(request)
    if identity is None:
        raise unauthenticated()
    svc = services(request)
    page_count = await _page_count(request, sha256)
    async with svc.db.read() as session:
        allowed = await svc.file_access.allowed(session, identity, sha256)
    if not allowed or page_count is None or not 1 <= page <= page_count:
        raise not_found("That page")
    return sha256, page


async def _page_count(request: Request, sha256: str) -> int | None:
    # A file's page count never changes once inspected: remember it per process.
    counts: dict[str, int] = request.app.state.page_counts
    if sha256 not in counts:
        async with services(request).db.read() as session:
            file = await session.get(DocumentFile, sha256)
        if file is None:
            return None
        counts[sha256] = file.page_count
    return counts[sha256]


def _not_modified(request: Request, etag: str) -> bool:
    sent = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, "*") for tag in sent.split(","))


async def page_image(request: Request) -> Response:
    """A rendered page: WebP or JPEG, `width` one of the meeting's page widths."""
    sha256, page = await _file_for(request)
    svc = services(request)
    width = path_int(request, "width")
    fmt = request.path_params["format"]
    if fmt not in FORMATS:
        raise not_found("That page format")
    bucket = svc.renderer.snap_width(width)
    if bucket != width:
        return RedirectResponse(f"/api/files/{sha256}/pages/{page}/{bucket}.{fmt}", 302)
    etag = f'"{sha256[:24]}-{page}-{width}-{fmt}-r{RENDER_VERSION}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    path = await svc.renderer.page_file(sha256, page, width, "jpeg" if fmt == "jpg" else fmt)
    return FileResponse(path, media_type=FORMATS[fmt], headers=headers)


async def page_text(request: Request) -> Response:
    """A page's text and word boxes (PDF points of the page as displayed)."""
    sha256, page = await _file_for(request)
    etag = f'"{sha256[:24]}-{page}-text-r{RENDER_VERSION}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    text = await services(request).renderer.page_text(sha256, page)
    return Response(json.dumps(text, ensure_ascii=False), media_type="application/json",
                    headers=headers)


async def search(request: Request) -> Response:
    """Search the meeting's documents (with or without Vietnamese diacritics)."""
    identity = await require_identity(request)
    query = request.query_params.get("q", "").strip()[:200]
    svc = services(request)
    async with svc.db.read() as session:
        member = await access.membership(session, identity, path_int(request, "meeting_id"))
        return reply(await svc.documents.search(session, member, query))


async def document_annotations(request: Request) -> Response:
    """The annotations on a document (or one `page` of it) that the caller may see."""
    identity = await require_identity(request)
    document, _, member = await _document(request, identity)
    page = request.query_params.get("page")
    if page is not None and not page.isdigit():
        raise invalid("page must be a page number.")
    async with services(request).db.read() as session:
        items = await annotation.on_page(session, document.meeting_id, document.id,
                                          int(page) if page else None, identity.user_id,
                                          member.role, identity.is_admin)
    return JSONResponse(items)


def intake_error(error: IntakeError) -> ApiError:
    return ApiError(error.status, error.code, error.message)


M = "/api/meetings/{meeting_id:int}"
D = "/api/documents/{document_id:int}"
F = "/api/files/{sha256}/pages/{page:int}"
ENDPOINTS = [
    Endpoint("POST", M + "/documents", upload, "Upload a PDF", "documents",
             response=schemas.DocumentOut, status=201, raw_body="application/pdf",
             query=(Param("title", "The document's title (default: the file name)."),
                    Param("filename", "The original file name."),
                    Param("agenda_item_id", "Attach to this agenda item.",
                          schema=(("type", "integer"),)),
                    Param("guest_visible", "true to show it to guests.",
                          schema=(("type", "boolean"),)))),
    Endpoint("GET", M + "/documents", list_documents, "The meeting's documents", "documents",
             response=schemas.DocumentOut, response_is_list=True),
    Endpoint("GET", M + "/search", search, "Search the meeting's documents", "documents",
             response=schemas.SearchOut, query=(Param("q", "What to look for.", True),)),
    Endpoint("GET", D, get_document, "A document with its pages", "documents",
             response=schemas.DocumentDetail),
    Endpoint("PATCH", D, update_document, "Edit a document", "documents",
             body=schemas.DocumentUpdate, response=schemas.DocumentOut),
    Endpoint("DELETE", D, delete_document, "Remove a document from its meeting", "documents",
             status=204),
    Endpoint("GET", D + "/annotations", document_annotations, "Annotations on a document",
             "documents", query=(Param("page", "Only this page.",
                                       schema=(("type", "integer"),)),)),
    Endpoint("GET", D + "/pdf", download_pdf, "Download the original PDF", "documents",
             produces="application/pdf"),
    Endpoint("GET", F + "/{width:int}.{format}", page_image, "A rendered page image", "pages",
             produces="image/webp"),
    Endpoint("GET", F + "/text.json", page_text, "A page's text with word boxes", "pages"),
]
