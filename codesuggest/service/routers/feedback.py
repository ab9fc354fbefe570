"""Coders' final code sets as training examples (JSONL, streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from .. import feedback
from ..dependencies import DataScientist, State

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.get(
    "/export",
    name="feedback.export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": '{"note_id", "text", "codes"} per line'}},
)
def export(principal: DataScientist, state: State, since: datetime | None = None) -> StreamingResponse:
    def lines() -> Iterator[str]:
        # its own session: the stream outlives the request's dependencies
        with state.db.sessions() as session:
            yield from feedback.to_jsonl_lines(feedback.iter_feedback(session, since))

    return StreamingResponse(lines(), media_type="application/x-ndjson")
