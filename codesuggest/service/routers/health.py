"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from .. import schemas
from ..dependencies import AnyRole, State
from ..errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=schemas.Health, name="healthz")
def healthz() -> schemas.Health:
    return schemas.Health(status="ok")


@router.get("/readyz", response_model=schemas.Ready, name="readyz")
def readyz(request: Request) -> schemas.Ready:
    state = getattr(request.app.state, "service", None)
    if state is None:
        raise Unavailable("model and code sets are not loaded yet")
    try:
        with state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable: {type(exc).__name__}") from None
    return schemas.Ready(status="ready", model_version=state.models.current.version, code_sets=dict(state.catalog.versions))


@router.get("/metrics", name="metrics", response_class=Response)
def metrics(principal: AnyRole, state: State) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
