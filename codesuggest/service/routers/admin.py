"""Administration: the access log (filtered by note id, it includes the exports that disclosed the note)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select

from ...storage.orm import AccessLogEntry, AccessLogNote
from .. import schemas
from ..dependencies import Admin, DbSession

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/access-log", response_model=schemas.AccessLogPage, name="admin.access_log")
def access_log(
    principal: Admin,
    session: DbSession,
    key_name: str | None = None,
    note_id: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_DB_INT)] = 0,
) -> schemas.AccessLogPage:
    conditions = []
    if key_name:
        conditions.append(AccessLogEntry.key_name == key_name)
    if note_id:  # the requests that named the note, and the exports that disclosed it
        disclosed_by = select(AccessLogNote.access_log_id).where(AccessLogNote.note_id == note_id)
        conditions.append(or_(AccessLogEntry.note_id == note_id, AccessLogEntry.id.in_(disclosed_by)))
    if since:
        conditions.append(AccessLogEntry.at >= since)
    rows = session.scalars(
        select(AccessLogEntry).where(*conditions).order_by(AccessLogEntry.id.desc()).limit(limit).offset(offset)
    )
    total = session.scalar(select(func.count()).select_from(AccessLogEntry).where(*conditions)) or 0
    return schemas.AccessLogPage(
        items=[schemas.AccessLogOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )
