"""The FastAPI application: ``create_app(settings, suggester_provider=..., registry=...)``.

The lifespan migrates the database (``alembic upgrade head``), loads the code sets and
the active model once, and keeps them in ``app.state.service``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ..codesets import CodeCatalog
from ..codesets.rules import check_codes
from ..config import Settings, get_settings
from ..models.interface import CodeSuggester, ModelRegistry
from ..storage.db import Database
from . import schemas
from .errors import install_error_handlers
from .memory import limit_malloc_arenas
from .metrics import Metrics
from .middleware import ServiceMiddleware
from .routers import admin, audit, claims, codes, codesets, feedback, health, models, notes
from .routers.web import mount_web
from .runtime import WARM_UP_NOTE, ModelHolder, ServiceState, warm_up_model

log = logging.getLogger(__name__)

# Documented on every operation: any request may meet these (the middleware's size guard and last-resort
# 500 included), and all of them have the one error shape of errors.py.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": schemas.ErrorOut, "description": description}
    for status, description in {
        400: "the body could not be parsed (not UTF-8 or not JSON)", 401: "missing or invalid API key",
        403: "the key's role may not do this", 404: "not found",
        405: "method not allowed", 409: "conflict", 413: "request body or note text over the limit",
        415: "unsupported media type", 422: "invalid request", 500: "internal error",
        503: "starting, the database is unreachable, or a model worker restarted mid-request (retry)",
    }.items()
}

SuggesterProvider = Callable[[], CodeSuggester]
CatalogProvider = Callable[[], CodeCatalog]


def _default_suggester(settings: Settings) -> SuggesterProvider:
    def load() -> CodeSuggester:
        from ..models.runtime import load_active_or_default  # imported when first needed

        return load_active_or_default(settings)

    return load


def warm_up(catalog: CodeCatalog, suggester: CodeSuggester) -> None:
    """Run once what the first requests would otherwise pay for (the coding rules' notes, the
    type-ahead word index, the pipeline's lazy parts), so that ready means fast."""
    check_codes([("ICD10CM", "E11.22"), ("ICD10CM", "I10")], catalog, WARM_UP_NOTE)
    catalog.search("diabetes")
    from ..pipeline.codesearch import searcher_for  # the coder's code search: its word index (seconds)

    searcher_for(catalog).search("diabetes")
    warm_up_model(suggester)


def create_app(
    settings: Settings | None = None,
    *,
    suggester_provider: SuggesterProvider | None = None,
    registry: ModelRegistry | None = None,
    catalog: CodeCatalog | CatalogProvider | None = None,
) -> FastAPI:
    """The service. ``suggester_provider`` returns the model to serve at start-up (default: the
    registry's active model, or a default one); ``registry`` enables ``POST /v1/models/{v}/activate``;
    ``catalog`` is a loaded catalogue or a function that loads one (default: from ``settings``)."""
    settings = settings or get_settings()
    provide_suggester = suggester_provider or _default_suggester(settings)

    def provide_catalog() -> CodeCatalog:
        if isinstance(catalog, CodeCatalog):
            return catalog
        if catalog is not None:
            return catalog()
        return CodeCatalog.load(settings.code_set_sources(), settings.cache_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_malloc_arenas()
        db = Database(settings.resolved_database_url)
        try:
            await run_in_threadpool(db.migrate)
            loaded_catalog = await run_in_threadpool(provide_catalog)
            suggester = await run_in_threadpool(provide_suggester)
            await run_in_threadpool(warm_up, loaded_catalog, suggester)
            metrics = Metrics()
            app.state.service = ServiceState(
                settings=settings, db=db, catalog=loaded_catalog,
                models=ModelHolder(
                    suggester, registry, metrics, processes=settings.resolved_model_processes,
                    max_requests=settings.model_worker_max_requests,
                ),
                metrics=metrics,
            )
            log.info("serving model %s; code sets %s", suggester.version, loaded_catalog.versions)
            yield
        finally:
            state = app.state.service
            app.state.service = None
            if state is not None:
                state.models.close()
            db.dispose()

    app = FastAPI(
        title="codesuggest",
        version="1",
        description="Ranked ICD-10-CM / ICD-10-PCS / CPT suggestions for clinical notes, and the coders' decisions.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from packaged assets behind the pages' CSP (routers/web.py)
        redoc_url=None,
    )
    app.state.service = None
    install_error_handlers(app)
    # A note of max_note_chars characters, JSON-escaped, fits well within this.
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_note_chars * 6 + 1_000_000)
    for router in (health.router, notes.router, claims.router, codes.router, audit.router, feedback.router, models.router,
                   admin.router, codesets.router):
        app.include_router(router, responses=ERROR_RESPONSES)
    mount_web(app)  # the coder's and auditor's pages, /static
    return app
