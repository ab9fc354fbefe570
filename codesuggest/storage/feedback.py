"""Coders' final code sets as training examples, in the generic JSONL format of ``codesuggest.training``:

one object per note, ``{"note_id", "text", "codes": [{"system", "code"}]}``.

Training reads them with ``--data feedback:DATABASE_URL`` through :func:`export_feedback`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..codesets.successors import CodeRemapper
from .decisions import FinalCode, final_code_set
from .db import make_engine, make_session_factory
from .orm import DecisionEvent, Note

BATCH = 500


def _as_datetime(since: datetime | date | str | None) -> datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, str):
        since = datetime.fromisoformat(since.replace("Z", "+00:00"))
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    return since if since.tzinfo else since.replace(tzinfo=timezone.utc)


def coded_note_ids(session: Session, since: datetime | date | str | None = None) -> list[str]:
    """Ids of the coded notes whose latest decision is at or after ``since``, oldest decision first."""
    since_dt = _as_datetime(since)
    query = select(Note.id).where(Note.status == "coded").order_by(Note.coded_at, Note.id)
    if since_dt is not None:
        query = query.where(Note.coded_at >= since_dt)
    return list(session.scalars(query))


def iter_feedback(
    session: Session, since: datetime | date | str | None = None, *, note_ids: list[str] | None = None,
    remapper: CodeRemapper | None = None,
) -> Iterator[dict]:
    """Coded notes (whose latest decision is at or after ``since``), oldest decision first; or the notes
    ``note_ids`` (from :func:`coded_note_ids`), in that order.

    With ``remapper`` (the loaded release's), each record names that release (``code_set_release``),
    and a code decided under an older release that the loaded one no longer bills is exported as its
    successor, with ``mapped_from`` the code decided and ``decided_under`` the release it was decided under."""
    if note_ids is None:
        note_ids = coded_note_ids(session, since)  # ids first: texts are read a batch at a time
    for start in range(0, len(note_ids), BATCH):
        ids = note_ids[start : start + BATCH]
        texts = {row.id: row.text for row in session.execute(select(Note.id, Note.text).where(Note.id.in_(ids)))}
        events: dict[str, list[DecisionEvent]] = defaultdict(list)
        for event in session.scalars(select(DecisionEvent).where(DecisionEvent.note_id.in_(ids)).order_by(DecisionEvent.id)):
            events[event.note_id].append(event)
        for note_id in ids:
            codes = [_exported_code(f, events[note_id], remapper) for f in final_code_set(events[note_id])]
            record = {"note_id": note_id, "text": texts[note_id], "codes": codes}
            if remapper is not None:
                record["code_set_release"] = remapper.new.label
            yield record


def _exported_code(final: FinalCode, events: list[DecisionEvent], remapper: CodeRemapper | None) -> dict:
    out = {"system": final.system, "code": final.code}
    if remapper is None:
        return out
    code, mapped_from = remapper.map(final.system, final.code)
    if mapped_from is not None:
        release = next((e.code_set_release for e in reversed(events)
                        if (e.system, e.code) == (final.system, final.code)
                        or (e.replacement_system, e.replacement_code) == (final.system, final.code)), None)
        out.update(code=code, mapped_from=mapped_from, decided_under=release)
    return out


def export_feedback(
    session_or_url: Session | str, since: datetime | date | str | None = None, remapper: CodeRemapper | None = None
) -> list[dict]:
    """Training examples from a service database (a session, or a database URL: read only, no migration);
    ``remapper``: see :func:`iter_feedback`."""
    if isinstance(session_or_url, Session):
        return list(iter_feedback(session_or_url, since, remapper=remapper))
    engine = make_engine(session_or_url)
    try:
        with make_session_factory(engine)() as session:
            return list(iter_feedback(session, since, remapper=remapper))
    finally:
        engine.dispose()


def to_jsonl_lines(examples: Iterable[dict]) -> Iterator[str]:
    for example in examples:
        yield json.dumps(example, ensure_ascii=False) + "\n"
