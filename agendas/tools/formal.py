"""Short administrative documents: programme, verification report, discussion points,
closing speech, and the draft resolution with its annexes.

The draft resolution's second annex is a landscape table stored on a portrait page
with /Rotate 90, the way office software exports a landscape section.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pymupdf

import official
from data import Sources
from layout import A4, MM, Canvas, Flow, text
from markup import Source
from tables import Table


def build(sources: Sources, name: str) -> pymupdf.Document:
    source = sources.document(name)
    front = source.front
    canvas = Canvas(official.CSS)
    flow = Flow(canvas, A4, official.BODY, on_new_page=official.page_number_on_top)
    flow.new_page()
    if front.get("du_thao"):
        official.draft_mark(flow)
    if "co_quan" in front:
        official.header(flow, front)
    else:
        flow.y += 6 * MM
    official.title(flow, front["loai"], front["trich_yeu"], underline="co_quan" in front)
    if "nguoi_trinh_bay" in front:
        flow.block(f"<p class='center' style='font-style: italic'>({text(front['nguoi_trinh_bay'])})</p>",
                   space_after=14)
    _render(flow, sources, source)
    return canvas.finish()


def _render(flow: Flow, sources: Sources, source: Source) -> None:
    def sign(flow: Flow, _: str) -> None:
        official.signature(flow, source.front)

    def bang(flow: Flow, argument: str) -> None:
        key, _, prefix = argument.partition(" ")
        official.table_block(flow, sources.table(key, prefix))

    def annex(flow: Flow, argument: str) -> None:
        number, _, key = argument.partition(" ")
        flow.new_page()
        flow.block(_annex_html(number, sources.table(key).caption, source.front["kem_theo"]), space_after=8)
        official.table_block(flow, _untitled(sources, key))

    def landscape_annex(flow: Flow, argument: str) -> None:
        number, _, key = argument.partition(" ")
        _landscape_annex(flow, number, sources, key, source.front)

    official.render(flow, source.blocks, {
        "bang": bang,
        "ky": sign,
        "trang-moi": official.page_break,
        "phu-luc": annex,
        "phu-luc-ngang": landscape_annex,
    }, signature_after=official.signature_height(flow, source.front) if "ky" in source.front else 0)


def _untitled(sources: Sources, key: str) -> Table:
    """The table without its caption: on an annex page the heading names it."""
    return replace(sources.table(key), caption="")


def _annex_html(number: str, caption: str, attached_to: str) -> str:
    return (f"<p class='kind' style='font-size: 13pt'>Phụ lục {text(number)}</p>"
            f"<p class='subject'>{text(caption.upper())}</p>"
            f"<p class='center' style='font-style: italic; font-size: 11pt'>{text(attached_to)}</p>")


def _landscape_annex(flow: Flow, number: str, sources: Sources, key: str, front: dict[str, Any]) -> None:
    """One landscape page, stored portrait with /Rotate 90 (see Canvas.new_page)."""
    canvas = flow.canvas
    visible = canvas.new_page(pymupdf.Rect(0, 0, A4.height, A4.width), rotate=90)
    body = pymupdf.Rect(20 * MM, 15 * MM, visible.width - 15 * MM, visible.height - 12 * MM)
    canvas.place(f"<p class='center' style='font-size: 11pt'>{canvas.page_index + 1}</p>",
                 pymupdf.Rect(body.x0, 6 * MM, body.x1, body.y0))
    table = sources.table(key)
    heading = canvas.place(_annex_html(number, table.caption, front["kem_theo"]), body)
    untitled = _untitled(sources, key)
    canvas.place(untitled.html(body.width), pymupdf.Rect(body.x0, heading.y1 + 8, body.x1, body.y1))
    flow.y = flow.body.y1  # whatever follows starts on a fresh portrait page
