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


def test_video_settings_are_checked(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "PHONGHOP_DATA_DIR": str(tmp_path), "PHONGHOP_STUN_URL": "stun:stun.huyen.vn:3478",
        "PHONGHOP_TURN_URL": "turn:turn.huyen.vn:3478", "PHONGHOP_TURN_SECRET": "bi-mat",
        "PHONGHOP_MEDIA": "0"})
    assert settings.turn_url == "turn:turn.huyen.vn:3478" and settings.media is False
    with pytest.raises(ValueError, match="PHONGHOP_TURN_SECRET"):
        Settings(data_dir=tmp_path, turn_url="turn:t.vn:3478")
    with pytest.raises(ValueError, match="stun:"):
        Settings(data_dir=tmp_path, stun_url="http://t.vn")


def test_turn_credentials_follow_coturns_rest_scheme(tmp_path: Path) -> None:
    import base64
    import hashlib
    import hmac

    from server.live.ice import ice_servers, turn_credentials

    username, credential = turn_credentials("bi-mat", "user-7", 3600, now=1_000_000)
    assert username == "1003600:user-7"
    expected = hmac.new(b"bi-mat", b"1003600:user-7", hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected
    assert ice_servers(Settings(data_dir=tmp_path), "x") == []  # a LAN: none at all
    servers = ice_servers(Settings(data_dir=tmp_path, stun_url="stun:s.vn:3478",
                                   turn_url="turn:t.vn:3478", turn_secret="k"), "user-7")
    assert servers[0] == {"urls": ["stun:s.vn:3478"]}
    assert servers[1]["urls"] == ["turn:t.vn:3478"] and servers[1]["username"].endswith(
        ":user-7")
