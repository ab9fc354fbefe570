"""Notes: submit a note for suggestions, list and read notes, record coders' decisions."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from .. import final_codes, schemas
from .. import notes as notes_db
from ..dependencies import Catalog, Coder, CoderOrAuditor, DbSession, State, Suggester, note_accessed
from ...models.runtime import ModelWorkerError
from ...pipeline.notetext import NotClinicalTextError
from ...storage.decisions import final_code_set
from ..errors import PayloadTooLarge, Unavailable, Unprocessable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/notes", tags=["notes"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.NoteCreated, name="notes.create")
def create_note(
    body: schemas.NoteIn,
    request: Request,
    principal: Coder,
    session: DbSession,
    suggester: Suggester,
    state: State,
    catalog: Catalog,
) -> schemas.NoteCreated:
    limit = state.settings.max_note_chars
    if len(body.text) > limit:
        raise PayloadTooLarge(f"note text has {len(body.text)} characters; the limit is {limit}")
    started = time.perf_counter()
    try:
        suggestions = suggester.suggest(body.text, setting=body.setting)
    except NotClinicalTextError as exc:  # binary, not words, another language: as an empty note, 422
        raise Unprocessable(f"note text: {exc}") from exc
    except ModelWorkerError as exc:  # nothing was stored: the coder can send the note again at once
        raise Unavailable(
            "the model's worker process stopped while coding this note and has been restarted; send it again",
            headers={"Retry-After": "1"},
        ) from exc
    state.metrics.suggest_latency.labels(model_version=suggester.version).observe(time.perf_counter() - started)
    with state.db.write_turn():
        note = notes_db.create_note(
            session, text=body.text, external_id=body.external_id, setting=body.setting,
            model_version=suggester.version, suggestions=suggestions, actor=principal.name,
            code_set_release=catalog.release_label,
        )
        session.commit()
    note_accessed(request, note.id)
    state.metrics.notes.labels(model_version=suggester.version).inc()
    for s in note.suggestions:
        state.metrics.suggestions.labels(system=s.system, model_version=suggester.version).inc()
    log.info("note %s: %d suggestions from model %s", note.id, len(note.suggestions), suggester.version)
    confident = [(s.system, s.code) for s in note.suggestions if not s.needs_review]
    systems, notices = final_codes.coded_systems(body.setting, catalog)
    return schemas.NoteCreated(
        note_id=note.id,
        model_version=note.model_version,
        suggestions=[notes_db.suggestion_out(s) for s in note.suggestions],
        findings=notes_db.findings_out(confident, catalog, body.text),
        coded_systems=systems, notices=notices,
    )


@router.get("", response_model=schemas.NoteList, name="notes.list")
def list_notes(
    principal: CoderOrAuditor,
    session: DbSession,
    status: schemas.NoteStatus | None = None,
    setting: schemas.Setting | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_DB_INT)] = 0,
) -> schemas.NoteList:
    notes, total = notes_db.list_notes(session, status=status, setting=setting, limit=limit, offset=offset)
    return schemas.NoteList(items=[notes_db.summary_out(n) for n in notes], total=total, limit=limit, offset=offset)


@router.get("/{note_id}", response_model=schemas.NoteDetail, name="notes.read")
def read_note(note_id: str, principal: CoderOrAuditor, session: DbSession, catalog: Catalog) -> schemas.NoteDetail:
    return notes_db.detail_out(notes_db.get_note(session, note_id, full=True), catalog, final_codes.latest_sequence(session, note_id))


@router.post(
    "/{note_id}/decisions", status_code=status.HTTP_201_CREATED, response_model=schemas.DecisionsOut,
    name="notes.decide",
)
def decide(
    note_id: str, body: schemas.DecisionsIn, principal: Coder, session: DbSession, catalog: Catalog, state: State
) -> schemas.DecisionsOut:
    with state.db.write_turn():
        note = notes_db.get_note(session, note_id, full=True)
        decisions = list(body.decisions)
        if body.reject_undecided:  # the coder said so: every suggestion no decision names is rejected
            named = notes_db.note_events(session, note_id) + [_as_event(d) for d in decisions]
            decisions += [schemas.DecisionIn(suggestion_id=s.id, action="reject", reason="left undecided at submit")
                          for s in final_codes.undecided(note.suggestions, named)]
        events = notes_db.record_decisions(session, note, decisions, catalog, principal.name) if decisions else []
        all_events = notes_db.note_events(session, note_id)
        final = final_code_set(all_events)
        previous = final_codes.latest_sequence(session, note_id)
        if body.sequence is not None or body.export_override is not None:
            codes = final_codes.check_sequence(body.sequence, final, note) if body.sequence is not None else (
                previous.codes if previous is not None else [])
            override = body.export_override if body.export_override is not None else (
                previous.override_reason if previous is not None else None)
            previous = final_codes.store_sequence(session, note, codes, override, principal.name)
        session.commit()
    for event in events:
        state.metrics.decisions.labels(action=event.action).inc()
    return schemas.DecisionsOut(
        note_id=note_id, status=note.status, decisions=[notes_db.decision_out(e, catalog) for e in events],
        final_codes=final_codes.final_codes_out(
            final_codes.order_codes(final, note.suggestions, previous, note.setting), catalog),
        undecided=len(final_codes.undecided(note.suggestions, all_events)),
    )


def _as_event(d: schemas.DecisionIn):
    """What an incoming decision names, for telling which suggestions it leaves undecided."""
    from types import SimpleNamespace

    return SimpleNamespace(suggestion_id=d.suggestion_id, system=d.system, code=d.code)
