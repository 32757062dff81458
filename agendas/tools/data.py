"""Reading the plain-data sources under agendas/tools/sources/."""

from __future__ import annotations

import tomllib
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Any

import markup
from tables import Table, commune_table, hand_table

SOURCES = Path(__file__).resolve().parent / "sources"


class Sources:
    """The source folder: Markdown documents, hand tables, commune data."""

    def __init__(self, folder: Path = SOURCES) -> None:
        self.folder = folder

    def toml(self, name: str) -> dict[str, Any]:
        raw = (self.folder / name).read_text(encoding="utf-8")
        if not unicodedata.is_normalized("NFC", raw):
            raise ValueError(f"{name} is not NFC-normalized")
        return tomllib.loads(raw)

    def document(self, name: str) -> markup.Source:
        return markup.load(self.folder / name)

    @cached_property
    def _hand_tables(self) -> dict[str, Any]:
        return self.toml("bang.toml")

    @cached_property
    def communes(self) -> list[dict[str, Any]]:
        return list(self.toml("xa.toml")["xa"])

    @cached_property
    def _commune_tables(self) -> dict[str, dict[str, Any]]:
        return {spec["so"]: spec for spec in self.toml("bieu.toml")["bieu"]}

    def table(self, key: str, caption_prefix: str = "") -> Table:
        """A hand table by key; the prefix numbers it where it appears ("Bảng 8.")."""
        spec = dict(self._hand_tables[key])
        if caption_prefix:
            spec["ten"] = f"{caption_prefix} {spec['ten']}"
        return hand_table(spec)

    def commune_table(self, number: str) -> Table:
        return commune_table(self._commune_tables[number], self.communes)
