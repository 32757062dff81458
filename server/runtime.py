"""Open and close everything a process of Phòng họp shares, in one place.

The web app's lifespan and the command-line tools (import, user management) both use
`open_services`, so a meeting imported from the command line goes through the very
same intake and rendering as an upload over HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from server.api.deps import Services
from server.config import Settings
from server.db.engine import Database
from server.documents.pipeline import Renderer
from server.documents.pool import RenderPool
from server.documents.store import PageStore
from server.security.credentials import CredentialStore
from server.security.ratelimit import LoginRateLimiter
from server.services.documents import DocumentService


@contextlib.asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    pool = RenderPool(settings.render_workers, settings.render_timeout,
                      settings.render_memory_mb)
    documents: DocumentService | None = None
    renderer: Renderer | None = None
    try:
        if migrate:
            await db.migrate()
        await pool.start()
        renderer = Renderer(pool, PageStore(settings.data_dir), settings.page_widths,
                            settings.prerender_widths, settings.thumbnail_width)
        documents = DocumentService(settings, db, renderer)
        yield Services(
            settings=settings, db=db,
            credentials=CredentialStore(db, settings.session_hours,
                                        settings.resolve_secret_key()),
            login_limiter=LoginRateLimiter(settings.login_attempts,
                                           settings.login_window_seconds),
            renderer=renderer, documents=documents,
        )
    finally:
        if documents is not None:
            await documents.close()
        if renderer is not None:
            await renderer.close()
        await pool.close()
        await db.dispose()
