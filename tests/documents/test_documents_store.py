"""The page store: where files go, and that nobody ever sees half of one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from server.documents.store import PageStore, sha256_file, write_atomic

SHA = "ab" + "0" * 62


def test_layout_fans_out_by_the_first_two_hex_digits(tmp_path: Path) -> None:
    store = PageStore(tmp_path)

    assert store.pdf_path(SHA) == tmp_path / "pdf" / "ab" / f"{SHA}.pdf"
    assert store.page_path(SHA, 3, 1600, "webp") == tmp_path / "pages/ab" / SHA / "p3-w1600.webp"
    assert store.text_path(SHA, 3) == tmp_path / "pages/ab" / SHA / "p3.json"


@pytest.mark.parametrize("bad", ["../../etc/passwd", SHA.upper(), SHA[:-1], SHA + "0", ""])
def test_only_hex_digests_become_paths(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        PageStore(tmp_path).pdf_path(bad)


def test_sha256_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 agenda")

    assert sha256_file(tmp_path / "a.pdf") == hashlib.sha256(b"%PDF-1.7 agenda").hexdigest()


def test_atomic_write_replaces_the_whole_file_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "p1-w200.webp"

    write_atomic(target, b"old")
    write_atomic(target, b"new image")

    assert target.read_bytes() == b"new image"
    assert [p.name for p in target.parent.iterdir()] == ["p1-w200.webp"]
    assert target.stat().st_mode & 0o777 == 0o644


async def test_upload_is_moved_into_place(tmp_path: Path) -> None:
    store = PageStore(tmp_path / "data")
    upload = tmp_path / "upload.tmp"
    upload.write_bytes(b"%PDF-1.7 agenda")

    path = await store.put_pdf_from(upload, SHA)

    assert path == store.pdf_path(SHA)
    assert path.read_bytes() == b"%PDF-1.7 agenda"
    assert not upload.exists()


async def test_same_document_uploaded_twice_is_stored_once(tmp_path: Path) -> None:
    store = PageStore(tmp_path / "data")
    first, second = tmp_path / "1.tmp", tmp_path / "2.tmp"
    first.write_bytes(b"%PDF-1.7 agenda")
    second.write_bytes(b"%PDF-1.7 agenda")
    await store.put_pdf_from(first, SHA)
    stored = store.pdf_path(SHA).stat()

    await store.put_pdf_from(second, SHA)

    assert not second.exists()
    assert store.pdf_path(SHA).stat().st_ino == stored.st_ino
