"""Open work after a code-set update: notes not yet exported whose suggestions (not coded yet) or final
codes (coded) use a code the loaded release no longer bills, with the proposed successors.

Read only: nothing is changed until a coder decides (a ``replace`` decision with a successor).
A note counts as exported once a successful feedback export disclosed it (the access log says so).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..codesets import CodeCatalog
from ..codesets.successors import RetiredCode, remapper_for
from ..storage.decisions import final_code_set
from ..storage.orm import AccessLogEntry, AccessLogNote, DecisionEvent, Note, Suggestion
from . import schemas

EXPORT_ACTION = "feedback.export"


def exported_note_ids():
    """A subquery: the notes a successful feedback export disclosed."""
    return (
        select(AccessLogNote.note_id)
        .join(AccessLogEntry, AccessLogEntry.id == AccessLogNote.access_log_id)
        .where(AccessLogEntry.action == EXPORT_ACTION, AccessLogEntry.status_code < 400)
    )


def open_work_with_retired_codes(
    session: Session, catalog: CodeCatalog, *, limit: int = 50, offset: int = 0
) -> schemas.RevalidationOut:
    remapper = remapper_for(catalog)
    retired = _retired_codes(session, remapper)
    items: list[schemas.RevalidationNote] = []
    if retired:
        affected = _candidate_notes(session, retired)
        for note in session.scalars(select(Note).where(Note.id.in_(affected)).order_by(Note.created_at, Note.id)):
            found = _note_retired(session, note, retired)
            if found:
                items.append(schemas.RevalidationNote(note_id=note.id, status=note.status, retired=found))
    return schemas.RevalidationOut(
        release=catalog.release_label, items=items[offset : offset + limit], total=len(items), limit=limit, offset=offset
    )


def _retired_codes(session: Session, remapper) -> dict[tuple[str, str], RetiredCode]:
    """Every code a not-yet-exported note uses that the loaded release does not bill, with its successors."""
    exported = exported_note_ids()
    used: dict[tuple[str, str], str] = {}
    rows = session.execute(
        select(Suggestion.system, Suggestion.code, Suggestion.description).where(Suggestion.note_id.not_in(exported)).distinct()
    )
    for system, code, title in rows:
        used.setdefault((system, code), title or "")
    events = session.execute(
        select(DecisionEvent.system, DecisionEvent.code, DecisionEvent.replacement_system, DecisionEvent.replacement_code)
        .where(DecisionEvent.note_id.not_in(exported)).distinct()
    )
    for system, code, repl_system, repl_code in events:
        used.setdefault((system, code), "")
        if repl_system and repl_code:
            used.setdefault((repl_system, repl_code), "")
    found = {}
    for (system, code), title in used.items():
        item = remapper.retired(system, code, title)
        if item is not None:
            found[(system, code)] = item
    return found


def _candidate_notes(session: Session, retired: dict[tuple[str, str], RetiredCode]) -> set[str]:
    codes = sorted({code for _, code in retired})
    exported = exported_note_ids()
    ids = set()
    for column_sys, column_code, note_col, table in (
        (Suggestion.system, Suggestion.code, Suggestion.note_id, Suggestion),
        (DecisionEvent.system, DecisionEvent.code, DecisionEvent.note_id, DecisionEvent),
        (DecisionEvent.replacement_system, DecisionEvent.replacement_code, DecisionEvent.note_id, DecisionEvent),
    ):
        query = select(note_col, column_sys, column_code).where(column_code.in_(codes), note_col.not_in(exported))
        ids |= {note_id for note_id, system, code in session.execute(query) if (system, code) in retired}
    return ids


def _note_retired(session: Session, note: Note, retired: dict[tuple[str, str], RetiredCode]) -> list[schemas.RetiredCodeOut]:
    """An open note: its suggestions that are retired; a coded one: its final codes that are."""
    out = []
    if note.status == "open":
        for s in session.scalars(select(Suggestion).where(Suggestion.note_id == note.id).order_by(Suggestion.rank)):
            if (s.system, s.code) in retired:
                out.append(_out(retired[(s.system, s.code)], "suggestion", s.id, s.code_set_release))
        return out
    events = list(session.scalars(select(DecisionEvent).where(DecisionEvent.note_id == note.id)))
    release_of: dict[tuple[str, str], str | None] = defaultdict(lambda: None)
    for e in sorted(events, key=lambda e: e.id):
        release_of[(e.system, e.code)] = e.code_set_release
        if e.replacement_system and e.replacement_code:
            release_of[(e.replacement_system, e.replacement_code)] = e.code_set_release
    for final in final_code_set(events):
        key = (final.system, final.code)
        if key in retired:
            out.append(_out(retired[key], "final", final.suggestion_id, release_of[key]))
    return out


def _out(item: RetiredCode, where: str, suggestion_id: int | None, release: str | None) -> schemas.RetiredCodeOut:
    return schemas.RetiredCodeOut(
        system=item.system, code=item.code, where=where, suggestion_id=suggestion_id, recorded_release=release,
        successors=[schemas.SuccessorOut(code=s.code, description=s.title, method=s.method, confidence=s.confidence)
                    for s in item.successors],
    )
