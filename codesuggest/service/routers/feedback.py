"""Coders' final code sets as training examples (JSONL, streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ...codesets.successors import remapper_for
from ...storage import feedback
from ..dependencies import DataScientist, State, notes_disclosed

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.get(
    "/export",
    name="feedback.export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": '{"note_id", "text", "codes"} per line; '
                     'a code decided under an older release is its successor, with "mapped_from"'}},
)
def export(principal: DataScientist, state: State, request: Request, since: datetime | None = None) -> StreamingResponse:
    with state.db.sessions() as session:
        note_ids = feedback.coded_note_ids(session, since)
    # the access log names every note this response discloses, and is written before the first byte goes out
    notes_disclosed(request, note_ids)

    def lines() -> Iterator[str]:
        # its own session: the stream outlives the request's dependencies
        with state.db.sessions() as session:
            # codes decided under an older release go out as their successors in the loaded one
            remapper = remapper_for(state.catalog)
            yield from feedback.to_jsonl_lines(feedback.iter_feedback(session, note_ids=note_ids, remapper=remapper))

    return StreamingResponse(lines(), media_type="application/x-ndjson")
