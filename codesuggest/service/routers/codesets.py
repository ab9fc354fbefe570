"""Code-set updates: the open work that uses codes the loaded release retired."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import revalidation, schemas
from ..dependencies import Catalog, CoderOrAuditor, DbSession

router = APIRouter(prefix="/v1/codesets", tags=["codesets"])


@router.get("/revalidation", response_model=schemas.RevalidationOut, name="codesets.revalidation")
def open_work(
    principal: CoderOrAuditor,
    session: DbSession,
    catalog: Catalog,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_DB_INT)] = 0,
) -> schemas.RevalidationOut:
    """Notes not yet exported whose suggestions (open notes) or final codes (coded notes) use a code the
    loaded release does not bill, each with its proposed successors. Changes nothing: a coder replaces a
    code through POST /v1/notes/{note_id}/decisions."""
    return revalidation.open_work_with_retired_codes(session, catalog, limit=limit, offset=offset)
