"""The slide deck that goes with the report: 16:9 pages, big titles, bullets, charts.

Shapes (bands, tiles, bars) are drawn under the text once the page exists; text goes
through the same Story canvas as the other documents, so it shares their fonts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pymupdf

from data import Sources
from layout import Canvas, star_points, text
from tables import number

SLIDE = pymupdf.Rect(0, 0, 960, 540)  # 13.33 × 7.5 in, the usual 16:9 export size
CONTENT = pymupdf.Rect(64, 122, 896, 486)
NAVY = (0.11, 0.20, 0.38)
RED = (0.70, 0.09, 0.10)
GOLD = (0.85, 0.65, 0.20)
PALE = (0.93, 0.95, 0.98)
GREY = (0.45, 0.47, 0.50)
SECTORS = ((0.36, 0.60, 0.33), (0.23, 0.40, 0.66), (0.91, 0.60, 0.20))

CSS = """
p {line-height: 1.25;}
p.title {font-size: 28pt; font-weight: bold; color: #ffffff;}
p.footer {font-size: 10.5pt; color: #6b6f75;}
p.number {font-size: 10.5pt; color: #6b6f75; text-align: right;}
p.bullet {font-size: 21pt; margin-left: 30pt; text-indent: -30pt; color: #1f2a37;}
p.note {font-size: 14pt; font-style: italic; color: #4b5563;}
p.center {text-align: center;}
p.big {font-size: 40pt; font-weight: bold; color: #1c3361; text-align: center;}
p.label {font-size: 15pt; text-align: center; color: #1f2a37;}
p.sub {font-size: 12.5pt; text-align: center; font-style: italic; color: #b3171a;}
p.axis {font-size: 13pt; color: #4b5563;}
p.value {font-size: 16pt; font-weight: bold; text-align: center; color: #1c3361;}
p.column-title {font-size: 20pt; font-weight: bold; color: #1c3361;}
"""

Slide = Callable[[Canvas, dict[str, Any]], None]


def build(sources: Sources) -> pymupdf.Document:
    deck = sources.toml("trinh-chieu.toml")
    canvas = Canvas(CSS)
    slides: dict[str, Slide] = {
        "bia": _cover, "o-so": _tiles, "cot": _columns, "co-cau": _structure,
        "y": _bullets, "hai-cot": _two_lists, "ket-thuc": _closing,
    }
    for index, spec in enumerate(deck["trang"], start=1):
        canvas.new_page(SLIDE)
        if spec["kieu"] not in ("bia", "ket-thuc"):
            _frame(canvas, spec["tieu_de"], deck["chan_trang"], index)
        slides[spec["kieu"]](canvas, spec)
    return canvas.finish()


def _shapes(canvas: Canvas, draw: Callable[[pymupdf.Shape], None]) -> None:
    """Draw with one Shape per call, under the page's text."""
    def decoration(page: pymupdf.Page) -> None:
        shape = page.new_shape()
        draw(shape)
        shape.commit(overlay=False)
    canvas.decorate(decoration)


def _fill(shape: pymupdf.Shape, rect: pymupdf.Rect, colour: tuple[float, ...], radius: float = 0) -> None:
    shape.draw_rect(rect, radius=radius or None)
    shape.finish(fill=colour, color=None)


def _frame(canvas: Canvas, title: str, footer: str, index: int) -> None:
    """Title band, gold rule and footer line shared by the content slides."""
    def draw(shape: pymupdf.Shape) -> None:
        _fill(shape, pymupdf.Rect(0, 0, SLIDE.x1, 92), NAVY)
        _fill(shape, pymupdf.Rect(0, 92, SLIDE.x1, 97), GOLD)
        _fill(shape, pymupdf.Rect(0, 0, 14, 92), RED)
        shape.draw_line((64, 500), (896, 500))
        shape.finish(color=(0.8, 0.8, 0.8), width=0.8)
    _shapes(canvas, draw)
    canvas.place(f"<p class='title'>{text(title)}</p>", pymupdf.Rect(64, 26, 900, 90))
    canvas.place(f"<p class='footer'>{text(footer)}</p>", pymupdf.Rect(64, 506, 800, 535))
    canvas.place(f"<p class='number'>{index}</p>", pymupdf.Rect(820, 506, 896, 535))


def _cover(canvas: Canvas, spec: dict[str, Any]) -> None:
    def draw(shape: pymupdf.Shape) -> None:
        _fill(shape, SLIDE, NAVY)
        _fill(shape, pymupdf.Rect(0, 352, SLIDE.x1, 358), GOLD)
        _fill(shape, pymupdf.Rect(0, 0, 24, SLIDE.y1), RED)
        shape.draw_circle((872, 92), 34)
        shape.finish(fill=RED, color=GOLD, width=2)
        shape.draw_polyline(star_points(pymupdf.Point(872, 92), 25, 10))
        shape.finish(fill=(1, 0.85, 0.1), color=None, closePath=True)
    _shapes(canvas, draw)
    canvas.place(f"<p style='font-size: 18pt; font-weight: bold; color: #e8c56a'>{text(spec['tren'])}</p>",
                 pymupdf.Rect(80, 70, 800, 110))
    canvas.place("".join(f"<p style='font-size: 32pt; font-weight: bold; color: #ffffff; line-height: 1.25'>"
                         f"{text(line)}</p>" for line in spec["tieu_de"]), pymupdf.Rect(80, 160, 900, 340))
    canvas.place("".join(f"<p style='font-size: 17pt; color: #dfe6f2'>{text(line)}</p>" for line in spec["duoi"]),
                 pymupdf.Rect(80, 384, 900, 480))


def _closing(canvas: Canvas, spec: dict[str, Any]) -> None:
    def draw(shape: pymupdf.Shape) -> None:
        _fill(shape, SLIDE, NAVY)
        _fill(shape, pymupdf.Rect(330, 300, 630, 305), GOLD)
    _shapes(canvas, draw)
    canvas.place(f"<p class='center' style='font-size: 44pt; font-weight: bold; color: #ffffff'>"
                 f"{text(spec['tieu_de'])}</p>", pymupdf.Rect(60, 200, 900, 290))
    canvas.place(f"<p class='center' style='font-size: 20pt; color: #dfe6f2'>{text(spec['duoi'])}</p>",
                 pymupdf.Rect(60, 322, 900, 380))


def _bullets(canvas: Canvas, spec: dict[str, Any]) -> None:
    y = CONTENT.y0 + 6
    for item in spec["y"]:
        placed = canvas.place(f"<p class='bullet'><span style='color: #b3171a'>■</span>"
                              f"\u00a0\u00a0{text(item)}</p>", pymupdf.Rect(CONTENT.x0, y, CONTENT.x1, CONTENT.y1))
        y = placed.y1 + 16


def _tiles(canvas: Canvas, spec: dict[str, Any]) -> None:
    tiles = spec["o"]
    gap = 20
    width = (CONTENT.width - gap * (len(tiles) - 1)) / len(tiles)
    boxes = [pymupdf.Rect(CONTENT.x0 + k * (width + gap), CONTENT.y0 + 10,
                          CONTENT.x0 + k * (width + gap) + width, CONTENT.y0 + 220) for k in range(len(tiles))]

    def draw(shape: pymupdf.Shape) -> None:
        for box in boxes:
            _fill(shape, box, PALE, radius=0.08)
            _fill(shape, pymupdf.Rect(box.x0, box.y0, box.x1, box.y0 + 6), NAVY)
    _shapes(canvas, draw)
    for tile, box in zip(tiles, boxes, strict=True):
        inner = box + (12, 30, -12, -12)
        big = canvas.place(f"<p class='big'>{text(tile['so'])}</p>", inner)
        label = canvas.place(f"<p class='label'>{text(tile['nhan'])}</p>", pymupdf.Rect(inner.x0, big.y1 + 6, inner.x1, inner.y1))
        canvas.place(f"<p class='sub'>{text(tile['phu'])}</p>", pymupdf.Rect(inner.x0, label.y1 + 10, inner.x1, inner.y1))
    canvas.place(f"<p class='note'>{text(spec['ghi_chu'])}</p>", pymupdf.Rect(CONTENT.x0, 380, CONTENT.x1, CONTENT.y1))


def _columns(canvas: Canvas, spec: dict[str, Any]) -> None:
    """A vertical bar chart with gridlines, values on the bars and the last bar highlighted."""
    values: list[float] = spec["gia_tri"]
    plot = pymupdf.Rect(CONTENT.x0 + 56, CONTENT.y0 + 34, CONTENT.x1 - 10, CONTENT.y0 + 280)
    step = 100.0
    top = step * (int(max(values) / step) + 1)
    slot = plot.width / len(values)
    bars = [pymupdf.Rect(plot.x0 + k * slot + slot * 0.22, plot.y1 - value / top * plot.height,
                         plot.x0 + (k + 1) * slot - slot * 0.22, plot.y1) for k, value in enumerate(values)]

    def y_of(value: float) -> float:
        return plot.y1 - value / top * plot.height

    def draw(shape: pymupdf.Shape) -> None:
        for tick in range(1, int(top / step) + 1):
            shape.draw_line((plot.x0, y_of(tick * step)), (plot.x1, y_of(tick * step)))
        shape.finish(color=(0.85, 0.85, 0.85), width=0.7, dashes="[4 3] 0")
        for index, bar in enumerate(bars):
            _fill(shape, bar, RED if index == len(bars) - 1 else NAVY)
        shape.draw_line((plot.x0, plot.y1), (plot.x1, plot.y1))
        shape.finish(color=(0.2, 0.2, 0.2), width=1.2)
    _shapes(canvas, draw)
    canvas.place(f"<p class='axis'>{text(spec['don_vi'])}</p>", pymupdf.Rect(CONTENT.x0, CONTENT.y0, 300, CONTENT.y0 + 24))
    for tick in range(0, int(top / step) + 1):
        canvas.place(f"<p class='axis' style='text-align: right'>{number(tick * step, 0)}</p>",
                     pymupdf.Rect(CONTENT.x0, y_of(tick * step) - 9, plot.x0 - 8, y_of(tick * step) + 12))
    for label, value, bar in zip(spec["nhan"], values, bars, strict=True):
        canvas.place(f"<p class='value'>{number(value, 1)}</p>", pymupdf.Rect(bar.x0 - 20, bar.y0 - 28, bar.x1 + 20, bar.y0))
        canvas.place(f"<p class='axis center'>{text(label)}</p>",
                     pymupdf.Rect(bar.x0 - 30, plot.y1 + 6, bar.x1 + 30, plot.y1 + 30))
    canvas.place(f"<p class='note'>{text(spec['ghi_chu'])}</p>", pymupdf.Rect(CONTENT.x0, 446, CONTENT.x1, CONTENT.y1))


def _structure(canvas: Canvas, spec: dict[str, Any]) -> None:
    """Horizontal 100% bars, one per year, with a legend."""
    left, right = CONTENT.x0 + 80, CONTENT.x1 - 10
    rows = [(year, shares, CONTENT.y0 + 30 + k * 110) for k, (year, shares) in enumerate(zip(spec["nam"], spec["ty_le"], strict=True))]
    segments = []
    for _, shares, y in rows:
        x = left
        for colour, share in zip(SECTORS, shares, strict=True):
            width = (right - left) * share / 100
            segments.append((pymupdf.Rect(x, y, x + width, y + 70), colour, share))
            x += width
    legend_y = CONTENT.y0 + 270

    def draw(shape: pymupdf.Shape) -> None:
        for rect, colour, _ in segments:
            _fill(shape, rect, colour)
        for index, colour in enumerate(SECTORS):
            _fill(shape, pymupdf.Rect(CONTENT.x0 + index * 280, legend_y, CONTENT.x0 + index * 280 + 22, legend_y + 22), colour)
    _shapes(canvas, draw)
    for year, _, y in rows:
        canvas.place(f"<p style='font-size: 20pt; font-weight: bold; color: #1c3361'>{text(year)}</p>",
                     pymupdf.Rect(CONTENT.x0, y + 20, left - 8, y + 60))
    for rect, _, share in segments:
        canvas.place(f"<p class='center' style='font-size: 20pt; font-weight: bold; color: #ffffff'>{number(share, 1)}%</p>",
                     pymupdf.Rect(rect.x0, rect.y0 + 20, rect.x1, rect.y1))
    for index, name in enumerate(spec["nganh"]):
        canvas.place(f"<p style='font-size: 14pt'>{text(name)}</p>",
                     pymupdf.Rect(CONTENT.x0 + index * 280 + 30, legend_y, CONTENT.x0 + index * 280 + 278, legend_y + 26))
    canvas.place(f"<p class='note'>{text(spec['ghi_chu'])}</p>", pymupdf.Rect(CONTENT.x0, 440, CONTENT.x1, CONTENT.y1))


def _two_lists(canvas: Canvas, spec: dict[str, Any]) -> None:
    half = (CONTENT.width - 30) / 2
    columns = [(spec["trai_tieu_de"], spec["trai"], pymupdf.Rect(CONTENT.x0, CONTENT.y0 + 6, CONTENT.x0 + half, CONTENT.y1 - 10)),
               (spec["phai_tieu_de"], spec["phai"], pymupdf.Rect(CONTENT.x1 - half, CONTENT.y0 + 6, CONTENT.x1, CONTENT.y1 - 10))]

    def draw(shape: pymupdf.Shape) -> None:
        for _, _, box in columns:
            _fill(shape, box, PALE, radius=0.04)
            _fill(shape, pymupdf.Rect(box.x0, box.y0, box.x0 + 6, box.y1), RED)
    _shapes(canvas, draw)
    for title, items, box in columns:
        inner = box + (26, 18, -18, -12)
        y = canvas.place(f"<p class='column-title'>{text(title)}</p>", inner).y1 + 14
        for item in items:
            y = canvas.place(f"<p class='bullet' style='font-size: 19pt'><span style='color: #b3171a'>■</span>"
                             f"\u00a0\u00a0{text(item)}</p>", pymupdf.Rect(inner.x0, y, inner.x1, inner.y1)).y1 + 14
