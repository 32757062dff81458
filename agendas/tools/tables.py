"""Tables of the sample meeting: data from TOML, totals and ratios computed, HTML out.

Two kinds of source: hand tables (`bang.toml`, one row per line of the table) and
commune tables (`bieu.toml`, one column per field of `xa.toml`, one row per commune).
Totals and percentages are always computed here, never typed, so that the figures a
delegate adds up on paper agree with the ones printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from layout import text

Align = Literal["left", "center", "right"]
Value = str | int | float | None

_ALIGN: dict[str, Align] = {"trai": "left", "giua": "center", "phai": "right"}


def number(value: float, decimals: int) -> str:
    """Vietnamese number format: 1.234.567,8 (dot for thousands, comma for decimals)."""
    digits = f"{abs(value):,.{decimals}f}".translate(str.maketrans(",.", ".,"))
    return ("-" if round(value, decimals) < 0 else "") + digits


def written_decimals(value: float) -> int:
    """How many decimals the source wrote: 8.5 has one, 64.0 has one, 102000 none."""
    if isinstance(value, int):
        return 0
    return len(repr(value).split(".")[1])


def cell_text(value: Value, decimals: int | None = None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return number(value, written_decimals(value) if decimals is None else decimals)


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    align: Align = "left"
    group: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    style: Literal["", "bold", "italic"] = ""


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    unit: str = ""
    note: str = ""
    font_size: float = 9.5

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(f"{self.caption}: row {row.cells} has the wrong number of cells")

    def html(self, width: float, start: int = 0, stop: int | None = None) -> str:
        """The table, or rows start..stop of it, with its header, as one HTML fragment."""
        stop = len(self.rows) if stop is None else stop
        first, last = start == 0, stop >= len(self.rows)
        parts = []
        if not first:
            parts.append(f"<p class='unit'>{text(self.caption or 'Bảng')} (tiếp theo)</p>")
        elif self.caption:
            parts.append(f"<p class='caption'>{text(self.caption)}</p>")
        if first and self.unit:
            parts.append(f"<p class='unit'>{text(self.unit)}</p>")
        parts.append(f"<table style='font-size: {self.font_size}pt'>")
        parts.extend(self._header(width))
        parts.extend(self._row(row) for row in self.rows[start:stop])
        parts.append("</table>")
        if last and self.note:
            parts.append(f"<p class='note'>{text(self.note)}</p>")
        return "".join(parts)

    def _header(self, width: float) -> list[str]:
        # Story ignores percentage widths but honours points; padding and rules come on top.
        scale = (width - 7 * len(self.columns) - 2) / sum(column.width for column in self.columns)
        widths = [f"width: {column.width * scale:.1f}pt" for column in self.columns]
        if not any(column.group for column in self.columns):
            cells = (f"<th style='{w}'>{text(c.title)}</th>"
                     for c, w in zip(self.columns, widths, strict=True))
            return ["<tr>" + "".join(cells) + "</tr>"]
        # Two header rows. A column outside any group spans both, drawn as two cells
        # without the rule between them: Story stretches rowspan rows unevenly.
        top, bottom, index = [], [], 0
        while index < len(self.columns):
            column = self.columns[index]
            if not column.group:
                top.append(f"<th style='{widths[index]}; border-bottom: none'></th>")
                bottom.append(f"<th style='{widths[index]}; border-top: none'>{text(column.title)}</th>")
                index += 1
                continue
            span = 1
            while index + span < len(self.columns) and self.columns[index + span].group == column.group:
                span += 1
            top.append(f"<th colspan='{span}'>{text(column.group)}</th>")
            for offset in range(span):
                sub = self.columns[index + offset]
                bottom.append(f"<th style='{widths[index + offset]}'>{text(sub.title)}</th>")
            index += span
        return ["<tr>" + "".join(top) + "</tr>", "<tr>" + "".join(bottom) + "</tr>"]

    def _row(self, row: Row) -> str:
        style = {"": "", "bold": " class='total'", "italic": " class='sub'"}[row.style]
        cells = "".join(
            f"<td class='{column.align}'>{text(cell)}</td>"
            for column, cell in zip(self.columns, row.cells, strict=True)
        )
        return f"<tr{style}>{cells}</tr>"


# --- hand tables (bang.toml) -------------------------------------------------------

@dataclass(frozen=True)
class _Ratio:
    numerator: int
    denominator: int
    factor: float
    decimals: int


def hand_table(spec: dict[str, Any]) -> Table:
    """A table written row by row, with ratio columns and the total row computed."""
    columns, ratios = _hand_columns(spec["cot"])
    source_rows = [_source_row(raw) for raw in spec["hang"]]
    _check_children(spec["ten"], source_rows)
    if "tong" in spec:
        total = _sum_row(spec["tong"], source_rows, len(columns) - len(ratios))
        source_rows.insert(0, (total, "bold", 1))
    rows = tuple(_with_ratios(values, len(columns), ratios, style, spec["ten"])
                 for values, style, _ in source_rows)
    return Table(spec["ten"], tuple(columns), rows, unit=spec.get("don_vi", ""),
                 note=spec.get("ghi_chu", ""), font_size=spec.get("co_chu", 9.5))


def _hand_columns(raw_columns: list[dict[str, Any]]) -> tuple[list[Column], dict[int, _Ratio]]:
    columns, ratios = [], {}
    for index, raw in enumerate(raw_columns):
        columns.append(Column(raw["ten"], raw.get("rong", 10), _ALIGN[raw.get("canh", "trai")],
                              raw.get("nhom", "")))
        if "tu" in raw:
            ratios[index] = _Ratio(raw["tu"], raw["mau"], raw.get("he_so", 100), raw.get("so_le", 1))
    return columns, ratios


SourceRow = tuple[list[Value], Literal["", "bold", "italic"], int]


def _source_row(raw: list[Value] | dict[str, Any]) -> SourceRow:
    """A row is an array, or {o = [...], kieu = "dam" | "con"} for a group or a part."""
    if isinstance(raw, list):
        return list(raw), "", 1
    kind = raw.get("kieu", "")
    styles: dict[str, Literal["", "bold", "italic"]] = {"": "", "dam": "bold", "con": "italic"}
    style = styles[kind]
    return list(raw["o"]), style, 2 if kind == "con" else 1


def _check_children(caption: str, rows: list[SourceRow]) -> None:
    """A row followed by part rows ("con") must equal their sum, column by column."""
    for index, (values, _, level) in enumerate(rows):
        if level != 1:
            continue
        children = []
        for later in rows[index + 1:]:
            if later[2] == 1:
                break
            children.append(later[0])
        if not children:
            continue
        for position, value in enumerate(values):
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            parts = [child[position] for child in children]
            numbers = [part for part in parts if isinstance(part, int | float)]
            if len(numbers) == len(parts) and abs(sum(numbers) - value) > 0.051:
                raise ValueError(f"{caption}: {values[1]} is {value}, its parts sum to {sum(numbers)}")


def _sum_row(label: str, rows: list[SourceRow], width: int) -> list[Value]:
    total: list[Value] = ["", label] + [None] * (width - 2)
    for position in range(2, width):
        column = [values[position] for values, _, level in rows if level == 1]
        numeric = [value for value in column if isinstance(value, int | float)]
        if numeric and len(numeric) == len(column):
            decimals = max(written_decimals(value) for value in numeric)
            total[position] = round(sum(numeric), decimals) if decimals else int(sum(numeric))
    return total


def _with_ratios(values: list[Value], column_count: int, ratios: dict[int, _Ratio],
                 style: Literal["", "bold", "italic"], caption: str) -> Row:
    if len(values) + len(ratios) != column_count:
        raise ValueError(f"{caption}: row {values} does not match its columns")
    source = iter(values)
    full = [None if index in ratios else next(source) for index in range(column_count)]
    cells = []
    for index, value in enumerate(full):
        ratio = ratios.get(index)
        if ratio is None:
            cells.append(cell_text(value))
            continue
        top, bottom = full[ratio.numerator], full[ratio.denominator]
        if isinstance(top, int | float) and isinstance(bottom, int | float) and bottom:
            cells.append(number(top / bottom * ratio.factor, ratio.decimals))
        else:
            cells.append("")
    return Row(tuple(cells), style)


# --- commune tables (bieu.toml over xa.toml) -----------------------------------------

def commune_table(spec: dict[str, Any], communes: list[dict[str, Any]]) -> Table:
    """One row per commune (or per xã only) and a total row for the district."""
    members = [c for c in communes if not spec.get("chi_xa") or c["loai"] == "Xã"]
    columns = [Column("TT", 3.5, "center"), Column("Xã, thị trấn", 14)]
    columns += [Column(raw["ten"], raw.get("rong", 9), "right", raw.get("nhom", ""))
                for raw in spec["cot"]]
    rows = [
        Row((str(index), _commune_name(commune), *(_commune_cell(raw, [commune]) for raw in spec["cot"])))
        for index, commune in enumerate(members, start=1)
    ]
    total = Row(("", "Toàn huyện", *(_commune_cell(raw, members, total=True) for raw in spec["cot"])),
                "bold")
    return Table(f"Biểu số {spec['so']}. {spec['ten']}", tuple(columns), (total, *rows),
                 unit=spec.get("don_vi", ""), note=spec.get("ghi_chu", ""),
                 font_size=spec.get("co_chu", 9))


def _commune_name(commune: dict[str, Any]) -> str:
    return f"TT. {commune['ten']}" if commune["loai"] == "Thị trấn" else commune["ten"]


def _commune_cell(raw: dict[str, Any], communes: list[dict[str, Any]], *, total: bool = False) -> str:
    decimals = raw.get("so_le")
    if "nam" in raw:
        years = [commune[raw["nam"]] for commune in communes]
        if total:
            return f"{sum(1 for year in years if year)}/{len(years)}"
        return str(years[0]) if years[0] else "-"
    if "tu" in raw:
        top = sum(commune[raw["tu"]] for commune in communes)
        bottom = sum(commune[raw["mau"]] for commune in communes)
        return number(top / bottom * raw.get("he_so", 100), raw.get("so_le", 1))
    if "tru" in raw:
        first, second = raw["tru"]
        value = sum(commune[first] - commune[second] for commune in communes)
        return number(value, decimals or 0)
    if total and raw.get("tong") == "khong":
        return ""
    value = sum(commune[raw["truong"]] for commune in communes)
    return cell_text(round(value, 2) if isinstance(value, float) else value, decimals)
