"""Storage on SQLite and (when CODESUGGEST_TEST_POSTGRES_URL is set) PostgreSQL: migrations, append-only
events, API keys, concurrent decisions, the derived final code set and the feedback export."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from codesuggest.models.interface import Evidence, Suggestion as ModelSuggestion
from codesuggest.service import notes as notes_db
from codesuggest.service import schemas
from codesuggest.service.keys import Role, authenticate, create_api_key, hash_key, list_api_keys, revoke_api_key
from codesuggest.storage.db import Database
from codesuggest.storage.decisions import FinalCode, final_code_set
from codesuggest.storage.feedback import export_feedback
from codesuggest.storage.orm import AccessLogEntry, AccessLogNote, ApiKey, CodeSequence, DecisionEvent, Note
from service_fakes import DATABASES, database_url_for, real_catalog

TABLES = {"notes", "suggestions", "decision_events", "audit_reviews", "api_keys", "access_log", "access_log_notes",
          "code_sequences", "alembic_version"}


@pytest.fixture(params=DATABASES)
def db(request, tmp_path):
    with database_url_for(request.param, tmp_path) as url:
        database = Database(url)
        database.migrate()
        yield database
        database.dispose()


def run_together(threads: list[threading.Thread], timeout: float) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


def _note(session, text="Hypertension and chest pain.", actor="coder-a") -> Note:
    suggestions = [
        ModelSuggestion("ICD10CM", "I10", "Essential (primary) hypertension", 0.9, False, (Evidence(0, 12, "Hypertension", "hpi", "present"),)),
        ModelSuggestion("ICD10CM", "R07.9", "Chest pain, unspecified", 0.4, True, (Evidence(17, 27, "chest pain", "hpi", "present"),)),
    ]
    return notes_db.create_note(session, text=text, external_id=None, setting=None, model_version="m1", suggestions=suggestions, actor=actor)


def test_migrations_create_the_schema_and_are_idempotent(db):
    db.migrate()  # second run: nothing to do
    assert TABLES <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        if db.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_decision_events_and_access_log_are_append_only(db):
    with db.session() as session:
        note = _note(session)
        notes_db.record_decisions(session, note, [schemas.DecisionIn(suggestion_id=note.suggestions[0].id, action="accept")], real_catalog(), "c")
        entry = AccessLogEntry(key_name="k", role="coder", action="notes.read", method="GET", path="/x", status_code=200)
        session.add(entry)
        session.flush()
        session.add(AccessLogNote(access_log_id=entry.id, note_id=note.id))
        session.add(CodeSequence(note_id=note.id, codes=[{"system": "ICD10CM", "code": "I10", "poa": "Y"}], actor="c"))
    for statement in ("UPDATE code_sequences SET actor = 'x'", "DELETE FROM code_sequences","UPDATE decision_events SET action = 'reject'", "DELETE FROM decision_events",
                      "UPDATE access_log SET key_name = 'someone else'", "DELETE FROM access_log",
                      "UPDATE access_log_notes SET note_id = 'x'", "DELETE FROM access_log_notes"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    with db.session() as session:
        assert session.scalar(select(DecisionEvent.action)) == "accept"


def test_a_notes_suggestions_are_stored_in_one_batch_with_their_ids_in_rank_order(db):
    suggestions = [
        ModelSuggestion("ICD10CM", f"R{rank:02d}.9", f"code {rank}", 1 - rank / 100, rank % 3 == 0,
                        (Evidence(rank, rank + 4, "text", "hpi", "present"),), f"reason {rank}")
        for rank in range(30)
    ]
    with db.session() as session:
        note = notes_db.create_note(session, text="t", external_id=None, setting=None, model_version="m1",
                                  suggestions=suggestions, actor="c")
        returned = [(s.id, s.rank, s.code, s.needs_review, s.evidence) for s in note.suggestions]
        empty = notes_db.create_note(session, text="none", external_id=None, setting=None, model_version="m1",
                                   suggestions=[], actor="c")
        assert empty.suggestions == []
        note_id, empty_id = note.id, empty.id
    assert [r[1:3] for r in returned] == [(rank, s.code) for rank, s in enumerate(suggestions)]
    with db.session() as session:
        stored = notes_db.get_note(session, note_id, full=True).suggestions
        assert [(s.id, s.rank, s.code, s.needs_review, s.evidence) for s in stored] == returned
        assert stored[1].evidence == [{"start": 1, "end": 5, "text": "text", "section": "hpi", "assertion": "present"}]
        assert stored[0].created_at.tzinfo is not None and stored[0].model_version == "m1"
        assert notes_db.get_note(session, empty_id, full=True).suggestions == []


def test_foreign_keys_are_enforced(db):
    with pytest.raises(DBAPIError):
        with db.session() as session:
            session.add(DecisionEvent(note_id="no-such-note", action="add", system="ICD10CM", code="I10", actor="c"))


def test_api_keys_are_hashed_checked_and_revocable(db):
    with db.session() as session:
        token = create_api_key(session, "alice", "coder")
        other = create_api_key(session, "bob", Role.ADMIN)
    assert token.startswith("csk_") and len(token) > 40 and token != other
    with db.session() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.name == "alice"))
        assert stored.key_hash == hash_key(token) and token not in (stored.key_hash, stored.prefix)
        assert authenticate(session, token).role is Role.CODER
        assert authenticate(session, other).name == "bob"
        assert authenticate(session, token + "x") is None and authenticate(session, "") is None
        with pytest.raises(ValueError, match="already exists"):
            create_api_key(session, "alice", "auditor")
        with pytest.raises(ValueError, match="unknown role"):
            create_api_key(session, "carol", "superuser")
    with db.session() as session:
        assert revoke_api_key(session, "alice") and not revoke_api_key(session, "alice")
    with db.session() as session:
        assert authenticate(session, token) is None
        assert [(k.name, k.revoked_at is not None) for k in list_api_keys(session)] == [("alice", True), ("bob", False)]


def test_timestamps_come_back_in_utc(db):
    with db.session() as session:
        note_id = _note(session).id
    with db.session() as session:
        created = session.get(Note, note_id).created_at
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=1)


def test_two_coders_deciding_the_same_suggestion_concurrently_are_both_recorded(db):
    with db.session() as session:
        note = _note(session)
        note_id, sid = note.id, note.suggestions[1].id
    barrier = threading.Barrier(2)
    errors = []

    def coder(name, action):
        try:
            with db.session() as session:
                note = notes_db.get_note(session, note_id)
                barrier.wait(5)
                notes_db.record_decisions(session, note, [schemas.DecisionIn(suggestion_id=sid, action=action)], real_catalog(), name)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_together([threading.Thread(target=coder, args=("coder-a", "accept")), threading.Thread(target=coder, args=("coder-b", "reject"))], 20)
    assert errors == []
    with db.session() as session:
        events = notes_db.note_events(session, note_id)
        assert sorted((e.actor, e.action) for e in events) == [("coder-a", "accept"), ("coder-b", "reject")]
        assert session.get(Note, note_id).status == "coded"
        # the final set follows the later event
        final = final_code_set(events)
        assert final == ([] if events[-1].action == "reject" else [FinalCode("ICD10CM", "R07.9", "suggestion", sid)])


def test_final_code_set_and_feedback_export(db, monkeypatch):
    from codesuggest.storage import feedback

    monkeypatch.setattr(feedback, "BATCH", 1)  # one note per batch: the batching is exercised
    catalog = real_catalog()
    with db.session() as session:
        first, second, _open = _note(session, "first"), _note(session, "second"), _note(session, "open note")
        D = schemas.DecisionIn
        notes_db.record_decisions(session, first, [
            D(suggestion_id=first.suggestions[0].id, action="accept"),
            D(suggestion_id=first.suggestions[1].id, action="replace", replacement=schemas.CodeRef(system="ICD10CM", code="R07.89")),
        ], catalog, "c")
        notes_db.record_decisions(session, second, [
            D(suggestion_id=second.suggestions[0].id, action="reject"),
            D(system="cm", code="e119", action="add"),
        ], catalog, "c")
        ids = first.id, second.id
    examples = export_feedback(db.url)
    assert examples == [
        {"note_id": ids[0], "text": "first", "codes": [{"system": "ICD10CM", "code": "I10"}, {"system": "ICD10CM", "code": "R07.89"}]},
        {"note_id": ids[1], "text": "second", "codes": [{"system": "ICD10CM", "code": "E11.9"}]},
    ]
    with db.sessions() as session:
        assert export_feedback(session, datetime.now(timezone.utc) + timedelta(seconds=5)) == []
        assert export_feedback(session, "2000-01-01") == examples
        assert session.scalar(select(func.count()).select_from(Note)) == 3


def test_sqlite_writers_in_one_process_take_turns_instead_of_meeting_the_busy_handler(tmp_path):
    """With SQLite's busy timeout at 0, concurrent writers would fail at once ("database is
    locked"); taking the process's write turn, all of them get through."""
    from sqlalchemy import event

    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    db.migrate()
    db.engine.dispose()
    event.listen(db.engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout=0"))
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait(5)
        for i in range(15):
            try:
                with db.write_turn(), db.session() as session:
                    session.add(AccessLogEntry(action="test", method="POST", path=f"/w{n}/{i}", status_code=201))
                    session.flush()
                    session.add(AccessLogEntry(action="test", method="POST", path=f"/w{n}/{i}b", status_code=201))
            except Exception as exc:  # noqa: BLE001 - counted below
                errors.append(exc)

    run_together([threading.Thread(target=writer, args=(n,)) for n in range(8)], 30)
    assert errors == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == 8 * 15 * 2
    db.dispose()
