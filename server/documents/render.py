"""Page images and page text, computed inside render workers.

Every public function here is a pool job: top-level, plain arguments, plain results.
They run in long-lived worker processes (pool.py), so a worker keeps a few documents
open between jobs. Pages are loaded afresh per job: loading one takes ~12 µs, while a
kept Page object would pin its parsed resources in the worker's limited memory.
"""

from __future__ import annotations

import io
import math
import os
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymupdf

# The codec plugins are imported here, not on first save, so that a fork server that
# preloads this module hands every new worker warm codecs.
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

from server.documents.errors import RenderError

FORMATS = ("webp", "jpeg", "png")  # png is lossless, for export and for tests

# WebP `method` is libwebp's effort knob. Measured on this 2-core box (Pillow 13, q80,
# one A4 page, encode time only; the render itself takes 4-50 ms at 1600 px):
#   1600 px dense text page: m0 86 ms/500 KB, m1 109/499, m2 128/411, m3 257/399,
#                            m4 257/399 (Pillow's default), m5 305/396, m6 575/394
#   1600 px scanned page:    m0 78 ms/442 KB, m1 97/441, m2 123/346, m3 286/334,
#                            m4 289/334, m5 332/323, m6 625/315
#   1024 px text / scan:     m0 49/278 & 37/231, m2 62/242 & 58/196, m4 122/237 & 131/191
# Method 2 is the knee: ~18 % smaller than m0/m1, and half the time of m4 for files only
# 2-4 % larger. Upload pre-rendering is CPU bound on small servers, so m2.
_WEBP_METHOD = 2
# JPEG through Pillow (libjpeg-turbo), same 1600 px pages: baseline 11 ms (717 / 572 KB),
# optimize=True 22 ms (-5 %), progressive 55 ms (-14 %); MuPDF's own writer
# (Pixmap.tobytes("jpeg")) 165 ms. Baseline it is: JPEG is the on-demand fallback
# for clients without WebP, where latency matters more than bytes.
_PNG_COMPRESS_LEVEL = 1

# Workers render many pages of the same few files (pre-rendering, a meeting's agenda).
_DOCUMENT_CACHE_SIZE = 8
_documents: OrderedDict[tuple[str, int, int], pymupdf.Document] = OrderedDict()


def render_page(
    pdf_path: str,
    page_number: int,
    width: int,
    fmt: str,
    quality: int = 80,
    max_pixels: int = 16_000_000,
) -> bytes:
    """The displayed page (CropBox, /Rotate) as an RGB image `width` pixels wide."""
    return render_pages(pdf_path, [(page_number, width, fmt)], quality, max_pixels)[0]


def render_pages(
    pdf_path: str,
    jobs: list[tuple[int, int, str]],
    quality: int = 80,
    max_pixels: int = 16_000_000,
) -> list[bytes]:
    """Several (page_number, width, fmt) images in one job; a page is interpreted once."""
    for _, width, fmt in jobs:
        _check_request(width, fmt)
    doc = _open_document(pdf_path)
    images: list[bytes] = []
    current: tuple[int, pymupdf.DisplayList, pymupdf.Rect] | None = None
    for page_number, width, fmt in jobs:
        with _page_errors(page_number):
            if current is None or current[0] != page_number:
                page = _load_page(doc, page_number)
                # Rendering a display list skips re-parsing the content stream per width.
                current = (page_number, page.get_displaylist(), page.rect)
                del page
            _, display_list, rect = current
            out_width, out_height = output_size(rect.width, rect.height, width, max_pixels)
            matrix = pymupdf.Matrix(out_width / rect.width, out_height / rect.height)
            pixmap = display_list.get_pixmap(matrix=matrix, alpha=False)
        images.append(_encode(pixmap, out_width, out_height, fmt, quality))
    return images


def page_outputs(
    pdf_path: str,
    page_number: int,
    images: list[tuple[int, str]],
    with_text: bool,
    quality: int = 80,
    max_pixels: int = 16_000_000,
) -> tuple[list[bytes], dict[str, Any] | None]:
    """Everything the server caches for one page, in one job: (width, fmt) images, text."""
    jobs = [(page_number, width, fmt) for width, fmt in images]
    rendered = render_pages(pdf_path, jobs, quality, max_pixels) if jobs else []
    return rendered, extract_text(pdf_path, page_number) if with_text else None


def output_size(
    page_width: float, page_height: float, width: int, max_pixels: int
) -> tuple[int, int]:
    """Pixel size for a page drawn `width` wide, shrunk to stay within `max_pixels`."""
    out_width = width
    out_height = max(1, round(page_height * width / page_width))
    if out_width * out_height > max_pixels:
        out_width = max(1, math.floor(math.sqrt(max_pixels * page_width / page_height)))
        out_height = max(1, round(page_height * out_width / page_width))
        while out_width > 1 and out_width * out_height > max_pixels:
            out_width -= 1
            out_height = max(1, round(page_height * out_width / page_width))
    return out_width, out_height


def extract_text(pdf_path: str, page_number: int) -> dict[str, Any]:
    """Page text and word boxes, in PDF points of the page as displayed, in reading order."""
    doc = _open_document(pdf_path)
    with _page_errors(page_number):
        page = _load_page(doc, page_number)
        rect = page.rect
        # MuPDF reports words in unrotated page space (CropBox origin already applied);
        # rotation_matrix maps that onto the displayed page, the space of our images.
        to_display = page.rotation_matrix
        # Without TEXT_PRESERVE_LIGATURES an "ﬁ" comes out as "fi", so search finds it.
        flags = (
            pymupdf.TEXT_PRESERVE_WHITESPACE
            | pymupdf.TEXT_MEDIABOX_CLIP
            | pymupdf.TEXT_CID_FOR_UNKNOWN_UNICODE
        )
        raw = page.get_text("words", flags=flags)
    lines: dict[tuple[int, int], list[list[Any]]] = {}
    for x0, y0, x1, y1, word, block, line, _ in raw:
        word = unicodedata.normalize("NFC", word).strip()
        if not word:
            continue
        box = pymupdf.Rect(x0, y0, x1, y1) * to_display
        if not box.intersects(rect):  # text hidden outside the CropBox
            continue
        lines.setdefault((block, line), []).append(
            [round(box.x0, 2), round(box.y0, 2), round(box.x1, 2), round(box.y1, 2), word]
        )
    ordered = _reading_order(lines)
    return {
        "width": round(rect.width, 3),
        "height": round(rect.height, 3),
        "text": "\n".join(" ".join(w[4] for w in line) for line in ordered),
        "words": [word for line in ordered for word in line],
    }


def _reading_order(lines: dict[tuple[int, int], list[list[Any]]]) -> list[list[list[Any]]]:
    """Lines top to bottom, and left to right where they sit side by side.

    MuPDF's own order is the content stream's, i.e. the producer's drawing order, and it
    may put a letterhead's two halves (the issuing body on the left, the national motto
    on the right) into one block. So lines are ordered within each block, then blocks
    on the page; a paragraph stays together, so a phrase that wraps is still a run of
    consecutive words for search.
    """
    blocks: dict[int, list[list[list[Any]]]] = {}
    for (block, _), words in lines.items():
        blocks.setdefault(block, []).append(words)
    ordered_blocks = [_in_rows(block_lines) for block_lines in blocks.values()]
    return [line for block in _in_rows(ordered_blocks, nested=True) for line in block]


def _in_rows(items: list[Any], nested: bool = False) -> list[Any]:
    """Sort lines (or blocks of lines) by top; items whose tops are within half a line
    of the first item of a row form that row, read left to right."""
    def box(item: Any) -> tuple[float, float, float]:
        words = [w for line in item for w in line] if nested else item
        top = min(w[1] for w in words)
        left = min(w[0] for w in words)
        height = min(w[3] - w[1] for w in words)
        return top, left, height

    boxed = sorted(((box(item), item) for item in items), key=lambda b: (b[0][0], b[0][1]))
    ordered: list[Any] = []
    row: list[tuple[tuple[float, float, float], Any]] = []
    for entry in boxed:
        if row and entry[0][0] - row[0][0][0] > 0.5 * max(row[0][0][2], 1.0):
            ordered += [item for _, item in sorted(row, key=lambda b: b[0][1])]
            row = []
        row.append(entry)
    ordered += [item for _, item in sorted(row, key=lambda b: b[0][1])]
    return ordered


def _check_request(width: int, fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    if not 1 <= width <= 10_000:
        raise ValueError(f"width {width} out of range")


def _open_document(path: str) -> pymupdf.Document:
    pymupdf.TOOLS.reset_mupdf_warnings()  # a long-lived worker must not hoard them
    stat = os.stat(path)
    # mtime and size in the key: a path that got new content is a different document.
    key = (path, stat.st_mtime_ns, stat.st_size)
    doc = _documents.get(key)
    if doc is not None:
        _documents.move_to_end(key)
        return doc
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except (RuntimeError, pymupdf.mupdf.FzErrorBase) as exc:
        raise RenderError("page_damaged", "The PDF could not be opened for drawing.") from exc
    _documents[key] = doc
    while len(_documents) > _DOCUMENT_CACHE_SIZE:
        _, old = _documents.popitem(last=False)
        old.close()
    return doc


def close_documents() -> None:
    while _documents:
        _documents.popitem()[1].close()


def _load_page(doc: pymupdf.Document, page_number: int) -> pymupdf.Page:
    if not 1 <= page_number <= doc.page_count:
        raise RenderError("no_such_page", f"The document has no page {page_number}.")
    return doc.load_page(page_number - 1)


@contextmanager
def _page_errors(page_number: int) -> Iterator[None]:
    """MuPDF failures as RenderError; its allocation failures as MemoryError."""
    try:
        yield
    except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase) as exc:
        # Under RLIMIT_AS a failed allocation inside MuPDF surfaces as
        # FzErrorSystem("malloc (N bytes) failed"), not as MemoryError.
        if "malloc" in str(exc) or "out of memory" in str(exc):
            raise MemoryError(str(exc)) from exc
        raise RenderError(
            "page_damaged", f"Page {page_number} could not be drawn: {exc}."
        ) from exc


def _encode(pixmap: pymupdf.Pixmap, width: int, height: int, fmt: str, quality: int) -> bytes:
    # frombuffer wraps the pixmap's memory instead of copying it (pixmap stays referenced).
    image = Image.frombuffer(
        "RGB", (pixmap.width, pixmap.height), pixmap.samples_mv, "raw", "RGB", pixmap.stride, 1
    )
    if image.size != (width, height):  # MuPDF rounds the page edge outwards
        image = image.crop((0, 0, width, height)) if (
            image.width >= width and image.height >= height
        ) else image.resize((width, height))
    out = io.BytesIO()
    if fmt == "webp":
        image.save(out, "WEBP", quality=quality, method=_WEBP_METHOD)
    elif fmt == "jpeg":
        image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    else:
        image.save(out, "PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return out.getvalue()


def init_worker() -> None:
    """Worker start-up: keep MuPDF quiet."""
    # MuPDF prints every syntax error of a damaged file to stderr; our jobs turn the
    # failures that matter into RenderError/IntakeError, the rest is noise in the log.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
