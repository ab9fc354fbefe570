"""Notes, their suggestions and the coders' decisions (the final code set they make: ``storage.decisions``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..codesets import CodeCatalog
from ..models.interface import Evidence
from ..models.interface import Suggestion as ModelSuggestion
from ..storage.decisions import final_code_set
from ..storage.orm import DecisionEvent, Note, Suggestion, utcnow
from . import schemas
from .errors import NotFound, Unprocessable
from .escaping import quoted


def create_note(
    session: Session,
    *,
    text: str,
    external_id: str | None,
    setting: str | None,
    model_version: str,
    suggestions: Sequence[ModelSuggestion],
    actor: str,
    code_set_release: str | None = None,
) -> Note:
    """Store a note and its suggestions; ``note.suggestions`` holds them, ids set, in rank order.

    The suggestion rows go in as one multi-row INSERT ... RETURNING (SQLAlchemy's ORM bulk insert,
    "insertmanyvalues") rather than through the unit of work, which flushed one INSERT per row.
    """
    note = Note(text=text, external_id=external_id, setting=setting, model_version=model_version, created_by=actor)
    session.add(note)
    session.flush()
    rows = [_suggestion_row(note.id, rank, s, model_version) | {"code_set_release": code_set_release}
            for rank, s in enumerate(suggestions)]
    returning = insert(Suggestion).returning(Suggestion, sort_by_parameter_order=True)
    stored = list(session.scalars(returning, rows)) if rows else []
    set_committed_value(note, "suggestions", stored)  # as loaded: no lazy load, no second flush
    return note


def _suggestion_row(note_id: str, rank: int, s: ModelSuggestion, model_version: str) -> dict[str, Any]:
    return {
        "note_id": note_id, "rank": rank, "system": str(getattr(s.system, "value", s.system)), "code": s.code,
        "description": s.description, "confidence": float(s.confidence), "needs_review": bool(s.needs_review),
        "evidence": [_evidence_dict(e) for e in s.evidence], "reason": s.reason or "", "model_version": model_version,
        "score": float(s.score), "principal": bool(s.principal),
        "guidelines": [{"rule": g.rule, "section": g.section, "message": g.message} for g in s.guidelines],
    }


def _evidence_dict(evidence: Evidence) -> dict[str, Any]:
    """``asdict`` without its recursive deep copy (the fields are ints and strings): ~10x faster."""
    return {name: getattr(evidence, name) for name in _EVIDENCE_FIELDS}


_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))


def get_note(session: Session, note_id: str, *, full: bool = False) -> Note:
    query = select(Note).where(Note.id == note_id)
    if full:
        query = query.options(selectinload(Note.suggestions), selectinload(Note.decisions))
    note = session.scalar(query)
    if note is None:
        raise NotFound(f"note {quoted(note_id)} not found")
    return note


def list_notes(
    session: Session, *, status: str | None, limit: int, offset: int, setting: str | None = None
) -> tuple[list[Note], int]:
    """A page of notes, newest first; each gets ``suggestion_count`` (one grouped query for the page)."""
    query = select(Note)
    count = select(func.count()).select_from(Note)
    for column, value in ((Note.status, status), (Note.setting, setting)):
        if value:
            query = query.where(column == value)
            count = count.where(column == value)
    notes = list(session.scalars(query.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit).offset(offset)))
    counts = dict(session.execute(
        select(Suggestion.note_id, func.count()).where(Suggestion.note_id.in_([n.id for n in notes]))
        .group_by(Suggestion.note_id)
    ).all()) if notes else {}
    for note in notes:
        note.suggestion_count = counts.get(note.id, 0)
    return notes, session.scalar(count) or 0


def billable_code(catalog: CodeCatalog, system: str, code: str) -> str:
    """The catalogue's form of a code a coder chose, or 422: it must be loaded and billable."""
    entry = catalog.get(system, code)
    if entry is None:
        raise Unprocessable(f"{system} {code}: not in the loaded code sets")
    if not entry.billable:
        raise Unprocessable(f"{system} {code}: not billable (a category: choose a more specific code)")
    return entry.code


def record_decisions(
    session: Session, note: Note, decisions: Sequence[schemas.DecisionIn], catalog: CodeCatalog, actor: str
) -> list[DecisionEvent]:
    """Validate all decisions, then append one event each (all or none)."""
    wanted = {d.suggestion_id for d in decisions if d.suggestion_id is not None}
    found = {
        s.id: s
        for s in session.scalars(select(Suggestion).where(Suggestion.id.in_(wanted), Suggestion.note_id == note.id))
    } if wanted else {}
    missing = sorted(wanted - found.keys())
    if missing:
        raise Unprocessable(
            f"suggestion id(s) {', '.join(map(str, missing))} are not suggestions of note {note.id}",
            details=[{"suggestion_id": m} for m in missing],
        )
    unknown: list[str] = []

    def known(system: str, code: str) -> str:
        try:
            return billable_code(catalog, system, code)
        except Unprocessable as exc:
            unknown.append(exc.message)
            return code

    by_code = any(d.suggestion_id is None and d.action in ("reject", "replace") for d in decisions)
    on_note = _codes_on_note(session, note) if by_code else set()

    def decidable(system: str, code: str) -> str:
        """A code rejected or replaced by system + code: suggested for this note or already among its codes."""
        if (system, code) not in on_note:
            if catalog.get(system, code) is None:
                unknown.append(f"{system} {code}: not in the loaded code sets")
            else:
                unknown.append(f"{system} {code}: not suggested for note {note.id} and not among its codes")
        return code

    now = utcnow()
    events = []
    for d in decisions:
        if d.suggestion_id is not None:
            suggestion = found[d.suggestion_id]
            system, code = suggestion.system, suggestion.code
        else:
            assert d.system is not None and d.code is not None
            system, code = d.system, d.code
            code = known(system, code) if d.action == "add" else decidable(system, code)
        replacement = (d.replacement.system, known(d.replacement.system, d.replacement.code)) if d.replacement else (None, None)
        on_note.update({(system, code), replacement} if replacement[0] else {(system, code)})
        events.append(
            DecisionEvent(
                note_id=note.id, suggestion_id=d.suggestion_id, action=d.action, system=system, code=code,
                replacement_system=replacement[0], replacement_code=replacement[1], reason=d.reason,
                actor=actor, created_at=now, code_set_release=catalog.release_label,
            )
        )
    if unknown:
        raise Unprocessable("; ".join(unknown), details=[{"code": m.split(":")[0]} for m in unknown])
    session.add_all(events)
    note.status = "coded"
    note.coded_at = now
    session.flush()
    return events


def _codes_on_note(session: Session, note: Note) -> set[tuple[str, str]]:
    """Codes a decision by system + code may name: the note's suggestions and the codes its decisions put in."""
    codes = {(s, c) for s, c in session.execute(select(Suggestion.system, Suggestion.code).where(Suggestion.note_id == note.id))}
    for event in note_events(session, note.id):
        codes.add((event.system, event.code))
        if event.replacement_system and event.replacement_code:
            codes.add((event.replacement_system, event.replacement_code))
    return codes


def note_events(session: Session, note_id: str) -> list[DecisionEvent]:
    return list(session.scalars(select(DecisionEvent).where(DecisionEvent.note_id == note_id).order_by(DecisionEvent.id)))


# -- API shapes ---------------------------------------------------------------------------------
def _description(catalog: CodeCatalog | None, system: str, code: str) -> str:
    entry = catalog.get(system, code) if catalog is not None else None
    return entry.description if entry is not None else ""


def suggestion_out(s: Suggestion) -> schemas.SuggestionOut:
    return schemas.SuggestionOut(
        suggestion_id=s.id, system=s.system, code=s.code, description=s.description, confidence=s.confidence,
        needs_review=s.needs_review, evidence=[schemas.EvidenceOut(**e) for e in s.evidence or []], reason=s.reason,
        ranker_score=s.score, principal=bool(s.principal),
        guidelines=[schemas.GuidelineNoteOut(**g) for g in s.guidelines or []], code_set_release=s.code_set_release,
    )


def decision_out(e: DecisionEvent, catalog: CodeCatalog | None) -> schemas.DecisionOut:
    replacement = None
    if e.replacement_system and e.replacement_code:
        replacement = schemas.CodeOut(
            system=e.replacement_system, code=e.replacement_code,
            description=_description(catalog, e.replacement_system, e.replacement_code),
        )
    return schemas.DecisionOut(
        decision_id=e.id, suggestion_id=e.suggestion_id, action=e.action, system=e.system, code=e.code,
        replacement=replacement, reason=e.reason, actor=e.actor, created_at=e.created_at,
        code_set_release=e.code_set_release,
    )


def final_codes_out(events: Iterable[DecisionEvent], catalog: CodeCatalog | None) -> list[schemas.FinalCode]:
    return [
        schemas.FinalCode(
            system=f.system, code=f.code, description=_description(catalog, f.system, f.code),
            source=f.source, suggestion_id=f.suggestion_id,
        )
        for f in final_code_set(events)
    ]


def summary_out(note: Note) -> schemas.NoteSummary:
    return schemas.NoteSummary(
        note_id=note.id, external_id=note.external_id, setting=note.setting, status=note.status,
        model_version=note.model_version, created_by=note.created_by, created_at=note.created_at,
        coded_at=note.coded_at, suggestion_count=getattr(note, "suggestion_count", None),
    )


def detail_out(note: Note, catalog: CodeCatalog | None, sequence: Any = None) -> schemas.NoteDetail:
    """The note with everything the coder's page shows; ``sequence``: its latest ``CodeSequence``."""
    from . import final_codes as ordering

    final_codes = ordering.final_codes_out(
        ordering.order_codes(final_code_set(note.decisions), note.suggestions, sequence, note.setting), catalog
    )
    systems, notices = ordering.coded_systems(note.setting, catalog)
    note.suggestion_count = len(note.suggestions)
    return schemas.NoteDetail(
        **summary_out(note).model_dump(),
        text=note.text,
        suggestions=[suggestion_out(s) for s in note.suggestions],
        decisions=[decision_out(e, catalog) for e in note.decisions],
        final_codes=final_codes,
        findings=findings_out([(c.system, c.code) for c in final_codes], catalog, note.text),
        undecided=len(ordering.undecided(note.suggestions, note.decisions)),
        coded_systems=systems, notices=notices,
        export_override=sequence.override_reason if sequence is not None else None,
    )


def findings_out(codes: Sequence[tuple[str, str]], catalog: CodeCatalog | None, text: str | None) -> list[schemas.FindingOut]:
    """The code-set checks (billable, 7th character, Excludes1, companion codes, ...) on a code set."""
    if catalog is None or not codes:
        return []
    from ..codesets.rules import check_codes

    return [schemas.FindingOut(**f.to_dict()) for f in check_codes(codes, catalog, note_text=text)]
