"""The secretary prepares the meeting: uploads a PDF, adds an agenda item. A delegate
cannot prepare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import FilePayload, expect

from tests.e2e.conftest import OpenAs
from tests.helpers import make_pdf


async def test_secretary_uploads_a_pdf_and_adds_an_item_a_delegate_cannot_prepare(
    open_page: OpenAs, meeting: dict[str, Any], tmp_path: Path
) -> None:
    secretary = await open_page("thu")
    await secretary.locator(f'.meeting-card[data-meeting-id="{meeting["a"]}"] a.stretched').click()
    await secretary.get_by_test_id("prepare-link").click()
    await expect(secretary.locator(".view-prepare h1")).to_have_text("Kỳ họp thử hop-a")

    # A file that is not a PDF: the server's reason is shown behind our lead-in.
    await secretary.locator("#upload-file").set_input_files(FilePayload(
        name="khong-phai.pdf", mimeType="application/pdf", buffer=b"not a pdf at all"))
    await secretary.get_by_role("button", name="Tải lên").click()
    await expect(secretary.get_by_test_id("status")).to_contain_text("Máy chủ không nhận tệp:")

    pdf = tmp_path / "to-trinh.pdf"
    pdf.write_bytes(make_pdf([f"Tờ trình trang {n}" for n in range(1, 7)]))
    await secretary.locator("#upload-file").set_input_files(pdf)
    await secretary.locator("#upload-title").fill("Tờ trình số 12")
    await secretary.locator("#upload-item").select_option(label="2. Báo cáo")
    await secretary.get_by_role("button", name="Tải lên").click()
    row = secretary.locator(".doc-row", has_text="Tờ trình số 12")
    await expect(row.get_by_test_id("doc-state")).to_have_text("Sẵn sàng", timeout=30_000)
    await expect(row).to_contain_text("to-trinh.pdf")
    await expect(row.locator("select option:checked")).to_have_text("2. Báo cáo")

    await secretary.locator("#new-item-title").fill("Bầu bổ sung Ủy viên Thường trực")
    await secretary.locator("#new-item-duration").fill("15")
    await secretary.get_by_role("button", name="Thêm", exact=True).click()
    added = secretary.locator(".edit-agenda > .edit-item").last
    await expect(added.locator(".edit-row-title")).to_have_text("Bầu bổ sung Ủy viên Thường trực")
    await expect(added.locator(".agenda-number").first).to_have_text("3")

    # A delegate sees the new item and document in the room, and no way to prepare.
    delegate = await open_page("dbieu1")
    await expect(delegate.locator(".card-action")).to_have_count(0)
    await delegate.goto(f"/#/meetings/{meeting['a']}")
    await expect(delegate.locator(".agenda-title").last).to_have_text(
        "Bầu bổ sung Ủy viên Thường trực")
    await delegate.locator(".doc-link", has_text="Tờ trình số 12").click()
    await expect(delegate.locator(".page-indicator")).to_have_text("Trang 1 / 6")
    await delegate.wait_for_function("""() => { const img = document.querySelector('.page-image');
        return img && img.complete && img.naturalWidth > 0; }""")
    await expect(delegate.get_by_test_id("prepare-link")).to_have_count(0)

    await delegate.goto(f"/#/meetings/{meeting['a']}/prepare")
    await expect(delegate.locator(".view-prepare [role=alert]")).to_contain_text(
        "Chỉ thư ký của cuộc họp mới chuẩn bị được cuộc họp này.")
    await expect(delegate.locator("#upload-file")).to_have_count(0)
