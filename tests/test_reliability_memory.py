"""Memory under load: what a request allocates must not grow with the size of the tables.

The audit sample read its whole population (every suggestion id and confidence) into Python on each request:
~190 bytes per suggestion, so 18 MB and 0.7 s per request at 100,000 suggestions, and the server's memory
climbed with the table under the load mix (RELIABILITY.md, section 3). It now counts in the database, draws
positions and reads only the rows at them. These tests hold it there (a few seconds; the long runs are
``benchmarks/load_test.py --duration 600 --memstats FILE``).
"""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from codesuggest.service import auditing
from codesuggest.storage.db import Database
from codesuggest.storage.orm import DecisionEvent, Note, Suggestion
from service_fakes import DATABASES, database_url_for

STRATEGIES = ("random", "low_confidence", "disputed")


def populate(db: Database, n: int, start: int = 0) -> None:
    """``n`` suggestions (3 per note, two code systems, spread confidences) from id ``start + 1`` (``start`` a
    multiple of 3); every 7th is rejected, every 11th replaced, every 5th accepted."""
    assert start % 3 == 0
    notes = range(start // 3, (start + n + 2) // 3)
    ids = range(start, start + n)
    with db.session() as session:
        session.execute(insert(Note.__table__), [
            {"id": f"n{i:08d}", "text": "x", "status": "coded", "model_version": "v", "created_by": "t"} for i in notes
        ])
        session.execute(insert(Suggestion.__table__), [
            {"id": i + 1, "note_id": f"n{i // 3:08d}", "rank": i % 3, "system": "ICD10CM" if i % 4 else "ICD10PCS",
             "code": "I10", "description": "", "confidence": (i * 37 % 100) / 100, "needs_review": False,
             "evidence": [], "reason": "", "model_version": "v"} for i in ids
        ])
        events = [(i, "reject") for i in ids if i % 7 == 0] + [(i, "replace") for i in ids if i % 11 == 0]
        events += [(i, "accept") for i in ids if i % 5 == 0]
        session.execute(insert(DecisionEvent.__table__), [
            {"note_id": f"n{i // 3:08d}", "suggestion_id": i + 1, "action": action, "system": "ICD10CM", "code": "I10",
             "actor": "t"} for i, action in events
        ])


def listed_sample(session, *, strategy, size, seed, band=(0.0, 0.5), system=None) -> tuple[list[int], int]:
    """The sample as first specified: list the population in id order, ``random.Random(seed).sample`` it."""
    query = select(Suggestion.id, Suggestion.confidence)
    if system:
        query = query.where(Suggestion.system == system)
    if strategy == "low_confidence":
        query = query.where(Suggestion.confidence >= band[0], Suggestion.confidence <= band[1])
    elif strategy == "disputed":
        query = query.where(Suggestion.id.in_(select(DecisionEvent.suggestion_id).where(
            DecisionEvent.suggestion_id.is_not(None), DecisionEvent.action.in_(("reject", "replace")))))
    rows = session.execute(query.order_by(Suggestion.id)).all()
    picked = random.Random(seed).sample(rows, min(size, len(rows)))
    if strategy == "low_confidence":
        picked.sort(key=lambda r: (r.confidence, r.id))
    return [r.id for r in picked], len(rows)


@pytest.mark.parametrize("kind", DATABASES)
def test_audit_sample_draws_what_sampling_the_listed_population_draws(tmp_path: Path, kind: str):
    """Same seed, same data, same sample as before the change: reproducibility holds across versions."""
    with database_url_for(kind, tmp_path) as url:
        db = Database(url)
        db.migrate()
        try:
            with db.session() as session:  # empty tables: an empty sample
                for strategy in STRATEGIES:
                    s = auditing.sample_suggestions(session, strategy=strategy, size=20, seed=1)
                    assert (s.size, s.population, s.items) == (0, 0, [])
            populate(db, 600)
            cases = [(strategy, size, seed, band, system) for strategy in STRATEGIES for size in (1, 20, 1000)
                     for seed in (0, 7, 2**31 - 1) for band, system in (((0.0, 0.5), None), ((0.2, 0.3), "ICD10PCS"))]
            with db.session() as session:
                for strategy, size, seed, band, system in cases:
                    got = auditing.sample_suggestions(session, strategy=strategy, size=size, seed=seed, band=band,
                                                      system=system)
                    ids, population = listed_sample(session, strategy=strategy, size=size, seed=seed, band=band,
                                                    system=system)
                    assert [i.suggestion_id for i in got.items] == ids, (strategy, size, seed, band, system)
                    assert (got.population, got.size) == (population, len(ids))
                    latest = {i.suggestion_id: i.latest_action for i in got.items}
                    if strategy == "disputed":
                        assert ids and all(action in ("reject", "replace", "accept") for action in latest.values())
        finally:
            db.dispose()


def sample_peak_bytes(db: Database, strategy: str) -> int:
    with db.session() as session:
        auditing.sample_suggestions(session, strategy=strategy, size=20, seed=3)  # compiled-statement caches warm
        tracemalloc.start()
        try:
            auditing.sample_suggestions(session, strategy=strategy, size=20, seed=3)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_audit_sample_memory_does_not_grow_with_the_population(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'memory.db'}")
    db.migrate()
    try:
        populate(db, 999)
        small = {strategy: sample_peak_bytes(db, strategy) for strategy in STRATEGIES}
        populate(db, 20_001, start=999)
        large = {strategy: sample_peak_bytes(db, strategy) for strategy in STRATEGIES}
    finally:
        db.dispose()
    for strategy in STRATEGIES:
        # listing the population took ~190 bytes a suggestion: ~3.8 MB at 21,000 (random)
        assert large[strategy] < 1.5 * small[strategy] + 100_000, (strategy, small, large)
        assert large[strategy] < 1_000_000, (strategy, large)
