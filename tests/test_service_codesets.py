"""Open work across a code-set update: the release recorded with every suggestion and decision, the
revalidation listing (read only), and feedback decided under an older release exported as successors.

The older release is simulated: rows stored with codes the loaded FY2026 release no longer bills
(``G35`` multiple sclerosis and ``E78.01`` familial hypercholesterolemia became headers in FY2026).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from codesuggest.models.interface import Evidence
from codesuggest.models.interface import Suggestion as ModelSuggestion
from codesuggest.service import notes as notes_db
from codesuggest.storage.db import Database
from codesuggest.storage.orm import DecisionEvent, Note, Suggestion
from service_fakes import auth, real_catalog, service

OLD = "ICD10CM file icd10cm-codes-2025.txt:29d740460ee0"


@pytest.fixture(scope="module", autouse=True)
def _catalog():
    return real_catalog()


def _old_note(url: str, codes: list[tuple[str, str]], *, decided: list[tuple[str, str]] = ()) -> str:
    """A note suggested (and, with ``decided``, coded) under the older release."""
    db = Database(url)
    with db.session() as session:
        suggestions = [ModelSuggestion("ICD10CM", code, title, 0.9, False, (Evidence(0, 4, "text", "hpi", "present"),))
                       for code, title in codes]
        note = notes_db.create_note(session, text="Patient with MS and familial hypercholesterolemia.", external_id=None,
                                  setting=None, model_version="old-model", suggestions=suggestions, actor="c",
                                  code_set_release=OLD)
        for code, action in decided:
            suggestion = next(s for s in note.suggestions if s.code == code)
            session.add(DecisionEvent(note_id=note.id, suggestion_id=suggestion.id, action=action, system="ICD10CM",
                                      code=code, actor="c", code_set_release=OLD))
        if decided:
            note.status = "coded"
        note_id = note.id
    db.dispose()
    return note_id


def _counts(url: str) -> tuple[int, int, list[str]]:
    db = Database(url)
    with db.session() as session:
        out = (session.scalar(select(func.count()).select_from(Suggestion)),
               session.scalar(select(func.count()).select_from(DecisionEvent)),
               list(session.scalars(select(Note.status).order_by(Note.id))))
    db.dispose()
    return out


def test_suggestions_and_decisions_record_the_loaded_release(tmp_path):
    with service(tmp_path) as (client, keys, _app):
        created = client.post("/v1/notes", json={"text": "Hypertension and chest pain."}, headers=auth(keys["coder"])).json()
        release = real_catalog().release_label
        assert release.startswith("ICD10CM")
        assert {s["code_set_release"] for s in created["suggestions"]} == {release}
        first = created["suggestions"][0]["suggestion_id"]
        r = client.post(f"/v1/notes/{created['note_id']}/decisions",
                        json={"decisions": [{"suggestion_id": first, "action": "accept"}]}, headers=auth(keys["coder"]))
        assert r.json()["decisions"][0]["code_set_release"] == release


def test_open_work_with_retired_codes_is_listed_with_successors_and_left_unchanged(tmp_path):
    url = f"sqlite:///{tmp_path / 'service.db'}"
    with service(tmp_path, database_url=url) as (client, keys, _app):
        open_note = _old_note(url, [("G35", "Multiple sclerosis"), ("I10", "Essential (primary) hypertension")])
        coded = _old_note(url, [("E78.01", "Familial hypercholesterolemia"), ("G35", "Multiple sclerosis")],
                          decided=[("E78.01", "accept"), ("G35", "reject")])
        current = _old_note(url, [("I10", "Essential (primary) hypertension")])
        before = _counts(url)
        r = client.get("/v1/codesets/revalidation", headers=auth(keys["coder"]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["release"] == real_catalog().release_label and body["total"] == 2
        items = {item["note_id"]: item for item in body["items"]}
        assert current not in items
        (retired,) = items[open_note]["retired"]
        assert (retired["code"], retired["where"], retired["recorded_release"]) == ("G35", "suggestion", OLD)
        assert retired["successors"][0]["code"] == "G35.D"  # Multiple sclerosis, unspecified
        assert retired["successors"][0]["method"] == "expanded"
        (final,) = items[coded]["retired"]  # G35 was rejected: only the final code counts
        assert (final["code"], final["where"], final["successors"][0]["code"]) == ("E78.01", "final", "E78.019")
        assert _counts(url) == before  # nothing changed without a coder's decision

        page = client.get("/v1/codesets/revalidation", params={"limit": 1, "offset": 1}, headers=auth(keys["auditor"])).json()
        assert page["total"] == 2 and [i["note_id"] for i in page["items"]] == [body["items"][1]["note_id"]]
        assert client.get("/v1/codesets/revalidation", headers=auth(keys["data_scientist"])).status_code == 403

        # the coder replaces the retired code with its successor: the note leaves the list
        suggestion_id = next(s.id for s in _suggestions(url, open_note) if s.code == "G35")
        r = client.post(f"/v1/notes/{open_note}/decisions", json={"decisions": [{
            "suggestion_id": suggestion_id, "action": "replace", "replacement": {"system": "ICD10CM", "code": "G35.D"}}]},
            headers=auth(keys["coder"]))
        assert r.status_code == 201, r.text
        left = client.get("/v1/codesets/revalidation", headers=auth(keys["coder"])).json()
        assert [i["note_id"] for i in left["items"]] == [coded]

        # exported notes are no longer open work
        export = client.get("/v1/feedback/export", headers=auth(keys["data_scientist"]))
        lines = {row["note_id"]: row for row in map(json.loads, export.text.splitlines())}
        assert lines[coded]["codes"] == [{"system": "ICD10CM", "code": "E78.019", "mapped_from": "E78.01", "decided_under": OLD}]
        assert lines[coded]["code_set_release"] == real_catalog().release_label
        assert lines[open_note]["codes"] == [{"system": "ICD10CM", "code": "G35.D"}]  # decided under the loaded release
        assert client.get("/v1/codesets/revalidation", headers=auth(keys["coder"])).json()["total"] == 0


def _suggestions(url: str, note_id: str) -> list[Suggestion]:
    db = Database(url)
    with db.session() as session:
        rows = list(session.scalars(select(Suggestion).where(Suggestion.note_id == note_id)))
        session.expunge_all()
    db.dispose()
    return rows
