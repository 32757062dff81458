"""Uploading, rendering, caching and searching documents, as a secretary and delegates do."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pymupdf
import pytest
from PIL import Image, ImageChops, ImageStat

from tests import pdfs
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import Client, make_pdf


async def secretary(server: LiveServer) -> Client:
    client = server.client()
    await client.login("thu", PASSWORD)
    return client


def page_url(doc: dict[str, Any], page: int, width: int, fmt: str = "webp") -> str:
    return doc["page_url"].format(page=page, width=width, format=fmt)


async def test_upload_renders_every_page_and_reports_progress(
    server: LiveServer, meeting: Any
) -> None:
    async with await secretary(server) as sec:
        data = make_pdf([f"Trang số {n}" for n in range(1, 7)])
        response = await sec.upload(meeting["a"], data, title="Tờ trình", filename="to-trinh.pdf")
        assert response.status_code == 201, response.text
        doc = response.json()
        assert doc["page_count"] == 6 and doc["state"] in ("pending", "rendering", "ready")
        done = await sec.wait_ready(doc["id"])
        assert done["state"] == "ready" and done["pages_ready"] == 6
        assert [p["width"] for p in done["pages"]] == [595] * 6
        store = server.services.renderer.store
        for page in range(1, 7):
            for width in (*server.settings.prerender_widths, server.settings.thumbnail_width):
                assert store.page_path(doc["sha256"], page, width, "webp").exists()


async def test_the_same_file_is_stored_and_rendered_once(server: LiveServer, meeting: Any) -> None:
    async with await secretary(server) as sec:
        data = make_pdf(["Một lần thôi"])
        first = (await sec.upload(meeting["a"], data, title="Lần một")).json()
        await sec.wait_ready(first["id"])
        path = server.services.renderer.store.page_path(first["sha256"], 1, 1024, "webp")
        stamp = path.stat().st_mtime_ns
        second = (await sec.upload(meeting["a"], data, title="Lần hai")).json()
        assert second["sha256"] == first["sha256"] and second["id"] != first["id"]
        assert second["state"] == "ready"
        assert path.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("name, body, status, code", [
    ("empty", lambda: b"", 422, "empty_file"),
    ("png renamed .pdf", pdfs.png, 415, "not_pdf"),
    ("html", lambda: "<!doctype html><p>Tài liệu</p>".encode(), 415, "not_pdf"),
    ("html with a pdf signature", lambda: b"<html>%PDF-1.7 trap</html>", 422, "damaged"),
    ("encrypted", pdfs.encrypted, 422, "encrypted"),
    ("page-count bomb", lambda: pdfs.page_bomb(2000), 422, "too_many_pages"),
    ("oversized", lambda: b"%PDF-1.7\n" + b"0" * (9 * 1024 * 1024), 413, "too_large"),
])
async def test_bad_uploads_get_a_clear_error(
    server: LiveServer, meeting: Any, name: str, body: Any, status: int, code: str
) -> None:
    async with await secretary(server) as sec:
        before = (await sec.get(f"/api/meetings/{meeting['a']}/documents")).json()
        response = await sec.upload(meeting["a"], body(), filename=f"{name}.pdf")
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code and len(error["message"]) > 10
        assert (await sec.get(f"/api/meetings/{meeting['a']}/documents")).json() == before
        assert not list((server.settings.data_dir / "tmp").glob("*"))


@pytest.mark.parametrize("make", [pdfs.truncated, pdfs.broken_xref], ids=["truncated",
                                                                          "broken-xref"])
async def test_damaged_pdfs_are_repaired_or_refused(
    server: LiveServer, meeting: Any, make: Any
) -> None:
    async with await secretary(server) as sec:
        response = await sec.upload(meeting["a"], make(), filename="hong.pdf")
        if response.status_code == 201:
            doc = await sec.wait_ready(response.json()["id"])
            assert doc["state"] == "ready" and doc["repaired"] is True
            image = await sec.get(page_url(doc, 1, 800))
            assert image.status_code == 200
        else:
            assert response.status_code == 422
            assert response.json()["error"]["code"] == "damaged"


async def test_the_server_keeps_serving_while_hostile_files_arrive(
    server: LiveServer, meeting: Any
) -> None:
    async with await secretary(server) as sec, server.client() as delegate:
        await delegate.login("dbieu1", PASSWORD)
        bodies = [pdfs.page_bomb(2000), pdfs.encrypted(), pdfs.truncated(), pdfs.png(),
                  pdfs.broken_xref()]
        uploads = [asyncio.create_task(sec.upload(meeting["a"], b)) for b in bodies]
        served = 0
        while not all(u.done() for u in uploads) or served < 5:
            response = await delegate.get(f"/api/meetings/{meeting['a']}")
            assert response.status_code == 200
            served += 1
        statuses = [(await u).status_code for u in uploads]
        assert set(statuses) <= {201, 413, 415, 422}, statuses


def _decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _direct(pdf: bytes, page: int, width: int) -> Image.Image:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    p = doc[page - 1]
    zoom = width / p.rect.width
    pix = p.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


@pytest.mark.parametrize("fmt", ["webp", "jpg"])
async def test_rendered_pages_match_a_direct_render(
    server: LiveServer, meeting: Any, fmt: str
) -> None:
    data = pdfs.rotated_and_cropped()
    async with await secretary(server) as sec:
        doc = await sec.wait_ready((await sec.upload(meeting["a"], data)).json()["id"])
        assert [p["rotation"] for p in doc["pages"]] == [0, 90, 0]
        assert (doc["pages"][1]["width"], doc["pages"][1]["height"]) == (600, 400)
        assert (doc["pages"][2]["width"], doc["pages"][2]["height"]) == (290, 440)
        for page in (1, 2, 3):
            got = _decode((await sec.get(page_url(doc, page, 800, fmt))).content)
            want = _direct(data, page, 800)
            assert abs(got.width - want.width) <= 1 and abs(got.height - want.height) <= 1
            diff = ImageStat.Stat(ImageChops.difference(got.resize(want.size), want)).mean
            assert max(diff) < 6, (page, diff)


async def test_page_images_are_immutable_and_revalidate(server: LiveServer, meeting: Any) -> None:
    async with await secretary(server) as sec:
        doc = (await sec.get(f"/api/meetings/{meeting['a']}/documents")).json()[0]
        url = page_url(doc, 1, 1024)
        first = await sec.get(url)
        assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
        assert "immutable" in first.headers["cache-control"]
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        again = await sec.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
        other = await sec.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content
        # A width between buckets is sent to the bucket that covers it.
        snapped = await sec.get(page_url(doc, 1, 900), follow_redirects=False)
        assert snapped.status_code == 302 and snapped.headers["location"].endswith("/1024.webp")
        # A width bucket not pre-rendered is rendered on first request.
        on_demand = await sec.get(page_url(doc, 1, 480, "jpg"))
        assert on_demand.status_code == 200 and on_demand.content[:3] == b"\xff\xd8\xff"
        assert (await sec.get(page_url(doc, 99, 1024))).status_code == 404
        assert (await sec.get(page_url(doc, 1, 1024, "png"))).status_code == 404


async def test_page_text_and_search_with_and_without_diacritics(
    server: LiveServer, meeting: Any
) -> None:
    data = make_pdf(["Dự thảo Nghị quyết về ngân sách", "Kế hoạch đầu tư công",
                     "Nghỉ giải lao"])
    async with await secretary(server) as sec:
        doc = await sec.wait_ready((await sec.upload(meeting["a"], data)).json()["id"])
        text = (await sec.get(doc["text_url"].format(page=1))).json()
        assert "Nghị quyết" in text["text"]
        words = [w[4] for w in text["words"]]
        assert "Nghị" in words
        url = f"/api/meetings/{meeting['a']}/search"
        exact = (await sec.get(url, params={"q": "nghị quyết"})).json()
        assert [(h["document_id"], h["page"]) for h in exact["hits"]] == [(doc["id"], 1)]
        box = exact["hits"][0]["boxes"][0]
        assert len(box) == 2 and box[0][0] < box[1][0]
        folded = (await sec.get(url, params={"q": "nghi"})).json()
        assert {h["page"] for h in folded["hits"] if h["document_id"] == doc["id"]} == {1, 3}
        assert (await sec.get(url, params={"q": "x"})).status_code == 422


async def test_every_document_route_checks_who_asks(server: LiveServer, meeting: Any) -> None:
    """anonymous, another meeting's participant, a guest and a delegate, on each route."""
    async with await secretary(server) as sec:
        docs = {d["title"]: d for d in
                (await sec.get(f"/api/meetings/{meeting['a']}/documents")).json()}
    public, private = docs["Tài liệu công khai"], docs["Báo cáo nội bộ"]

    def routes(doc: dict[str, Any]) -> list[str]:
        return [f"/api/documents/{doc['id']}", f"/api/documents/{doc['id']}/pdf",
                page_url(doc, 1, 1024), page_url(doc, 1, 200),
                doc["text_url"].format(page=1)]

    expect = {  # who -> (status for the public doc, status for the private doc)
        "dbieu1": (200, 200), "khach": (200, 404), "b-dbieu1": (404, 404),
    }
    for who, (pub, priv) in expect.items():
        async with server.client() as c:
            await c.login(who, PASSWORD)
            for url in routes(public):
                assert (await c.get(url)).status_code == pub, (who, url)
            for url in routes(private):
                assert (await c.get(url)).status_code == priv, (who, url)
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        for url in routes(public) + routes(private):
            assert (await anonymous.get(url)).status_code == 401, url
    async with server.client() as c:
        await c.login("dbieu1", PASSWORD)
        for call in (c.patch(f"/api/documents/{public['id']}", json={"title": "x"}),
                     c.delete(f"/api/documents/{public['id']}"),
                     c.upload(meeting["a"], make_pdf(["x"]))):
            assert (await call).status_code == 403


async def test_secretary_edits_and_removes_documents(server: LiveServer, meeting: Any) -> None:
    async with await secretary(server) as sec:
        docs = (await sec.get(f"/api/meetings/{meeting['a']}/documents")).json()
        private = next(d for d in docs if not d["guest_visible"])
        changed = await sec.patch(f"/api/documents/{private['id']}",
                                  json={"title": "Báo cáo (sửa)", "guest_visible": True})
        assert changed.status_code == 200 and changed.json()["guest_visible"] is True
        async with server.client() as guest:
            await guest.login("khach", PASSWORD)
            assert (await guest.get(page_url(private, 1, 1024))).status_code == 200
        assert (await sec.delete(f"/api/documents/{private['id']}")).status_code == 204
        assert (await sec.get(f"/api/documents/{private['id']}")).status_code == 404
        pdf = await sec.get(docs[0]["pdf_url"])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "filename*=UTF-8''" in pdf.headers["content-disposition"]


async def test_the_same_new_file_uploaded_twice_at_once(server: LiveServer, meeting: Any) -> None:
    async with await secretary(server) as sec:
        data = make_pdf(["Hai người cùng tải lên"])
        first, second = await asyncio.gather(sec.upload(meeting["a"], data),
                                             sec.upload(meeting["a"], data))
        assert (first.status_code, second.status_code) == (201, 201), second.text
        assert first.json()["sha256"] == second.json()["sha256"]
        assert (await sec.wait_ready(first.json()["id"]))["state"] == "ready"


async def test_an_oversized_upload_is_refused_before_it_is_read(
    server: LiveServer, meeting: Any
) -> None:
    async with await secretary(server) as sec:
        cookie = "; ".join(f"{k}={v}" for k, v in sec.http.cookies.items())
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write((
            f"POST /api/meetings/{meeting['a']}/documents HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nCookie: {cookie}\r\n"
            f"X-CSRF-Token: {sec.csrf}\r\nContent-Type: application/pdf\r\n"
            f"Content-Length: {10**9}\r\n\r\n%PDF-1.7\n").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status_line.split()[1] == b"413"
