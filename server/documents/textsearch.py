"""Search that reads Vietnamese the way delegates type it.

Many people type without diacritics ("nghi quyet"), so a query word without diacritics
matches any accents: "nghi" finds "nghị", "nghỉ" and "nghi". A query word typed with
diacritics means exactly that word: "nghị" (resolution) must not find "nghỉ" (rest).
Case never matters, and punctuation at the edges of a word is ignored ("quyết," is
"quyết"). A word made of parts ("15/2024/NQ-HĐND") is also found by each part.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# đ/Đ are letters of their own, not d + a mark, so NFD does not take them apart.
_LETTER_MAP = str.maketrans({"đ": "d", "Đ": "d"})
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_PART_SEPARATOR = re.compile(r"[\W_]+")
_WORD = re.compile(r"\S+")


def fold(text: str) -> str:
    """Lower case, no diacritics, đ → d, single spaces: "Nghị  Quyết" → "nghi quyet"."""
    text = unicodedata.normalize("NFC", text).lower()
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.translate(_LETTER_MAP).split())


def _exact(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


@dataclass(frozen=True)
class _Term:
    text: str
    exact: bool  # typed with diacritics: compare NFC lower case, not folded


def _terms(query: str) -> list[_Term]:
    terms = []
    for token in query.split():
        token = _EDGE_PUNCTUATION.sub("", _exact(token))
        if token:
            folded = fold(token)
            terms.append(_Term(token if folded != token else folded, folded != token))
    return terms


@dataclass(frozen=True)
class _WordForms:
    exact: frozenset[str]
    folded: frozenset[str]

    @classmethod
    def of(cls, word: str) -> _WordForms:
        whole = _EDGE_PUNCTUATION.sub("", _exact(word))
        forms = {whole, *(part for part in _PART_SEPARATOR.split(whole) if part)}
        forms.discard("")
        return cls(frozenset(forms), frozenset(fold(f) for f in forms))

    def matches(self, term: _Term) -> bool:
        return term.text in (self.exact if term.exact else self.folded)


def _find(words: Sequence[str], terms: list[_Term]) -> list[int]:
    """Start indexes of non-overlapping runs of `words` that match `terms` in order."""
    if not terms:
        return []
    forms = [_WordForms.of(word) for word in words]
    starts = []
    i = 0
    while i + len(terms) <= len(forms):
        if all(forms[i + j].matches(term) for j, term in enumerate(terms)):
            starts.append(i)
            i += len(terms)
        else:
            i += 1
    return starts


def find_matches(
    words: Sequence[Sequence[Any]], query: str
) -> list[list[tuple[float, float, float, float]]]:
    """Each occurrence of `query` in a page's [x0, y0, x1, y1, word] list, as its word boxes."""
    terms = _terms(query)
    starts = _find([str(w[4]) for w in words], terms)
    return [
        [(float(w[0]), float(w[1]), float(w[2]), float(w[3])) for w in words[s : s + len(terms)]]
        for s in starts
    ]


def snippet(text: str, query: str, radius: int = 60) -> str:
    """The first occurrence of `query` in `text` with about `radius` characters around it."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    terms = _terms(query)
    starts = _find([text[a:b] for a, b in spans], terms)
    if not starts:
        return ""
    first = starts[0]
    begin, end = spans[first][0], spans[first + len(terms) - 1][1]
    lo, hi = max(0, begin - radius), min(len(text), end + radius)
    # Widen to whole words so the snippet never starts or ends mid-word.
    for a, b in spans:
        if a < lo < b:
            lo = a
        if a < hi < b:
            hi = b
    body = " ".join(text[lo:hi].split())
    return ("…" if text[:lo].strip() else "") + body + ("…" if text[hi:].strip() else "")
