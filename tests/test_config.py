"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "PHONGHOP_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db",
        "REDIS_URL": "redis://h:6379/0", "PHONGHOP_ALLOWED_ORIGINS": "https://a.vn/, https://b.vn",
        "PHONGHOP_MAX_UPLOAD_MB": "5", "PHONGHOP_PRERENDER_WIDTHS": "1280,800",
        "PHONGHOP_WS_BACKLOG": "64", "PHONGHOP_COOKIE_SECURE": "1",
        "PHONGHOP_EPHEMERAL_BUDGET": "5000",
    })
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.redis_url == "redis://h:6379/0"
    assert settings.allowed_origins == ("https://a.vn", "https://b.vn")
    assert settings.max_upload_bytes == 5 * 1024 * 1024
    assert settings.prerender_widths == (800, 1280) and settings.ws_backlog == 64
    assert settings.cookie_secure is True and settings.ephemeral_budget == 5000
    assert Settings.from_env({"PHONGHOP_DATA_DIR": str(tmp_path)}).database_url.startswith(
        f"sqlite+aiosqlite:///{tmp_path}")


def test_a_width_outside_the_buckets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, prerender_widths=(999,))


def test_a_generated_secret_key_survives_a_restart(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolve_secret_key()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).resolve_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path, secret_key="set").resolve_secret_key() == b"set"
