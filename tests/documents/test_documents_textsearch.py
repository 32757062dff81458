"""Search as delegates type it: with or without diacritics."""

from __future__ import annotations

import unicodedata

import pytest

from server.documents.textsearch import find_matches, fold, snippet


def page_words(text: str) -> list[list[object]]:
    """Word boxes laid out on one line, 10 pt per word: enough to tell matches apart."""
    return [[10.0 * i, 0.0, 10.0 * i + 9, 12.0, word] for i, word in enumerate(text.split())]


def matched_words(text: str, query: str) -> list[list[str]]:
    words = page_words(text)
    by_box = {(w[0], w[1], w[2], w[3]): w[4] for w in words}
    return [[str(by_box[box]) for box in match] for match in find_matches(words, query)]


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nghị quyết", "nghi quyet"),
        ("nghi quyet", "nghi quyet"),
        ("ĐẠI HỘI Đảng bộ", "dai hoi dang bo"),
        ("Ủy ban  nhân\tdân\n xã", "uy ban nhan dan xa"),
        ("Trường, Ưu tiên, ơn", "truong, uu tien, on"),
        (unicodedata.normalize("NFD", "Hội đồng"), "hoi dong"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_query_without_diacritics_matches_any_accents() -> None:
    text = "Nghị quyết cho nghỉ phép, nghi vấn"

    assert matched_words(text, "nghi") == [["Nghị"], ["nghỉ"], ["nghi"]]


def test_query_with_diacritics_matches_only_that_word() -> None:
    text = "Nghị quyết cho nghỉ phép, nghi vấn"

    assert matched_words(text, "nghị") == [["Nghị"]]
    assert matched_words(text, "NGHỈ") == [["nghỉ"]]


def test_d_with_stroke_is_its_own_letter_when_typed() -> None:
    text = "Đông dong Dong đông"

    assert matched_words(text, "dong") == [["Đông"], ["dong"], ["Dong"], ["đông"]]
    assert matched_words(text, "Đông") == [["Đông"], ["đông"]]


def test_phrase_matches_consecutive_words_ignoring_edge_punctuation() -> None:
    text = "Điều 1. Thông qua Nghị quyết, (nghị quyết) và nghị định"

    assert matched_words(text, "nghi quyet") == [["Nghị", "quyết,"], ["(nghị", "quyết)"]]
    assert matched_words(text, "nghị quyết.") == [["Nghị", "quyết,"], ["(nghị", "quyết)"]]
    assert matched_words(text, "Điều 1") == [["Điều", "1."]]


def test_each_part_of_a_compound_word_can_be_found() -> None:
    text = "Nghị quyết số 15/2024/NQ-HĐND ngày 10/12"

    assert matched_words(text, "HĐND") == [["15/2024/NQ-HĐND"]]
    assert matched_words(text, "hdnd") == [["15/2024/NQ-HĐND"]]
    assert matched_words(text, "15/2024/nq-hđnd") == [["15/2024/NQ-HĐND"]]
    assert matched_words(text, "2024") == [["15/2024/NQ-HĐND"]]


def test_match_boxes_are_the_word_boxes() -> None:
    words = page_words("Thông qua Nghị quyết")

    assert find_matches(words, "nghị quyết") == [[(20.0, 0.0, 29.0, 12.0), (30.0, 0.0, 39.0, 12.0)]]


def test_empty_or_punctuation_query_matches_nothing() -> None:
    words = page_words("Thông qua - Nghị quyết")

    assert find_matches(words, "") == []
    assert find_matches(words, " - ") == []


def test_snippet_shows_the_first_match_in_context() -> None:
    text = ("Căn cứ Luật Tổ chức chính quyền địa phương năm 2015; xét Tờ trình của "
            "Ủy ban nhân dân xã về kế hoạch đầu tư công; Hội đồng nhân dân xã quyết nghị "
            "thông qua kế hoạch đầu tư công trung hạn giai đoạn 2026 - 2030.")

    result = snippet(text, "hoi dong", radius=20)

    assert "Hội đồng" in result
    assert result.startswith("…") and result.endswith("…")
    assert len(result) < 100
    assert snippet(text, "nghị quyết") == ""
    assert snippet("Hội đồng\n nhân dân", "hội đồng") == "Hội đồng nhân dân"
