"""Where documents live on disk: PDFs by content hash, rendered pages and text beside them.

    <root>/pdf/ab/<sha256>.pdf
    <root>/pages/ab/<sha256>/p<page>-w<width>.<fmt>
    <root>/pages/ab/<sha256>/p<page>.json            (text and word boxes)

Content addressing makes the cache trivially correct: a file never changes under its
name, so the same PDF uploaded to two meetings is stored and rendered once. Every write
is a temporary file renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content (blocking: call it in a thread)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file, or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes 0600 files; a front proxy serving the cache must be able to read.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class PageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    write_atomic = staticmethod(write_atomic)

    def pdf_path(self, sha: str) -> Path:
        sha = _checked(sha)
        return self.root / "pdf" / sha[:2] / f"{sha}.pdf"

    def page_dir(self, sha: str) -> Path:
        sha = _checked(sha)
        return self.root / "pages" / sha[:2] / sha

    def page_path(self, sha: str, page: int, width: int, fmt: str) -> Path:
        return self.page_dir(sha) / f"p{int(page)}-w{int(width)}.{fmt}"

    def text_path(self, sha: str, page: int) -> Path:
        return self.page_dir(sha) / f"p{int(page)}.json"

    async def put_pdf_from(self, tmp: Path, sha: str) -> Path:
        """Move an uploaded temporary file to its place; a file already there wins."""
        return await asyncio.to_thread(self._put_pdf_from, Path(tmp), self.pdf_path(sha))

    @staticmethod
    def _put_pdf_from(tmp: Path, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            tmp.unlink(missing_ok=True)
            return target
        # os.replace is atomic within one file system; the upload directory should be
        # on the same one. If it is not, copy next to the target first, then rename.
        try:
            os.replace(tmp, target)
            os.chmod(target, 0o644)  # uploads are often mkstemp files, which are 0600
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            fd, staged = tempfile.mkstemp(dir=target.parent, prefix=".upload.", suffix=".tmp")
            os.close(fd)
            try:
                shutil.copyfile(tmp, staged)
                os.chmod(staged, 0o644)
                os.replace(staged, target)
            except BaseException:
                Path(staged).unlink(missing_ok=True)
                raise
            tmp.unlink(missing_ok=True)
        return target


def _checked(sha: str) -> str:
    # The hash becomes a path: anything else (a "../" from a client) must not get there.
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
    return sha
