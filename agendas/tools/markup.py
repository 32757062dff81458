"""The small Markdown dialect the sample documents are written in.

    +++                      TOML front matter (header, signature, recipients)
    +++
    # Phần thứ nhất // TÊN   heading, levels 1-4; " // " breaks the line
    A paragraph, wrapped over several lines, with **bold** and *italic*.
    {.center} A paragraph with a class (center, right, noindent, basis, quote, item).
    {{bang thu-ngan-sach}}   a directive: a table, a page break, a signature...
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layout import text


@dataclass(frozen=True)
class Heading:
    level: int
    lines: tuple[str, ...]

    @property
    def title(self) -> str:
        """The heading on one line, as the outline and the table of contents show it."""
        return ": ".join(self.lines)


@dataclass(frozen=True)
class Paragraph:
    text: str
    css_class: str = ""


@dataclass(frozen=True)
class Directive:
    name: str
    argument: str = ""


Block = Heading | Paragraph | Directive


@dataclass(frozen=True)
class Source:
    front: dict[str, Any]
    blocks: tuple[Block, ...]


_CLASS = re.compile(r"^\{\.([a-z-]+)\}\s*")
_DIRECTIVE = re.compile(r"^\{\{\s*([a-z0-9-]+)\s*(.*?)\s*\}\}$")
_HEADING = re.compile(r"^(#{1,4})\s+(.*)$")


def load(path: Path) -> Source:
    """Read a source file; refuse text that is not NFC, as the importer would."""
    raw = path.read_text(encoding="utf-8")
    if not unicodedata.is_normalized("NFC", raw):
        raise ValueError(f"{path} is not NFC-normalized")
    front: dict[str, Any] = {}
    if raw.startswith("+++\n"):
        end = raw.index("\n+++\n", 4)
        front = tomllib.loads(raw[4:end])
        raw = raw[end + 5:]
    return Source(front, tuple(_blocks(raw)))


def _blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        line = " ".join(part.strip() for part in chunk.splitlines())
        if not line or line.startswith("<!--"):
            continue
        if match := _HEADING.match(line):
            lines = tuple(part.strip() for part in match.group(2).split(" // "))
            blocks.append(Heading(len(match.group(1)), lines))
        elif match := _DIRECTIVE.match(line):
            blocks.append(Directive(match.group(1), match.group(2)))
        elif match := _CLASS.match(line):
            blocks.append(Paragraph(line[match.end():], match.group(1)))
        else:
            blocks.append(Paragraph(line))
    return blocks


def inline(source: str) -> str:
    """Escape text for HTML and turn **bold** and *italic* into tags."""
    html = text(source)
    html = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html)
    return re.sub(r"\*(.+?)\*", r"<i>\1</i>", html)
