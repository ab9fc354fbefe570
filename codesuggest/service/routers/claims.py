"""The hand-off to billing: a coded note's final code set as a FHIR R4 Claim or CSV, one note or all since a date."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from ...storage.orm import Note
from .. import claims, final_codes
from .. import notes as notes_db
from ..dependencies import Catalog, Coder, DbSession, notes_disclosed
from ..errors import Conflict

router = APIRouter(tags=["claims"])
Format = Literal["fhir", "csv"]
FHIR_JSON = "application/fhir+json"
CONTENT = {FHIR_JSON: {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}


def _coded(session, note: Note, catalog) -> claims.CodedNote:
    detail = notes_db.detail_out(note, catalog, final_codes.latest_sequence(session, note.id))
    return claims.CodedNote(note=note, final_codes=detail.final_codes, findings=detail.findings,
                            override_reason=detail.export_override)


@router.get("/v1/notes/{note_id}/claim", name="claims.read", response_class=Response, responses={
    200: {"description": "a FHIR R4 Claim (application/fhir+json) or CSV rows (text/csv)", "content": CONTENT}})
def read_claim(
    note_id: str, principal: Coder, session: DbSession, catalog: Catalog, format: Format = "fhir"
) -> Response:
    """The note's final code set for billing; 409 when it is not coded yet, or has error-level code-set findings
    the coder did not override."""
    note = notes_db.get_note(session, note_id, full=True)
    if note.status != "coded":
        raise Conflict(f"note {note_id} is not coded yet: nothing to bill")
    coded = _coded(session, note, catalog)
    try:
        claims.check_exportable(coded)
    except claims.ExportBlocked as exc:
        raise Conflict(str(exc), details=[f.model_dump() for f in exc.findings]) from None
    if format == "csv":
        return Response(claims.to_csv(claims.csv_rows(coded)), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="claim-{note_id}.csv"'})
    return JSONResponse(claims.claim_resource(coded), media_type=FHIR_JSON)


@router.get("/v1/claims", name="claims.export", response_class=Response, responses={
    200: {"description": "a FHIR Bundle of Claims or CSV rows; notes held back by findings are named in "
                         "X-Codesuggest-Held-Back", "content": CONTENT}})
def export_claims(
    request: Request, principal: Coder, session: DbSession, catalog: Catalog,
    since: Annotated[datetime, Query(description="coded at or after this time (ISO 8601)")],
    format: Format = "csv",
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Every note coded since a time (oldest first, at most ``limit``); a note with error-level findings and no
    override is held back, not exported."""
    since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    notes = list(session.scalars(
        select(Note).where(Note.status == "coded", Note.coded_at >= since).order_by(Note.coded_at, Note.id).limit(limit)
    ))
    exported, held = [], []
    for note in notes:
        coded = _coded(session, notes_db.get_note(session, note.id, full=True), catalog)
        try:
            claims.check_exportable(coded)
        except claims.ExportBlocked:
            held.append(note.id)
            continue
        exported.append(coded)
    notes_disclosed(request, [c.note.id for c in exported])
    headers = {"X-Codesuggest-Held-Back": ",".join(held[:200])} if held else {}
    if format == "csv":
        rows = [row for coded in exported for row in claims.csv_rows(coded)]
        return Response(claims.to_csv(rows), media_type="text/csv", headers=headers)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": claims.claim_resource(coded)} for coded in exported]}
    return JSONResponse(bundle, media_type=FHIR_JSON, headers=headers)
