"""Settings from the environment, with embedded defaults that run the demo as it is.

Every setting is read from a `PHONGHOP_*` variable (or the conventional `DATABASE_URL` /
`REDIS_URL`). The README's settings table is generated from `SETTINGS_DOC` below, so the
two never drift apart.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

# (environment variable, default shown in docs, meaning)
SETTINGS_DOC: list[tuple[str, str, str]] = [
    ("DATABASE_URL", "sqlite+aiosqlite:///<data-dir>/phonghop.db",
     "SQLAlchemy async URL: `sqlite+aiosqlite:///path` or `postgresql+asyncpg://user@host/db`."),
    ("REDIS_URL", "(unset: in-process broker)",
     "Redis for pub/sub between server processes, e.g. `redis://127.0.0.1:6379/0`."),
    ("PHONGHOP_REDIS_PREFIX", "phonghop",
     "Prefix of the Redis pub/sub channels; give each deployment sharing a Redis its own."),
    ("PHONGHOP_WS_BACKLOG", "512",
     "Messages queued for a websocket that is not reading before it is closed (code 4008)."),
    ("PHONGHOP_EPHEMERAL_BUDGET", "20000",
     "Live ink and pointer deliveries per second and process; beyond it they are dropped, "
     "so pens never delay page turns."),
    ("PHONGHOP_DATA_DIR", "./data", "Where uploaded PDFs and rendered pages are stored."),
    ("PHONGHOP_SECRET_KEY", "(generated once, kept in <data-dir>/secret_key)",
     "Key under which sign-in tokens are stored (HMAC); every process of a deployment "
     "needs the same one."),
    ("PHONGHOP_ALLOWED_ORIGINS", "(the server's own origin)",
     "Comma-separated origins allowed to send cookie-authenticated changes."),
    ("PHONGHOP_COOKIE_SECURE", "0", "Set to 1 behind HTTPS so the session cookie is Secure."),
    ("PHONGHOP_SESSION_HOURS", "12", "How long a login stays valid."),
    ("PHONGHOP_LOGIN_ATTEMPTS", "10", "Failed logins allowed per address and user per window."),
    ("PHONGHOP_LOGIN_WINDOW_SECONDS", "300", "The window for the login rate limit."),
    ("PHONGHOP_MAX_UPLOAD_MB", "100", "Largest PDF accepted."),
    ("PHONGHOP_MAX_PAGES", "2000", "Most pages a PDF may have."),
    ("PHONGHOP_RENDER_WORKERS", "2", "Render worker processes."),
    ("PHONGHOP_RENDER_TIMEOUT_SECONDS", "60", "Time limit for one render job."),
    ("PHONGHOP_RENDER_MEMORY_MB", "1024", "Address-space limit of a render worker."),
    ("PHONGHOP_PRERENDER_WIDTHS", "1024,1600", "Page widths rendered at upload (WebP)."),
    ("PHONGHOP_THUMBNAIL_WIDTH", "200", "Thumbnail width rendered at upload."),
    ("PHONGHOP_PAGE_WIDTHS", "200,480,800,1024,1280,1600,2048,2560",
     "Every width a client may ask for; a request is snapped up to the nearest."),
    ("PHONGHOP_STUN_URL", "(none: a LAN needs none)",
     "A STUN server for video, e.g. `stun:stun.huyen.gov.vn:3478`."),
    ("PHONGHOP_TURN_URL", "(none)",
     "A TURN server (coturn) for video to sites behind NAT, e.g. `turn:turn.huyen.gov.vn:3478`."),
    ("PHONGHOP_TURN_SECRET", "(none)",
     "coturn's `static-auth-secret`: the server hands out TURN credentials made from it."),
    ("PHONGHOP_TURN_TTL_HOURS", "12", "How long the TURN credentials handed out stay valid."),
    ("PHONGHOP_MEDIA", "1", "Set to 0 to run without video (no relay in this process)."),
]

# Render buckets are a property of the renderer, not of a deployment's taste: clients
# snap to them, and every bucket is one cache entry per page.
_DEFAULT_WIDTHS = (200, 480, 800, 1024, 1280, 1600, 2048, 2560)


def _ints(value: str) -> tuple[int, ...]:
    return tuple(sorted({int(part) for part in value.split(",") if part.strip()}))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str | None = None
    redis_prefix: str = "phonghop"
    ws_backlog: int = 512
    ephemeral_budget: int = 20_000  # live ink and pointer deliveries per second and process
    secret_key: str = ""  # empty: generated once and kept in the data directory
    allowed_origins: tuple[str, ...] = ()
    cookie_secure: bool = False
    session_hours: int = 12
    login_attempts: int = 10
    login_window_seconds: int = 300
    max_upload_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2000
    render_workers: int = 2
    render_timeout: float = 60.0
    render_memory_mb: int = 1024
    prerender_widths: tuple[int, ...] = (1024, 1600)
    thumbnail_width: int = 200
    page_widths: tuple[int, ...] = _DEFAULT_WIDTHS
    # Video: STUN/TURN for the relay and for the clients it hands them to.
    stun_url: str | None = None
    turn_url: str | None = None
    turn_secret: str | None = None
    turn_ttl_hours: int = 12
    media: bool = True
    # Where the web client's files are served from.
    client_dir: Path = Path(__file__).resolve().parent.parent / "client-web"

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'phonghop.db'}"
            )
        widths = set(self.page_widths)
        if not set(self.prerender_widths) | {self.thumbnail_width} <= widths:
            raise ValueError("prerender and thumbnail widths must be among PHONGHOP_PAGE_WIDTHS")
        if self.stun_url and not self.stun_url.startswith("stun:"):
            raise ValueError(f"PHONGHOP_STUN_URL must start with stun:, not {self.stun_url!r}")
        if self.turn_url and not self.turn_url.startswith(("turn:", "turns:")):
            raise ValueError(f"PHONGHOP_TURN_URL must start with turn: or turns:, not "
                             f"{self.turn_url!r}")
        if self.turn_url and not self.turn_secret:
            raise ValueError("PHONGHOP_TURN_URL needs PHONGHOP_TURN_SECRET (coturn's "
                             "static-auth-secret)")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolve_secret_key(self) -> bytes:
        """The configured key, or the one kept in the data directory (made on first use)."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret_key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        return path.read_bytes().strip()

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from the environment; keyword overrides win (used by the CLI)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if "PHONGHOP_DATA_DIR" in env:
            values["data_dir"] = Path(env["PHONGHOP_DATA_DIR"])
        if env.get("DATABASE_URL"):
            values["database_url"] = normalize_database_url(env["DATABASE_URL"])
        if env.get("REDIS_URL"):
            values["redis_url"] = env["REDIS_URL"]
        for var, name in (("PHONGHOP_STUN_URL", "stun_url"), ("PHONGHOP_TURN_URL", "turn_url"),
                          ("PHONGHOP_TURN_SECRET", "turn_secret")):
            if env.get(var):
                values[name] = env[var].strip()
        if "PHONGHOP_MEDIA" in env:
            values["media"] = env["PHONGHOP_MEDIA"].strip() not in {"0", "false", "no"}
        if env.get("PHONGHOP_REDIS_PREFIX"):
            values["redis_prefix"] = env["PHONGHOP_REDIS_PREFIX"]
        if env.get("PHONGHOP_SECRET_KEY"):
            values["secret_key"] = env["PHONGHOP_SECRET_KEY"]
        if env.get("PHONGHOP_ALLOWED_ORIGINS"):
            values["allowed_origins"] = tuple(
                o.strip().rstrip("/") for o in env["PHONGHOP_ALLOWED_ORIGINS"].split(",")
                if o.strip()
            )
        if "PHONGHOP_COOKIE_SECURE" in env:
            values["cookie_secure"] = env["PHONGHOP_COOKIE_SECURE"].strip() in {"1", "true", "yes"}
        numbers = {
            "PHONGHOP_SESSION_HOURS": ("session_hours", int),
            "PHONGHOP_LOGIN_ATTEMPTS": ("login_attempts", int),
            "PHONGHOP_LOGIN_WINDOW_SECONDS": ("login_window_seconds", int),
            "PHONGHOP_MAX_PAGES": ("max_pages", int),
            "PHONGHOP_RENDER_WORKERS": ("render_workers", int),
            "PHONGHOP_RENDER_TIMEOUT_SECONDS": ("render_timeout", float),
            "PHONGHOP_RENDER_MEMORY_MB": ("render_memory_mb", int),
            "PHONGHOP_THUMBNAIL_WIDTH": ("thumbnail_width", int),
            "PHONGHOP_WS_BACKLOG": ("ws_backlog", int),
            "PHONGHOP_TURN_TTL_HOURS": ("turn_ttl_hours", int),
            "PHONGHOP_EPHEMERAL_BUDGET": ("ephemeral_budget", int),
        }
        for var, (name, kind) in numbers.items():
            if env.get(var):
                values[name] = kind(env[var])
        if env.get("PHONGHOP_MAX_UPLOAD_MB"):
            values["max_upload_bytes"] = int(float(env["PHONGHOP_MAX_UPLOAD_MB"]) * 1024 * 1024)
        if env.get("PHONGHOP_PRERENDER_WIDTHS"):
            values["prerender_widths"] = _ints(env["PHONGHOP_PRERENDER_WIDTHS"])
        if env.get("PHONGHOP_PAGE_WIDTHS"):
            values["page_widths"] = _ints(env["PHONGHOP_PAGE_WIDTHS"])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def normalize_database_url(url: str) -> str:
    """Accept the plain URLs operators write and pick the async driver for them."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url
