"""The final code set as billing reads it: in order (the principal / first-listed diagnosis first), with
present-on-admission indicators for inpatient diagnoses, and which code systems a note's setting is coded in.

The codes themselves come from the decision events (``storage.decisions.final_code_set``); their order and POA from the
note's latest :class:`~.orm.CodeSequence` when the coder submitted one, else from the suggestions: the diagnosis
the coding layer marked principal first, then the others by rank, added codes after them, procedures last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..codesets import CodeCatalog, spec_of, system_specs
from ..models.interface import systems_for
from ..storage.orm import CodeSequence, DecisionEvent, Note, Suggestion
from . import schemas
from .errors import Unprocessable

DIAGNOSIS_SYSTEMS = ("ICD10CM",)
POA_VALUES = ("Y", "N", "U", "W")


@dataclass(frozen=True, slots=True)
class Sequenced:
    system: str
    code: str
    source: str
    suggestion_id: int | None
    sequence: int  # 1-based, within diagnoses and within procedures
    principal: bool
    poa: str | None


def takes_poa(setting: str | None) -> bool:
    """Present-on-admission is reported for inpatient diagnoses (a note without a setting may be one)."""
    return setting not in ("outpatient", "emergency")


def latest_sequence(session: Session, note_id: str) -> CodeSequence | None:
    return session.scalar(
        select(CodeSequence).where(CodeSequence.note_id == note_id).order_by(CodeSequence.id.desc()).limit(1)
    )


def order_codes(final: Iterable, suggestions: Sequence[Suggestion], stored: CodeSequence | None,
                setting: str | None) -> list[Sequenced]:
    """``final`` (``coding.FinalCode``) in billing order: diagnoses then procedures, each numbered from 1."""
    by_id = {s.id: s for s in suggestions}
    stored_codes = list(stored.codes) if stored is not None else []
    stored_rank = {(c["system"], c["code"]): i for i, c in enumerate(stored_codes)}
    poa = {(c["system"], c["code"]): c.get("poa") for c in stored_codes}
    codes = list(final)

    def default_key(index_and_code):
        index, f = index_and_code
        s = by_id.get(f.suggestion_id) if f.suggestion_id is not None else None
        principal = s is not None and bool(s.principal) and f.source != "added"
        return (0 if principal else 1, s.rank if s is not None else 10_000 + index)

    def key(index_and_code):
        _, f = index_and_code
        listed = stored_rank.get((f.system, f.code))
        return (0, listed) if listed is not None else (1, *default_key(index_and_code))

    ordered = [f for _, f in sorted(enumerate(codes), key=key)]
    out: list[Sequenced] = []
    counters: dict[bool, int] = {True: 0, False: 0}
    with_poa = takes_poa(setting)
    for is_diagnosis in (True, False):
        for f in ordered:
            if (f.system in DIAGNOSIS_SYSTEMS) != is_diagnosis:
                continue
            counters[is_diagnosis] += 1
            out.append(Sequenced(
                system=f.system, code=f.code, source=f.source, suggestion_id=f.suggestion_id,
                sequence=counters[is_diagnosis], principal=is_diagnosis and counters[True] == 1,
                poa=poa.get((f.system, f.code)) if is_diagnosis and with_poa else None,
            ))
    return out


def check_sequence(items: Sequence[schemas.SequenceItem], final: Iterable, note: Note) -> list[dict]:
    """The submitted order as stored: every code in the final set, POA only on inpatient diagnoses; 422 otherwise."""
    in_final = {(f.system, f.code) for f in final}
    problems = []
    seen = set()
    for item in items:
        pair = (item.system, item.code)
        if pair not in in_final:
            problems.append(f"{item.system} {item.code}: not in the note's final code set")
        if pair in seen:
            problems.append(f"{item.system} {item.code}: listed twice in the sequence")
        seen.add(pair)
        if item.poa is not None and item.system not in DIAGNOSIS_SYSTEMS:
            problems.append(f"{item.system} {item.code}: present on admission is reported for diagnoses only")
        if item.poa is not None and not takes_poa(note.setting):
            problems.append(f"{item.system} {item.code}: present on admission is reported for inpatient care, "
                            f"not for a(n) {note.setting} note")
    if problems:
        raise Unprocessable("; ".join(problems), details=[{"sequence": p} for p in problems])
    return [{"system": i.system, "code": i.code, "poa": i.poa} for i in items]


def store_sequence(session: Session, note: Note, codes: list[dict], override: str | None, actor: str) -> CodeSequence:
    """Append the note's sequence (its latest row is current)."""
    from ..storage.orm import utcnow

    row = CodeSequence(note_id=note.id, codes=codes, override_reason=override, actor=actor, created_at=utcnow())
    session.add(row)
    session.flush()
    if note.status != "coded":
        note.status, note.coded_at = "coded", row.created_at
    return row


def undecided(suggestions: Sequence[Suggestion], events: Iterable[DecisionEvent]) -> list[Suggestion]:
    """Suggestions no decision names (by id, or by its system and code)."""
    ids, codes = set(), set()
    for e in events:
        if e.suggestion_id is not None:
            ids.add(e.suggestion_id)
        codes.add((e.system, e.code))
    return [s for s in suggestions if s.id not in ids and (s.system, s.code) not in codes]


def coded_systems(setting: str | None, catalog: CodeCatalog | None) -> tuple[list[str], list[str]]:
    """The code systems this note is coded in (its setting's, among those loaded), and a notice for each
    system of procedures the note gets none of, saying why."""
    loaded = set(catalog.versions) if catalog is not None else {spec.name for spec in system_specs()}
    wanted = systems_for(setting)
    systems = sorted(wanted & loaded)
    notices = []
    procedure_systems = {spec.name for spec in system_specs() if spec.mention_kind == "procedure"}
    if not (set(systems) & procedure_systems):
        left_out = sorted(procedure_systems & loaded - wanted)
        missing = sorted(procedure_systems & wanted - loaded)
        why = []
        if left_out:
            names = " and ".join(spec_of(s).title for s in left_out)
            why.append(f"{names} codes are left out in the {setting} setting")
        if missing:
            names = " or ".join(spec_of(s).title for s in missing)
            why.append(f"no {names} code file is loaded")
        where = f"{setting} note" if setting else "note"
        notices.append(f"no procedure codes for this {where}: {'; '.join(why)}" if why else
                       f"no procedure codes for this {where}")
    return systems, notices


def final_codes_out(sequenced: Sequence[Sequenced], catalog: CodeCatalog | None) -> list[schemas.FinalCode]:
    out = []
    for f in sequenced:
        entry = catalog.get(f.system, f.code) if catalog is not None else None
        out.append(schemas.FinalCode(
            system=f.system, code=f.code, description=entry.description if entry is not None else "",
            source=f.source, suggestion_id=f.suggestion_id, sequence=f.sequence, principal=f.principal, poa=f.poa,
        ))
    return out
