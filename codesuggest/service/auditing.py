"""Audit: reproducible samples of suggestions, auditors' reviews, and acceptance/override statistics."""

from __future__ import annotations

import random
import secrets
from collections import defaultdict

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..codesets import CodeCatalog
from ..storage.orm import AuditReview, DecisionEvent, Suggestion
from . import schemas
from .notes import billable_code, get_note
from .errors import Unprocessable


def new_seed() -> int:
    return secrets.randbelow(2**31)


def _latest_events(session: Session, suggestion_ids: list[int]) -> dict[int, DecisionEvent]:
    if not suggestion_ids:
        return {}
    latest = (
        select(func.max(DecisionEvent.id))
        .where(DecisionEvent.suggestion_id.in_(suggestion_ids))
        .group_by(DecisionEvent.suggestion_id)
    )
    return {e.suggestion_id: e for e in session.scalars(select(DecisionEvent).where(DecisionEvent.id.in_(latest)))}


def sample_suggestions(
    session: Session,
    *,
    strategy: str,
    size: int,
    seed: int,
    band: tuple[float, float] = (0.0, 0.5),
    system: str | None = None,
) -> schemas.AuditSample:
    """Draw ``size`` suggestions with ``random.Random(seed)`` from a population listed in id order,
    so the same seed over the same data gives the same sample.

    low_confidence: suggestions whose confidence is within ``band``, returned lowest first;
    disputed: suggestions a coder rejected or replaced; random: any suggestion.

    Memory does not grow with the population: the database counts it, ``rng.sample`` draws positions
    (the positions ``rng.sample(population_list, k)`` would pick) and only the rows at those positions are
    read. (Reading the whole population took ~190 bytes per suggestion per request: 18 MB and 0.7 s
    for 100,000 suggestions, so the server's memory grew with the table under a stream of audit samples.)
    """
    conditions = []
    if system:
        conditions.append(Suggestion.system == system)
    if strategy == "low_confidence":
        conditions += [Suggestion.confidence >= band[0], Suggestion.confidence <= band[1]]
    elif strategy == "disputed":
        disputed = select(DecisionEvent.suggestion_id).where(
            DecisionEvent.suggestion_id.is_not(None), DecisionEvent.action.in_(("reject", "replace"))
        )
        conditions.append(Suggestion.id.in_(disputed))
    total = session.scalar(select(func.count()).select_from(Suggestion).where(*conditions)) or 0
    rng = random.Random(seed)
    positions = rng.sample(range(total), min(size, total))
    picked = []
    if positions:
        numbered = (
            select(Suggestion.id, Suggestion.confidence,
                   (func.row_number().over(order_by=Suggestion.id) - 1).label("position"))
            .where(*conditions)
            .subquery()
        )
        rows = session.execute(
            select(numbered.c.id, numbered.c.confidence, numbered.c.position).where(numbered.c.position.in_(positions))
        ).all()
        at = {r.position: r for r in rows}
        # a position can only be missing when notes were deleted between the count and the read
        picked = [at[p] for p in positions if p in at]
    if strategy == "low_confidence":
        picked.sort(key=lambda r: (r.confidence, r.id))
    ids = [r.id for r in picked]
    by_id = {s.id: s for s in session.scalars(select(Suggestion).where(Suggestion.id.in_(ids)))} if ids else {}
    latest = _latest_events(session, ids)
    items = []
    for sid in ids:
        s = by_id[sid]
        event = latest.get(sid)
        items.append(
            schemas.SampleItem(
                note_id=s.note_id, suggestion_id=s.id, system=s.system, code=s.code, description=s.description,
                confidence=s.confidence, needs_review=s.needs_review, model_version=s.model_version,
                latest_action=event.action if event else None, latest_actor=event.actor if event else None,
            )
        )
    return schemas.AuditSample(strategy=strategy, seed=seed, size=len(items), population=total, items=items)


def add_review(session: Session, review: schemas.ReviewIn, catalog: CodeCatalog, auditor: str) -> AuditReview:

    note = get_note(session, review.note_id)
    if review.suggestion_id is not None:
        suggestion = session.get(Suggestion, review.suggestion_id)
        if suggestion is None or suggestion.note_id != note.id:
            raise Unprocessable(f"suggestion {review.suggestion_id} is not a suggestion of note {note.id}")
    corrected_system = corrected_code = None
    if review.corrected is not None:
        corrected_system = review.corrected.system
        corrected_code = billable_code(catalog, corrected_system, review.corrected.code)
    row = AuditReview(
        note_id=note.id, suggestion_id=review.suggestion_id, verdict=review.verdict,
        corrected_system=corrected_system, corrected_code=corrected_code, comment=review.comment, auditor=auditor,
    )
    session.add(row)
    session.flush()
    return row


def review_out(row: AuditReview, catalog: CodeCatalog | None) -> schemas.ReviewOut:
    corrected = None
    if row.corrected_system and row.corrected_code:
        entry = catalog.get(row.corrected_system, row.corrected_code) if catalog else None
        corrected = schemas.CodeOut(
            system=row.corrected_system, code=row.corrected_code, description=entry.description if entry else ""
        )
    return schemas.ReviewOut(
        review_id=row.id, note_id=row.note_id, suggestion_id=row.suggestion_id, verdict=row.verdict,
        corrected=corrected, comment=row.comment, auditor=row.auditor, created_at=row.created_at,
    )


# -- statistics --------------------------------------------------------------------------------
def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class _Counts:
    __slots__ = ("suggested", "accepted", "rejected", "replaced", "added")

    def __init__(self) -> None:
        self.suggested = self.accepted = self.rejected = self.replaced = self.added = 0

    def row(self, system: str, code: str | None) -> schemas.RateRow:
        decided = self.accepted + self.rejected + self.replaced
        return schemas.RateRow(
            system=system, code=code, suggested=self.suggested, decided=decided, accepted=self.accepted,
            rejected=self.rejected, replaced=self.replaced, added=self.added,
            acceptance_rate=_rate(self.accepted, decided), override_rate=_rate(self.replaced, decided),
            rejection_rate=_rate(self.rejected, decided),
        )


def audit_stats(session: Session, *, system: str | None = None, code_limit: int = 100) -> schemas.AuditStats:
    """Per system and per code: each suggestion counts once, by its latest coder decision;
    ``added`` counts codes coders added that were not suggested. Agreement: auditors' verdicts."""
    by_code: dict[tuple[str, str], _Counts] = defaultdict(_Counts)

    suggested = select(Suggestion.system, Suggestion.code, func.count()).group_by(Suggestion.system, Suggestion.code)
    latest_ids = (
        select(func.max(DecisionEvent.id)).where(DecisionEvent.suggestion_id.is_not(None)).group_by(DecisionEvent.suggestion_id)
    )
    decided = (
        select(DecisionEvent.system, DecisionEvent.code, DecisionEvent.action, func.count())
        .where(DecisionEvent.id.in_(latest_ids))
        .group_by(DecisionEvent.system, DecisionEvent.code, DecisionEvent.action)
    )
    added = (
        select(DecisionEvent.system, DecisionEvent.code, func.count())
        .where(DecisionEvent.action == "add")
        .group_by(DecisionEvent.system, DecisionEvent.code)
    )
    if system:
        suggested = suggested.where(Suggestion.system == system)
        decided = decided.where(DecisionEvent.system == system)
        added = added.where(DecisionEvent.system == system)
    for sys_, code, n in session.execute(suggested):
        by_code[(sys_, code)].suggested += n
    for sys_, code, action, n in session.execute(decided):
        counts = by_code[(sys_, code)]
        if action == "accept":
            counts.accepted += n
        elif action == "reject":
            counts.rejected += n
        elif action == "replace":
            counts.replaced += n
    for sys_, code, n in session.execute(added):
        by_code[(sys_, code)].added += n

    by_system: dict[str, _Counts] = defaultdict(_Counts)
    for (sys_, _code), c in by_code.items():
        total = by_system[sys_]
        for field in _Counts.__slots__:
            setattr(total, field, getattr(total, field) + getattr(c, field))

    code_rows = sorted(by_code.items(), key=lambda kv: (-kv[1].suggested, -kv[1].added, kv[0]))[:code_limit]

    reviews = select(Suggestion.system, AuditReview.verdict, func.count()).select_from(AuditReview).join(
        Suggestion, and_(Suggestion.id == AuditReview.suggestion_id), isouter=True
    ).group_by(Suggestion.system, AuditReview.verdict)
    overall = {"agree": 0, "disagree": 0}
    per_system: dict[str, dict[str, int]] = defaultdict(lambda: {"agree": 0, "disagree": 0})
    for sys_, verdict, n in session.execute(reviews):
        if system and sys_ != system:
            continue
        overall[verdict] += n
        if sys_ is not None:
            per_system[sys_][verdict] += n

    def agreement(counts: dict[str, int]) -> schemas.Agreement:
        total = counts["agree"] + counts["disagree"]
        return schemas.Agreement(
            reviews=total, agree=counts["agree"], disagree=counts["disagree"], agreement_rate=_rate(counts["agree"], total)
        )

    return schemas.AuditStats(
        by_system=[c.row(s, None) for s, c in sorted(by_system.items())],
        by_code=[c.row(s, code) for (s, code), c in code_rows],
        agreement=agreement(overall),
        agreement_by_system={s: agreement(c) for s, c in sorted(per_system.items())},
    )
