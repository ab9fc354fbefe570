"""Coders' final code sets as training examples (JSONL)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from .. import feedback
from ..dependencies import DataScientist, DbSession

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.get(
    "/export",
    name="feedback.export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": '{"note_id", "text", "codes"} per line'}},
)
def export(principal: DataScientist, session: DbSession, since: datetime | None = None) -> Response:
    body = feedback.to_jsonl(feedback.iter_feedback(session, since))
    return Response(body, media_type="application/x-ndjson")
