"""Code look-up for the coder's type-ahead: codes by prefix, or words as a coder types them, ranked
(:mod:`codesuggest.pipeline.codesearch`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...codesets import CodeSystem
from ...pipeline.codesearch import searcher_for
from .. import schemas
from ..dependencies import AnyRole, Catalog
from ..errors import Unprocessable

router = APIRouter(prefix="/v1/codes", tags=["codes"])


@router.get("/search", response_model=list[schemas.CodeSearchHit], name="codes.search")
def search_codes(
    principal: AnyRole,
    catalog: Catalog,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    system: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[schemas.CodeSearchHit]:
    try:
        parsed = CodeSystem(schemas.parse_system(system)) if system else None
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    return [
        schemas.CodeSearchHit(system=c.system.value, code=c.code, description=c.description, billable=c.billable)
        for c in searcher_for(catalog).search(q, parsed, limit)
    ]
