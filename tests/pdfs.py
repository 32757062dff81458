"""PDFs good and bad, made on the spot, for intake and rendering tests."""

from __future__ import annotations

import io

import pymupdf
from PIL import Image

from tests.helpers import make_pdf


def truncated() -> bytes:
    data = make_pdf([f"Trang {n}" for n in range(1, 6)])
    return data[: len(data) * 2 // 3]


def broken_xref() -> bytes:
    """A readable PDF whose cross-reference offsets all point to the wrong place."""
    doc = pymupdf.open(stream=make_pdf(["Nội dung", "Trang hai"]), filetype="pdf")
    data = doc.tobytes(garbage=0, deflate=False, expand=True)
    start = data.rindex(b"startxref")
    offset = int(data[start + 9:].split()[0])
    return data[:start] + f"startxref\n{offset + 7}\n%%EOF\n".encode()


def encrypted() -> bytes:
    doc = pymupdf.open(stream=make_pdf(["Mật"]), filetype="pdf")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="matkhau",
                       owner_pw="chu-so-huu")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def page_bomb(pages: int) -> bytes:
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=100, height=100)
    return doc.tobytes(garbage=3, deflate=True)


def rotated_and_cropped() -> bytes:
    """Page 1 portrait; page 2 /Rotate 90; page 3 with a CropBox offset in its MediaBox."""
    doc = pymupdf.open()
    for n in range(3):
        page = doc.new_page(width=400, height=600)
        page.draw_rect(pymupdf.Rect(20, 20, 380, 120), color=(0, 0, 1), fill=(0.2, 0.4, 0.9))
        page.draw_rect(pymupdf.Rect(250, 400, 390, 590), color=(1, 0, 0), fill=(0.9, 0.1, 0.1))
        page.insert_text((40, 200), f"Trang {n + 1}", fontsize=30)
    doc[1].set_rotation(90)
    doc[2].set_cropbox(pymupdf.Rect(100, 150, 390, 590))
    return doc.tobytes(garbage=3, deflate=True)
