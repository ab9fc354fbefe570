"""Audit: reproducible samples, auditors' reviews, acceptance/override statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from .. import auditing, schemas
from ..dependencies import Auditor, AuditorOrDataScientist, Catalog, DbSession, State, note_accessed
from ..errors import Unprocessable

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _system(system: str | None) -> str | None:
    try:
        return schemas.parse_system(system) if system else None
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None


@router.get("/samples", response_model=schemas.AuditSample, name="audit.sample")
def sample(
    principal: Auditor,
    session: DbSession,
    state: State,
    strategy: schemas.Strategy = "low_confidence",
    size: Annotated[int, Query(ge=1, le=1000)] = 20,
    seed: Annotated[int | None, Query(ge=0, description="same seed over the same data, same sample")] = None,
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    max_confidence: Annotated[float | None, Query(ge=0.0, le=1.0, description="default: audit_low_confidence_max")] = None,
    system: str | None = None,
) -> schemas.AuditSample:
    high = state.settings.audit_low_confidence_max if max_confidence is None else max_confidence
    if min_confidence > high:
        raise Unprocessable(f"min_confidence {min_confidence} is above max_confidence {high}")
    return auditing.sample_suggestions(
        session, strategy=strategy, size=size, seed=auditing.new_seed() if seed is None else seed,
        band=(min_confidence, high), system=_system(system),
    )


@router.post("/reviews", status_code=status.HTTP_201_CREATED, response_model=schemas.ReviewOut, name="audit.review")
def review(
    body: schemas.ReviewIn, request: Request, principal: Auditor, session: DbSession, catalog: Catalog, state: State
) -> schemas.ReviewOut:
    note_accessed(request, body.note_id)
    with state.db.write_turn():
        row = auditing.add_review(session, body, catalog, principal.name)
        session.commit()
    return auditing.review_out(row, catalog)


@router.get("/stats", response_model=schemas.AuditStats, name="audit.stats")
def stats(
    principal: AuditorOrDataScientist,
    session: DbSession,
    system: str | None = None,
    code_limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> schemas.AuditStats:
    return auditing.audit_stats(session, system=_system(system), code_limit=code_limit)
