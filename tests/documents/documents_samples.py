"""Sample PDFs for the documents tests, made on the fly with PyMuPDF."""

from __future__ import annotations

import functools
from pathlib import Path

import pymupdf

# The national motto and a resolution title: accents, đ/Đ, and words that differ only in
# their tone mark (nghị "resolution" / nghỉ "rest") for the search tests.
LINES = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Nghị quyết số 15/2024/NQ-HĐND về kế hoạch năm 2025",
    "Điều 1. Thông qua kế hoạch; cán bộ được nghỉ phép.",
)
# Page-space rectangle of the red marker drawn on every sample page (top left corner).
MARKER = pymupdf.Rect(40, 30, 120, 60)


@functools.cache
def vietnamese_font() -> pymupdf.Font:
    # Noto Sans from pymupdf-fonts (a test dependency): the Base-14 fonts lack Vietnamese.
    return pymupdf.Font("notos")


def draw_page(page: pymupdf.Page, number: int) -> None:
    """A page with a red marker at MARKER, a blue bar at the bottom right, and text."""
    page.draw_rect(MARKER, color=None, fill=(1, 0, 0))
    width, height = page.mediabox.width, page.mediabox.height
    page.draw_rect(pymupdf.Rect(width - 140, height - 50, width - 40, height - 30),
                   color=None, fill=(0, 0, 1))
    writer = pymupdf.TextWriter(page.rect)
    for row, line in enumerate((f"Trang {number}", *LINES)):
        writer.append((60, 110 + row * 28), line, font=vietnamese_font(), fontsize=14)
    writer.write_text(page)


def text_pdf(path: Path, pages: int = 3, **save: object) -> Path:
    """An A4 agenda document with a title, an outline, and text on each page."""
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        draw_page(doc.new_page(), number)
    doc.set_metadata({"title": "Tài liệu kỳ họp thứ 5"})
    doc.set_toc([[1, "Nghị quyết", 1], [2, "Điều 1", min(2, pages)]])
    doc.save(path, **save)
    return path


def labelled_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    for number in range(1, 5):
        draw_page(doc.new_page(), number)
    doc.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
        {"startpage": 2, "prefix": "PL-", "style": "D", "firstpagenum": 1},
    ])
    doc.save(path)
    return path


def shaped_pdf(path: Path, *, rotation: int = 0, cropbox: pymupdf.Rect | None = None) -> Path:
    """One 400×600 pt page, optionally with /Rotate and a CropBox off the origin."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=600)
    draw_page(page, 1)
    if cropbox is not None:
        page.set_cropbox(cropbox)
    page.set_rotation(rotation)
    doc.save(path)
    return path


def handmade_pdf(page_count: int) -> bytes:
    """A valid PDF of `page_count` empty pages, built as bytes: 5000 pages in a few ms."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>"]
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(page_count))
    objects.append(b"<</Type/Pages/Count %d/Kids[%s]>>" % (page_count, kids))
    objects += [b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>"] * page_count
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes() -> bytes:
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 30), False)
    pixmap.clear_with(200)
    return pixmap.tobytes("png")
