"""The long socio-economic report: cover, contents, 30-odd pages of text and tables.

It exercises what a long real document brings to the renderer: an outline, page labels
(i, ii for the front matter, then 1, 2, ...), tables split across pages, and a cover
printed with bleed whose CropBox is smaller than, and offset inside, its MediaBox.
"""

from __future__ import annotations

from typing import Any

import pymupdf

import official
from data import Sources
from layout import A4, MM, Canvas, Flow, Heading, star_points, text
from markup import Block, inline

SOURCE = "bao-cao-kinh-te-xa-hoi.md"
FRONT_PAGES = 2  # cover and contents, labelled i and ii
RUNNING_TITLE = "UBND huyện Sông Lam - Báo cáo tình hình kinh tế - xã hội năm 2026, kế hoạch năm 2027"

# The cover as a print shop sends it: an A4 trim with 3 mm bleed, on a larger sheet
# that carries crop marks, a colour bar and the job line. The CropBox is the trim. The
# margins around it differ on purpose, so that a renderer that shows the MediaBox, or
# mixes up the PDF's bottom-up y axis, shows visibly the wrong part of the sheet.
BLEED = 3 * MM
TRIM = pymupdf.Rect(9 * MM, 12 * MM, 9 * MM + A4.width, 12 * MM + A4.height)
SHEET = pymupdf.Rect(0, 0, TRIM.x1 + 13 * MM, TRIM.y1 + 26 * MM)
BLEED_BOX = TRIM + (-BLEED, -BLEED, BLEED, BLEED)

NAVY = (0.11, 0.20, 0.38)
RED = (0.70, 0.09, 0.10)
GOLD = (0.80, 0.62, 0.22)


def build(sources: Sources) -> pymupdf.Document:
    source = sources.document(SOURCE)
    body, headings = _body(sources, source.front, source.blocks)
    document = _front_matter(source.front, headings)
    document.insert_pdf(body)
    document.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
        {"startpage": FRONT_PAGES, "prefix": "", "style": "D", "firstpagenum": 1},
    ])
    document.set_toc(_outline(headings))
    return document


# --- body ------------------------------------------------------------------------------

def _body(sources: Sources, front: dict[str, Any],
          blocks: tuple[Block, ...]) -> tuple[pymupdf.Document, list[Heading]]:
    canvas = Canvas(official.CSS)
    flow = Flow(canvas, A4, official.BODY, on_new_page=_running_header_and_footer)
    flow.new_page()
    official.header(flow, front)
    official.title(flow, front["loai"], front["trich_yeu"])

    def bang(flow: Flow, argument: str) -> None:
        key, _, prefix = argument.partition(" ")
        official.table_block(flow, sources.table(key, prefix))

    def bieu(flow: Flow, argument: str) -> None:
        number, _, key = argument.partition(" ")
        table = sources.table(key, f"Biểu số {number}.") if key else sources.commune_table(number)
        flow.mark(2, table.caption, official.table_block(flow, table))

    official.render(flow, blocks, {
        "bang": bang,
        "bieu": bieu,
        "trang-moi": official.page_break,
        "ky": lambda flow, _: official.signature(flow, front),
    }, signature_after=official.signature_height(flow, front))
    return canvas.finish(), flow.headings


def _running_header_and_footer(flow: Flow) -> None:
    canvas = flow.canvas
    number = canvas.page_index + 1
    footer = pymupdf.Rect(flow.body.x0, flow.body.y1 + 5 * MM, flow.body.x1, A4.height - 5 * MM)
    canvas.place(f"<p class='center' style='font-size: 10pt'>{number}</p>", footer)
    if number == 1:
        return
    top = pymupdf.Rect(flow.body.x0, 9 * MM, flow.body.x1, flow.body.y0)
    placed = canvas.place(f"<p class='right' style='font-size: 8.5pt; font-style: italic; color: #444'>"
                          f"{text(RUNNING_TITLE)}</p>", top)
    start, end = pymupdf.Point(top.x0, placed.y1 + 2), pymupdf.Point(top.x1, placed.y1 + 2)
    canvas.decorate(lambda page: page.draw_line(start, end, color=(0.45, 0.45, 0.45), width=0.4))


def _outline(headings: list[Heading]) -> list[list[Any]]:
    """Bookmarks: the cover, the contents, then the headings of the body."""
    entries: list[list[Any]] = [[1, "Bìa", 1], [1, "Mục lục", 2]]
    entries += [[h.level, h.title, FRONT_PAGES + h.page_index + 1] for h in headings]
    return entries


# --- front matter ------------------------------------------------------------------------

def _front_matter(front: dict[str, Any], headings: list[Heading]) -> pymupdf.Document:
    canvas = Canvas(official.CSS)
    _cover(canvas, front["bia"])
    _contents(canvas, [h for h in headings if h.level <= 2])
    return canvas.finish()


def _cover(canvas: Canvas, cover: dict[str, Any]) -> None:
    canvas.new_page(SHEET)
    canvas.decorate(_cover_artwork)
    inner = TRIM + (22 * MM, 26 * MM, -22 * MM, -24 * MM)
    canvas.place("".join(f"<p class='center' style='font-weight: bold; font-size: 13pt; color: #1c3361'>"
                         f"{text(line)}</p>" for line in cover["tren"]), inner)
    middle = pymupdf.Rect(inner.x0, TRIM.y0 + 0.36 * TRIM.height, inner.x1, inner.y1)
    placed = canvas.place(
        f"<p class='center' style='font-weight: bold; font-size: 30pt; color: #b3171a'>{text(cover['loai'])}</p>"
        + "".join(f"<p class='center' style='font-weight: bold; font-size: 16pt; line-height: 1.45'>"
                  f"{text(line)}</p>" for line in cover["tieu_de"]),
        middle)
    canvas.place(f"<p class='center' style='font-style: italic; font-size: 13pt'>{inline(cover['phu_de'])}</p>",
                 pymupdf.Rect(inner.x0, placed.y1 + 22, inner.x1, inner.y1))
    canvas.place(f"<p class='center' style='font-size: 12pt; font-weight: bold; color: #1c3361'>"
                 f"{text(cover['duoi'])}</p>", pymupdf.Rect(inner.x0, inner.y1 - 40, inner.x1, inner.y1))
    canvas.place(f"<p style='font-size: 7pt'>{text(cover['ban_in'])}</p>",
                 pymupdf.Rect(TRIM.x0, TRIM.y1 + 12 * MM, SHEET.x1 - 50 * MM, SHEET.y1))
    canvas.decorate(_print_boxes)


def _print_boxes(page: pymupdf.Page) -> None:
    page.set_cropbox(TRIM)
    page.set_trimbox(TRIM)
    page.set_bleedbox(BLEED_BOX)


def _cover_artwork(page: pymupdf.Page) -> None:
    """Bands that bleed past the trim, a framed panel, and the printer's marks outside."""
    shape = page.new_shape()
    top_band = pymupdf.Rect(BLEED_BOX.x0, BLEED_BOX.y0, BLEED_BOX.x1, TRIM.y0 + 14 * MM)
    bottom_band = pymupdf.Rect(BLEED_BOX.x0, TRIM.y1 - 16 * MM, BLEED_BOX.x1, BLEED_BOX.y1)
    for band in (top_band, bottom_band):
        shape.draw_rect(band)
        shape.finish(fill=NAVY, color=None)
        edge = band.y1 if band is top_band else band.y0
        shape.draw_line((BLEED_BOX.x0, edge), (BLEED_BOX.x1, edge))
        shape.finish(color=GOLD, width=2.2)
    frame = TRIM + (12 * MM, 20 * MM, -12 * MM, -22 * MM)
    shape.draw_rect(frame)
    shape.finish(color=NAVY, width=1.6)
    shape.draw_rect(frame + (3, 3, -3, -3))
    shape.finish(color=NAVY, width=0.5)
    emblem = pymupdf.Point(TRIM.x0 + TRIM.width / 2, TRIM.y0 + 0.29 * TRIM.height)
    shape.draw_circle(emblem, 17)
    shape.finish(color=RED, fill=RED)
    shape.draw_polyline(star_points(emblem, 13, 5.2))
    shape.finish(color=None, fill=(1, 0.85, 0.1), closePath=True)
    _printer_marks(shape)
    shape.commit(overlay=False)


def _printer_marks(shape: pymupdf.Shape) -> None:
    """Crop marks at the trim corners and a colour bar in the slug: never inside the trim."""
    length, gap = 5 * MM, BLEED + 1 * MM
    for x in (TRIM.x0, TRIM.x1):
        for y in (TRIM.y0, TRIM.y1):
            outward_x = -1 if x == TRIM.x0 else 1
            outward_y = -1 if y == TRIM.y0 else 1
            shape.draw_line((x + outward_x * gap, y), (x + outward_x * (gap + length), y))
            shape.draw_line((x, y + outward_y * gap), (x, y + outward_y * (gap + length)))
    shape.finish(color=(0, 0, 0), width=0.3)
    patches = [(0, 1, 1), (1, 0, 1), (1, 1, 0), (0, 0, 0), (0.25, 0.25, 0.25), (0.5, 0.5, 0.5), (0.75, 0.75, 0.75)]
    x = SHEET.x1 - 13 * MM - len(patches) * 5 * MM
    y = TRIM.y1 + 11 * MM
    for colour in patches:
        shape.draw_rect(pymupdf.Rect(x, y, x + 5 * MM, y + 5 * MM))
        shape.finish(fill=colour, color=(0, 0, 0), width=0.2)
        x += 5 * MM


def _contents(canvas: Canvas, headings: list[Heading]) -> None:
    """The MỤC LỤC page: parts and sections with their page numbers."""
    area = canvas.new_page(A4)
    body = official.BODY
    canvas.place("<p class='kind'>MỤC LỤC</p>", pymupdf.Rect(body.x0, body.y0, body.x1, body.y1))
    rows = []
    for heading in headings:
        indent = 0 if heading.level == 1 else 14
        weight = "bold" if heading.level == 1 else "normal"
        rows.append(
            f"<tr><td style='border: none; padding: 2pt 0 2pt {indent}pt; font-weight: {weight}; width: 400pt'>"
            f"{text(heading.title)}</td><td class='right' style='border: none; width: 40pt'>"
            f"{heading.page_index + 1}</td></tr>")
    canvas.place("<table style='font-size: 10.5pt'>" + "".join(rows) + "</table>",
                 pymupdf.Rect(body.x0, body.y0 + 36, body.x1, body.y1))
    canvas.place("<p class='center' style='font-size: 10pt'>ii</p>",
                 pymupdf.Rect(body.x0, body.y1 + 5 * MM, body.x1, area.y1 - 5 * MM))
