"""The `phonghop` commands an administrator types, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_meeting_folder

pytestmark = pytest.mark.slow


def phonghop(tmp_path: Path, *args: str, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PHONGHOP_DATA_DIR=str(tmp_path / "data"), PHONGHOP_RENDER_WORKERS="1")
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=180)


def test_migrate_import_and_accounts_from_the_command_line(tmp_path: Path) -> None:
    migrated = phonghop(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout

    folder = make_meeting_folder(tmp_path / "hop", "hop-cli", "")
    imported = phonghop(tmp_path, "import-agenda", str(folder))
    assert imported.returncode == 0, imported.stderr
    assert "created: 2 documents" in imported.stdout
    assert imported.stdout.count("rendered ") == 2
    again = phonghop(tmp_path, "import-agenda", str(folder), "--no-render")
    assert "updated" in again.stdout

    (folder / "meeting.toml").write_text(
        (folder / "meeting.toml").read_text().replace('file = "noi-bo.pdf"',
                                                      'file = "khong-co.pdf"'))
    broken = phonghop(tmp_path, "import-agenda", str(folder))
    assert broken.returncode == 2 and "khong-co.pdf" in broken.stderr

    created = phonghop(tmp_path, "user", "create", "quantri", "--full-name", "Quản trị",
                       "--admin", "--password-stdin", stdin="mat-khau-manh\n")
    assert created.returncode == 0, created.stderr
    short = phonghop(tmp_path, "user", "set-password", "quantri", stdin="ngan\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
    assert "Traceback" not in short.stderr
    token = phonghop(tmp_path, "user", "token", "thu", "--label", "máy điểm cầu")
    assert token.returncode == 0 and len(token.stdout.strip()) >= 40
    missing = phonghop(tmp_path, "user", "token", "khong-ai")
    assert missing.returncode == 2 and "no user" in missing.stderr
