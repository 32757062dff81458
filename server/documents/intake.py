"""Intake: decide whether an uploaded file is a PDF the meeting room can show, and describe it.

`inspect_pdf` runs inside a render worker (see pool.py): MuPDF parses hostile bytes there,
under a time and memory limit, and a crash costs a worker instead of the server.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

import pymupdf

from server.documents import errors

# Readers accept the signature anywhere in the first KiB (some producers prepend junk).
_SIGNATURE_WINDOW = 1024
# A hostile outline can hold millions of entries; no agenda needs more than this.
_MAX_OUTLINE_ENTRIES = 5000


def looks_like_pdf(head: bytes) -> bool:
    """True if the `%PDF-` signature is within the first 1024 bytes, as readers require."""
    return b"%PDF-" in head[:_SIGNATURE_WINDOW]


@dataclass(frozen=True)
class PageInfo:
    """A page as displayed: size in PDF points after CropBox and /Rotate."""

    width: float
    height: float
    rotation: int


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark; `page` is 1-based, 0 when the bookmark points nowhere in the file."""

    level: int
    title: str
    page: int


@dataclass(frozen=True)
class InspectedPdf:
    page_count: int
    pages: tuple[PageInfo, ...]
    repaired: bool
    title: str | None
    outline: tuple[OutlineEntry, ...]
    page_labels: tuple[str, ...] | None

    def __post_init__(self) -> None:
        if len(self.pages) != self.page_count:
            raise ValueError("one PageInfo per page")
        if self.page_labels is not None and len(self.page_labels) != self.page_count:
            raise ValueError("one label per page")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (pages as compact [width, height, rotation] triples)."""
        return {
            "page_count": self.page_count,
            "pages": [[p.width, p.height, p.rotation] for p in self.pages],
            "repaired": self.repaired,
            "title": self.title,
            "outline": [asdict(entry) for entry in self.outline],
            "page_labels": None if self.page_labels is None else list(self.page_labels),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InspectedPdf:
        labels = data.get("page_labels")
        return cls(
            page_count=int(data["page_count"]),
            pages=tuple(PageInfo(float(w), float(h), int(r)) for w, h, r in data["pages"]),
            repaired=bool(data["repaired"]),
            title=data.get("title"),
            outline=tuple(OutlineEntry(**entry) for entry in data.get("outline", ())),
            page_labels=None if labels is None else tuple(labels),
        )


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def inspect_pdf(path: str, max_pages: int) -> InspectedPdf:
    """Open the file at `path`, reject what cannot be shown, describe the rest."""
    pymupdf.TOOLS.reset_mupdf_warnings()  # a long-lived worker must not hoard them
    # 1. Bytes first: cheap, and MuPDF would happily open a PNG or HTML file as a document.
    # The size limit is the web layer's: it counts bytes while the upload streams in.
    with open(path, "rb") as file:
        head = file.read(_SIGNATURE_WINDOW)
    if not head:
        raise errors.empty_file()
    if not looks_like_pdf(head):
        raise errors.not_pdf()

    # 2. Open. A broken xref is repaired here by scanning the file for objects.
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except pymupdf.EmptyFileError:
        raise errors.empty_file() from None
    except (RuntimeError, pymupdf.mupdf.FzErrorBase) as exc:  # FileDataError is a RuntimeError
        raise errors.damaged() from exc
    with doc:
        # filetype="pdf" is only a hint: MuPDF sniffs the content and opens a PNG as an
        # image (today anything with "%PDF-" up front is parsed as PDF, but that is
        # MuPDF's choice to change). The parser's verdict is what counts.
        if not doc.is_pdf:
            raise errors.not_pdf()
        if doc.needs_pass:
            raise errors.encrypted()
        # 3. Count before touching pages: a tiny file can claim millions of them.
        try:
            page_count = doc.page_count
        except (RuntimeError, pymupdf.mupdf.FzErrorBase) as exc:  # e.g. a looping page tree
            raise errors.damaged("its list of pages is broken") from exc
        if page_count == 0:
            # A repaired file without pages is a file cut off before its first page.
            if doc.is_repaired:
                raise errors.damaged("no pages could be found")
            raise errors.no_pages()
        if page_count > max_pages:
            raise errors.too_many_pages(page_count, max_pages)
        # 4. Load every page now, so a page that cannot load fails the upload, not the meeting.
        pages = tuple(_page_info(doc, number) for number in range(page_count))
        # Repair can also happen lazily while pages load, so ask only now.
        repaired = bool(doc.is_repaired)
        return InspectedPdf(
            page_count=page_count,
            pages=pages,
            repaired=repaired,
            title=_title(doc),
            outline=_outline(doc),
            page_labels=_page_labels(doc),
        )


def _page_info(doc: pymupdf.Document, number: int) -> PageInfo:
    try:
        page = doc.load_page(number)
        rect = page.rect
        rotation = page.rotation
        xref = page.xref
    except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase) as exc:
        raise errors.damaged(f"page {number + 1} cannot be read") from exc
    # After repairing a cut-off file MuPDF invents a blank Letter page for a page object
    # that is gone; showing that blank page in a meeting would be worse than refusing.
    if not 0 < xref < doc.xref_length() or not doc.xref_get_keys(xref):
        raise errors.damaged(f"page {number + 1} is missing; the file may be cut off")
    if rect.is_empty or rect.is_infinite:
        raise errors.damaged(f"page {number + 1} has no size")
    return PageInfo(width=round(rect.width, 3), height=round(rect.height, 3), rotation=rotation)


def _title(doc: pymupdf.Document) -> str | None:
    title = (doc.metadata or {}).get("title") or ""
    title = " ".join(nfc(title).split())
    return title or None


def _outline(doc: pymupdf.Document) -> tuple[OutlineEntry, ...]:
    # A broken outline is not worth refusing a document over: it just has no bookmarks.
    try:
        toc = doc.get_toc(simple=True)
    except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase):
        return ()
    return tuple(
        OutlineEntry(level=int(level), title=" ".join(nfc(title).split()), page=max(int(page), 0))
        for level, title, page in toc[:_MAX_OUTLINE_ENTRIES]
    )


def _page_labels(doc: pymupdf.Document) -> tuple[str, ...] | None:
    try:
        if not doc.get_page_labels():
            return None
        return tuple(nfc(doc[n].get_label()) for n in range(doc.page_count))
    except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase):
        return None
