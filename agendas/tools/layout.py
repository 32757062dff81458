"""Page layout on top of pymupdf.Story.

A `Canvas` places HTML fragments in rectangles of pages it creates through one
`pymupdf.DocumentWriter`, so every fragment shares the same embedded fonts. A `Flow`
fills the body area of successive pages block by block, the way a word processor does.
`save_pdf` writes a document so that the same input always gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

import pymupdf

MM = 72 / 25.4
A4 = pymupdf.Rect(0, 0, 210 * MM, 297 * MM)

# Noto Sans from pymupdf-fonts: the MuPDF built-in serif lacks most Vietnamese letters.
_FONT_FACES = (
    ("notos", "normal", "normal"),
    ("notosbo", "bold", "normal"),
    ("notosit", "normal", "italic"),
    ("notosbi", "bold", "italic"),
)

FONT_CSS = "\n".join(
    f"@font-face {{font-family: Noto; src: url({key}.ttf);"
    f" font-weight: {weight}; font-style: {style};}}"
    for key, weight, style in _FONT_FACES
)

BASE_CSS = """
* {font-family: Noto;}
html, body {margin: 0; padding: 0;}
p {margin: 0;}
b, strong {font-weight: bold;}
i, em {font-style: italic;}
table {border-collapse: collapse; width: 100%;}
td, th {border: 0.5pt solid #000; padding: 1.5pt 3pt; vertical-align: middle;}
th {font-weight: bold; text-align: center; background-color: #ececec;}
"""

Decoration = Callable[[pymupdf.Page], object]


def font_archive() -> pymupdf.Archive:
    """The four Noto Sans faces, named as FONT_CSS refers to them."""
    archive = pymupdf.Archive()
    for key, _, _ in _FONT_FACES:
        archive.add(pymupdf.Font(key).buffer, f"{key}.ttf")
    return archive


def star_points(centre: pymupdf.Point, outer: float, inner: float) -> list[pymupdf.Point]:
    """A five-pointed star, point up, as a closed polyline."""
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = -math.pi / 2 + index * math.pi / 5
        points.append(pymupdf.Point(centre.x + radius * math.cos(angle), centre.y + radius * math.sin(angle)))
    return points


def text(value: str) -> str:
    """Escape plain text for use inside an HTML fragment."""
    return escape(value, quote=False)


@dataclass
class _Page:
    rotate: int
    decorations: list[Decoration]


class Canvas:
    """Pages whose text is HTML placed in rectangles and whose shapes come afterwards."""

    def __init__(self, css: str) -> None:
        self._css = FONT_CSS + BASE_CSS + css
        self._archive = font_archive()
        self._buffer = io.BytesIO()
        self._writer = pymupdf.DocumentWriter(self._buffer)
        self._device: Any = None
        self._matrix = pymupdf.Matrix(1, 0, 0, 1, 0, 0)
        self._pages: list[_Page] = []

    @property
    def page_index(self) -> int:
        return len(self._pages) - 1

    def new_page(self, mediabox: pymupdf.Rect, *, rotate: int = 0) -> pymupdf.Rect:
        """Start a page and return its visible rectangle.

        With rotate=90 the page is stored portrait with /Rotate 90, the way a scanner or
        a word processor stores a landscape page inside a portrait document; callers
        still place text in the visible, landscape coordinates.
        """
        self._end_page()
        if rotate not in (0, 90):
            raise ValueError(f"unsupported page rotation {rotate}")
        stored = mediabox if rotate == 0 else pymupdf.Rect(0, 0, mediabox.height, mediabox.width)
        self._device = self._writer.begin_page(stored)
        # Maps visible (rotated) coordinates to the stored page: the derotation matrix.
        self._matrix = (pymupdf.Matrix(1, 0, 0, 1, 0, 0) if rotate == 0
                        else pymupdf.Matrix(0, -1, 1, 0, 0, mediabox.width))
        self._pages.append(_Page(rotate, []))
        return pymupdf.Rect(0, 0, mediabox.width, mediabox.height)

    def story(self, html: str) -> pymupdf.Story:
        return pymupdf.Story(html, self._css, archive=self._archive)

    def measure(self, html: str, width: float) -> float:
        """Height the fragment needs at this width."""
        _, filled = self.story(html).place(pymupdf.Rect(0, 0, width, 100_000))
        return float(pymupdf.Rect(filled).y1)

    def draw(self, story: pymupdf.Story, rect: pymupdf.Rect) -> tuple[bool, pymupdf.Rect]:
        """Place as much of the story as fits in rect; say whether some is left over."""
        if self._device is None:
            raise RuntimeError("draw() before new_page()")
        more, filled = story.place(rect)
        story.draw(self._device, self._matrix)
        return bool(more), pymupdf.Rect(filled)

    def place(self, html: str, rect: pymupdf.Rect) -> pymupdf.Rect:
        """Place a fragment that must fit in rect; return the part it filled."""
        more, filled = self.draw(self.story(html), rect)
        if more:
            raise ValueError(f"text does not fit in {rect}: {html[:80]!r}")
        return filled

    def decorate(self, decoration: Decoration) -> None:
        """Run decoration on the current page once it exists as a pymupdf.Page."""
        self._pages[-1].decorations.append(decoration)

    def finish(self) -> pymupdf.Document:
        self._end_page()
        self._writer.close()
        document = pymupdf.open("pdf", self._buffer.getvalue())
        for index, spec in enumerate(self._pages):
            page = document[index]
            for decoration in spec.decorations:
                decoration(page)
            if spec.rotate:
                page.set_rotation(spec.rotate)
        return document

    def _end_page(self) -> None:
        if self._device is not None:
            self._writer.end_page()
            self._device = None


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    page_index: int


PageStarter = Callable[["Flow"], None]


class Flow:
    """Fills the body rectangle of successive pages with blocks of HTML.

    Each block is its own Story so that the flow can keep a heading with what follows
    it, move a short table to the next page whole, and split a long one with its header
    repeated: things Story's own CSS paging does not do.
    """

    def __init__(
        self,
        canvas: Canvas,
        mediabox: pymupdf.Rect,
        body: pymupdf.Rect,
        *,
        on_new_page: PageStarter | None = None,
    ) -> None:
        self.canvas = canvas
        self.mediabox = mediabox
        self.body = body
        self.headings: list[Heading] = []
        self._on_new_page = on_new_page
        self.y = body.y0
        self._started = False

    @property
    def width(self) -> float:
        return float(self.body.width)

    @property
    def remaining(self) -> float:
        return float(self.body.y1 - self.y)

    @property
    def at_top(self) -> bool:
        return self.y <= self.body.y0

    def new_page(self) -> None:
        self.canvas.new_page(self.mediabox)
        self._started = True
        self.y = self.body.y0
        if self._on_new_page is not None:
            self._on_new_page(self)

    def ensure(self, height: float) -> None:
        """Begin a new page unless height points are left on this one."""
        if not self._started or (height > self.remaining and not self.at_top):
            self.new_page()

    def space(self, points: float) -> None:
        if not self.at_top:
            self.y = min(self.y + points, self.body.y1)

    def block(self, html: str, *, space_before: float = 0, space_after: float = 0,
              keep_with_next: float = 0) -> None:
        """Add a block that may break across pages."""
        self.ensure(1)
        self.space(space_before)
        if keep_with_next:
            self.ensure(self.canvas.measure(html, self.width) + keep_with_next)
        story = self.canvas.story(html)
        while True:
            more, filled = self.canvas.draw(story, pymupdf.Rect(self.body.x0, self.y, self.body.x1, self.body.y1))
            if not more:
                self.y = filled.y1 + space_after
                return
            if self.at_top and filled.is_empty:
                raise ValueError(f"block taller than a page: {html[:80]!r}")
            self.new_page()

    def unbreakable(self, html: str, *, space_before: float = 0, space_after: float = 0) -> int:
        """Add a block that moves to the next page whole rather than break; return its page."""
        self.ensure(1)
        self.space(space_before)
        self.ensure(self.canvas.measure(html, self.width))
        page = self.canvas.page_index
        self.block(html, space_after=space_after)
        return page

    def heading(self, level: int, title: str, html: str, *, space_before: float = 0,
                space_after: float = 0, keep_with_next: float = 60) -> None:
        """Add a heading, kept on the page of the text after it, and note it for the outline."""
        self.ensure(1)
        self.space(space_before)
        self.ensure(self.canvas.measure(html, self.width) + keep_with_next)
        self.mark(level, title)
        self.block(html, space_after=space_after)

    def mark(self, level: int, title: str, page_index: int | None = None) -> None:
        """Note an outline entry for the current page, or for page_index."""
        page = self.canvas.page_index if page_index is None else page_index
        self.headings.append(Heading(level, title, page))

    def split_block(self, pieces: Callable[[int, int], str], count: int, *,
                    min_rows: int = 3, space_before: float = 0, space_after: float = 0) -> int:
        """Add a block made of count rows that may only break between rows; return its page.

        pieces(start, stop) renders rows start..stop as one fragment (a table with its
        header, say); every page gets as many rows as fit, and at least min_rows.
        """
        self.ensure(1)
        self.space(space_before)
        start, first_page = 0, -1
        while start < count:
            stop = self._rows_that_fit(pieces, start, count)
            if stop - start < min(min_rows, count - start) and not self.at_top:
                self.new_page()
                continue
            if stop == start:
                raise ValueError("a single row is taller than a page")
            if first_page < 0:
                first_page = self.canvas.page_index
            self.block(pieces(start, stop))
            start = stop
            if start < count:
                self.new_page()
        self.y += space_after
        return first_page

    def _rows_that_fit(self, pieces: Callable[[int, int], str], start: int, count: int) -> int:
        low, high = start, count
        while low < high:
            middle = (low + high + 1) // 2
            if self.canvas.measure(pieces(start, middle), self.width) <= self.remaining:
                low = middle
            else:
                high = middle - 1
        return low


FIXED_DATE = "D:20261125080000+07'00'"


def save_pdf(document: pymupdf.Document, path: str, *, title: str, author: str,
             subject: str, producer: str) -> None:
    """Write document so that the same content always gives the same bytes."""
    document.subset_fonts()
    document.set_metadata({
        "title": title,
        "author": author,
        "subject": subject,
        "keywords": "Phòng họp, tài liệu mẫu",
        "creator": "agendas/tools/generate.py",
        "producer": producer,
        "creationDate": FIXED_DATE,
        "modDate": FIXED_DATE,
    })
    document.del_xml_metadata()
    # no_new_id: MuPDF would otherwise write a fresh random /ID on every save.
    document.save(path, garbage=3, deflate=True, clean=True, no_new_id=True)
