"""The layout of a Vietnamese administrative document (after Decree 30/2020/NĐ-CP).

Issuing body and number on the left, the national motto on the right, the document
kind and subject centred below, the body justified with a first-line indent, and at the
end the recipients (Nơi nhận) beside the signature block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pymupdf

from layout import A4, MM, Canvas, Flow, text
from markup import Block, Directive, Heading, Paragraph, inline
from tables import Table

BODY = pymupdf.Rect(30 * MM, 20 * MM, A4.width - 15 * MM, A4.height - 20 * MM)
TEXT_SIZE = 12.0
LINE = TEXT_SIZE * 1.4
PARAGRAPH_GAP = 4.0

CSS = f"""
body {{font-size: {TEXT_SIZE}pt; line-height: 1.4;}}
p.body, p.basis {{text-align: justify; text-indent: 1cm;}}
p.basis {{font-style: italic;}}
p.noindent {{text-align: justify;}}
p.center {{text-align: center;}}
p.right {{text-align: right;}}
p.head {{text-align: center; font-weight: bold; line-height: 1.25;}}
p.motto {{text-align: center; font-weight: bold; font-size: 12.5pt; line-height: 1.25;}}
p.number {{text-align: center; font-size: 12pt;}}
p.dated {{text-align: center; font-style: italic; font-size: 12pt;}}
p.kind {{text-align: center; font-weight: bold; font-size: 14pt;}}
p.subject {{text-align: center; font-weight: bold; font-size: 13pt; line-height: 1.3;}}
p.recipients-title {{font-weight: bold; font-style: italic; font-size: 11pt;}}
p.recipients {{font-size: 10pt; line-height: 1.25;}}
p.sign {{text-align: center; font-weight: bold; line-height: 1.3;}}
p.draft {{text-align: center; font-weight: bold; font-size: 11pt;}}
h1 {{font-size: 13pt; font-weight: bold; text-align: center; margin: 0; line-height: 1.35;}}
h2, h3, h4 {{font-size: {TEXT_SIZE}pt; font-weight: bold; margin: 0; text-align: justify;
             text-indent: 1cm; line-height: 1.4;}}
h4 {{font-style: italic;}}
p.caption {{font-weight: bold; text-align: center; font-size: 11pt; margin-bottom: 2pt;}}
p.unit {{text-align: right; font-style: italic; font-size: 10pt; margin-bottom: 2pt;}}
p.note {{font-style: italic; font-size: 9.5pt; margin-top: 2pt;}}
td.left {{text-align: left;}}
td.right {{text-align: right;}}
td.center {{text-align: center;}}
tr.total td {{font-weight: bold;}}
tr.sub td {{font-style: italic;}}
"""

BOLD = pymupdf.Font("notosbo")

DirectiveHandler = Callable[[Flow, str], None]


def html_lines(lines: list[str] | tuple[str, ...] | str, css_class: str) -> str:
    """One paragraph per line, all with the same class."""
    if isinstance(lines, str):
        lines = lines.split("\n")
    return "".join(f"<p class='{css_class}'>{inline(line)}</p>" for line in lines)


def rule(canvas: Canvas, centre_x: float, y: float, length: float) -> None:
    """A thin horizontal line centred on centre_x, the one under a heading block."""
    start, end = pymupdf.Point(centre_x - length / 2, y), pymupdf.Point(centre_x + length / 2, y)
    canvas.decorate(lambda page: page.draw_line(start, end, color=(0, 0, 0), width=0.6))


def header(flow: Flow, front: Mapping[str, Any]) -> None:
    """Issuing body and number on the left, national motto and date on the right."""
    left = pymupdf.Rect(flow.body.x0 - 12 * MM, flow.y, flow.body.x0 + 0.40 * flow.width, flow.body.y1)
    right = pymupdf.Rect(left.x1 + 4, flow.y, flow.body.x1 + 5 * MM, flow.body.y1)
    canvas = flow.canvas
    body_lines = front["co_quan"].split("\n")
    parent = front.get("co_quan_chu_quan", "")
    html = (f"<p class='head' style='font-weight: normal'>{text(parent)}</p>" if parent else "")
    html += html_lines(body_lines, "head")
    issued = canvas.place(html, left)
    widest = max(BOLD.text_length(line, TEXT_SIZE) for line in body_lines)
    rule(canvas, (left.x0 + left.x1) / 2, issued.y1 + 2, min(widest * 0.45, 90))
    number = canvas.place(f"<p class='number'>{text(front['so_hieu'])}</p>",
                          pymupdf.Rect(left.x0, issued.y1 + 9, left.x1, left.y1))

    motto = canvas.place("<p class='head' style='font-size: 11.5pt'>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</p>"
                         "<p class='motto'>Độc lập - Tự do - Hạnh phúc</p>", right)
    rule(canvas, (right.x0 + right.x1) / 2, motto.y1 + 2, BOLD.text_length("Độc lập - Tự do - Hạnh phúc", 12.5))
    dated = canvas.place(f"<p class='dated'>{text(front['dia_danh_ngay'])}</p>",
                         pymupdf.Rect(right.x0, motto.y1 + 9, right.x1, right.y1))
    flow.y = max(number.y1, dated.y1) + 14


def title(flow: Flow, kind: str, subject: str, *, underline: bool = True) -> None:
    """Document kind (BÁO CÁO, NGHỊ QUYẾT...) and its subject, centred."""
    canvas = flow.canvas
    placed = canvas.place(f"<p class='kind'>{text(kind)}</p>" + html_lines(subject, "subject"),
                          pymupdf.Rect(flow.body.x0, flow.y, flow.body.x1, flow.body.y1))
    if underline:
        rule(canvas, (flow.body.x0 + flow.body.x1) / 2, placed.y1 + 3, 70)
    flow.y = placed.y1 + 14


def draft_mark(flow: Flow) -> None:
    """The boxed DỰ THẢO above the header of a draft."""
    box = pymupdf.Rect(flow.body.x0 - 8 * MM, flow.y - 12 * MM, flow.body.x0 + 20 * MM, flow.y - 5 * MM)
    flow.canvas.place("<p class='draft'>DỰ THẢO</p>", box + (0, 2.5, 0, 0))
    flow.canvas.decorate(lambda page: page.draw_rect(box, color=(0, 0, 0), width=0.8))


SIGNATURE_GAP = 56.0  # room for the hand signature and the seal


def _signature_html(front: Mapping[str, Any]) -> tuple[str, str]:
    recipients = front.get("noi_nhan", [])
    left = ("<p class='recipients-title'>Nơi nhận:</p>" + html_lines(recipients, "recipients")
            if recipients else "")
    return left, html_lines(front["ky"]["chuc_danh"], "sign")


def signature_height(flow: Flow, front: Mapping[str, Any]) -> float:
    left_html, right_html = _signature_html(front)
    half = flow.width / 2
    return 10 + max(flow.canvas.measure(left_html, half - 10) if left_html else 0,
                    flow.canvas.measure(right_html, half) + SIGNATURE_GAP + LINE)


def signature(flow: Flow, front: Mapping[str, Any]) -> None:
    """Recipients on the left, the signer on the right, kept together on one page."""
    sign = front["ky"]
    left_html, right_html = _signature_html(front)
    gap = SIGNATURE_GAP
    name_html = f"<p class='sign'>{text(sign['ten'])}</p>"
    half = flow.width / 2
    flow.ensure(signature_height(flow, front))
    flow.space(10)
    top = flow.y
    bottom = top
    if left_html:
        bottom = flow.canvas.place(left_html, pymupdf.Rect(flow.body.x0, top, flow.body.x0 + half - 10,
                                                           flow.body.y1)).y1
    column = pymupdf.Rect(flow.body.x0 + half, top, flow.body.x1, flow.body.y1)
    signer = flow.canvas.place(right_html, column)
    if "dau" in sign:
        flow.canvas.place(f"<p class='center' style='font-style: italic; font-size: 10.5pt;"
                          f" color: #555'>{text(sign['dau'])}</p>",
                          pymupdf.Rect(column.x0, signer.y1 + gap / 2 - 8, column.x1, flow.body.y1))
    named = flow.canvas.place(name_html, pymupdf.Rect(column.x0, signer.y1 + gap, column.x1, flow.body.y1))
    flow.y = max(bottom, named.y1) + PARAGRAPH_GAP


def page_number_on_top(flow: Flow) -> None:
    """Decree 30 numbering: centred at the top, none on the first page."""
    index = flow.canvas.page_index
    if index == 0:
        return
    top = pymupdf.Rect(flow.body.x0, 9 * MM, flow.body.x1, 18 * MM)
    flow.canvas.place(f"<p class='center' style='font-size: 11pt'>{index + 1}</p>", top)


def render(flow: Flow, blocks: tuple[Block, ...], directives: Mapping[str, DirectiveHandler],
           *, signature_after: float = 0) -> None:
    """Lay out parsed Markdown blocks; directives are handled by the caller's table.

    signature_after is the height of the signature block: the paragraph just before a
    {{ky}} directive keeps that much room after it, so the signature never sits alone.
    """
    def signed_next(index: int) -> bool:
        return index + 1 < len(blocks) and blocks[index + 1] == Directive("ky")

    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            keep = 2.5 * LINE
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if isinstance(following, Paragraph) and signed_next(index + 1):
                keep = flow.canvas.measure(paragraph_html(following), flow.width) + signature_after
            heading(flow, block, first=index == 0, keep_with_next=keep)
        elif isinstance(block, Paragraph):
            flow.block(paragraph_html(block), space_before=6 if block.css_class == "head" and index else 0,
                       space_after=PARAGRAPH_GAP, keep_with_next=signature_after if signed_next(index) else 0)
        elif isinstance(block, Directive):
            if block.name not in directives:
                raise ValueError(f"unknown directive {{{{{block.name}}}}}")
            directives[block.name](flow, block.argument)


def paragraph_html(block: Paragraph) -> str:
    return f"<p class='{block.css_class or 'body'}'>{inline(block.text)}</p>"


def heading(flow: Flow, block: Heading, *, first: bool = False, keep_with_next: float = 2.5 * LINE) -> None:
    tag = f"h{block.level}"
    html = f"<{tag}>" + "<br/>".join(inline(line) for line in block.lines) + f"</{tag}>"
    before = {1: 10.0, 2: 8.0, 3: 5.0, 4: 3.0}[block.level]
    flow.heading(block.level, block.title, html, space_before=0 if first else before,
                 space_after=PARAGRAPH_GAP + (4 if block.level == 1 else 0), keep_with_next=keep_with_next)


def table_block(flow: Flow, table: Table) -> int:
    """A table, moved whole to the next page when short, split with its header when long.

    Returns the index of the page the table starts on.
    """
    height = flow.canvas.measure(table.html(flow.width), flow.width)
    if height <= flow.body.height * 0.5:
        return flow.unbreakable(table.html(flow.width), space_before=4, space_after=8)
    # A table that fits on a page breaks only if most of it fits here; a longer one
    # fills what is left of this page.
    min_rows = len(table.rows) // 2 + 1 if height <= flow.body.height else 3
    return flow.split_block(lambda start, stop: table.html(flow.width, start, stop), len(table.rows),
                            min_rows=min_rows, space_before=4, space_after=8)


def page_break(flow: Flow, _argument: str = "") -> None:
    flow.new_page()
