"""Issue 18, the hand-off to billing: a coded note's final code set as a FHIR R4 Claim and CSV, per note and since a
date; role-checked, in the access log, and held back by error-level code-set findings unless the coder overrode."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from codesuggest.storage.orm import AccessLogEntry, AccessLogNote
from service_fakes import CKD_NOTE, DATABASES, auth, guideline_service, real_catalog

@pytest.fixture(scope="module", autouse=True)
def _catalog():
    real_catalog()


svc = pytest.fixture(params=DATABASES, name="svc")(guideline_service)


def coded_note(client, key, *, setting="inpatient", external_id="enc-9", extra=(), **body):
    created = client.post("/v1/notes", json={"text": CKD_NOTE, "setting": setting, "external_id": external_id},
                          headers=auth(key)).json()
    sid = {s["code"]: s["suggestion_id"] for s in created["suggestions"]}
    decisions = [{"suggestion_id": sid["I12.9"], "action": "accept"}, {"suggestion_id": sid["E11.9"], "action": "accept"},
                 {"action": "add", "system": "ICD10CM", "code": "N18.31"}, *extra]
    r = client.post(f"/v1/notes/{created['note_id']}/decisions", headers=auth(key),
                    json={"decisions": decisions, "reject_undecided": True, **body})
    assert r.status_code == 201, r.text
    return created["note_id"]


def test_a_coded_note_is_a_valid_fhir_claim_with_sequence_principal_and_poa(svc):
    from fhir.resources.R4B.claim import Claim

    client, keys, _ = svc
    note_id = coded_note(client, keys["coder"], sequence=[
        {"system": "ICD10CM", "code": "I12.9", "poa": "Y"}, {"system": "ICD10CM", "code": "N18.31", "poa": "Y"},
        {"system": "ICD10CM", "code": "E11.9", "poa": "U"}])
    r = client.get(f"/v1/notes/{note_id}/claim", headers=auth(keys["coder"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    claim = Claim.model_validate(r.json())  # the R4 Claim schema (fhir.resources)
    assert claim.status == "draft" and claim.identifier[0].value == "enc-9"
    rows = [(d.sequence, d.diagnosisCodeableConcept.coding[0].code, d.onAdmission.coding[0].code,
             bool(d.type and d.type[0].coding[0].code == "principal")) for d in claim.diagnosis]
    assert rows == [(1, "I12.9", "y", True), (2, "N18.31", "y", False), (3, "E11.9", "u", False)]
    assert claim.diagnosis[0].diagnosisCodeableConcept.coding[0].system == "http://hl7.org/fhir/sid/icd-10-cm"

    r = client.get(f"/v1/notes/{note_id}/claim", params={"format": "csv"}, headers=auth(keys["coder"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(t["sequence"], t["code"], t["principal"], t["poa"], t["kind"]) for t in table] == [
        ("1", "I12.9", "Y", "Y", "diagnosis"), ("2", "N18.31", "N", "Y", "diagnosis"), ("3", "E11.9", "N", "U", "diagnosis")]


def test_export_is_role_checked_logged_and_needs_a_coded_note(svc):
    client, keys, _app = svc
    note_id = coded_note(client, keys["coder"])
    assert client.get(f"/v1/notes/{note_id}/claim").status_code == 401
    assert client.get(f"/v1/notes/{note_id}/claim", headers=auth(keys["data_scientist"])).status_code == 403
    assert client.get(f"/v1/notes/{note_id}/claim", headers=auth(keys["admin"])).status_code == 200
    open_note = client.post("/v1/notes", json={"text": CKD_NOTE}, headers=auth(keys["coder"])).json()["note_id"]
    r = client.get(f"/v1/notes/{open_note}/claim", headers=auth(keys["coder"]))
    assert r.status_code == 409 and "not coded" in r.json()["error"]["message"]
    db = _app.state.service.db
    with db.session() as session:
        logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "claims.read")).all()
    assert [(e.note_id, e.status_code) for e in logged if e.key_name == "coder-key"][-1] == (open_note, 409)
    assert any(e.note_id == note_id and e.role == "admin" and e.status_code == 200 for e in logged)


def test_an_error_level_finding_blocks_export_until_the_coder_overrides(svc):
    client, keys, _app = svc
    conflicting = [{"action": "add", "system": "ICD10CM", "code": "E10.9"}]  # Excludes1 with E11.9: an error
    note_id = coded_note(client, keys["coder"], extra=conflicting)
    r = client.get(f"/v1/notes/{note_id}/claim", headers=auth(keys["coder"]))
    assert r.status_code == 409 and "excludes1_conflict" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["rule"] == "excludes1_conflict"

    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    clean = coded_note(client, keys["coder"], external_id="enc-10", setting="outpatient")
    r = client.get("/v1/claims", params={"since": since}, headers=auth(keys["coder"]))
    assert r.status_code == 200 and r.headers["x-codesuggest-held-back"] == note_id
    assert {row["note_id"] for row in csv.DictReader(io.StringIO(r.text))} == {clean}

    r = client.post(f"/v1/notes/{note_id}/decisions", headers=auth(keys["coder"]),
                    json={"export_override": "type 1 and type 2 both documented by the endocrinologist"})
    assert r.status_code == 201, r.text
    claim = client.get(f"/v1/notes/{note_id}/claim", headers=auth(keys["coder"])).json()
    assert claim["supportingInfo"][0]["valueString"].startswith("type 1 and type 2")
    bundle = client.get("/v1/claims", params={"since": since, "format": "fhir"}, headers=auth(keys["coder"]))
    assert bundle.status_code == 200 and "x-codesuggest-held-back" not in bundle.headers
    assert sorted(e["resource"]["id"] for e in bundle.json()["entry"]) == sorted([note_id, clean])
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert client.get("/v1/claims", params={"since": future, "format": "fhir"}, headers=auth(keys["coder"])).json()["entry"] == []
    with _app.state.service.db.session() as session:
        entries = session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "claims.export")
                                  .order_by(AccessLogEntry.id)).all()
        bundle_entry = entries[-2]  # the Bundle of both; the last export disclosed none
        disclosed = {n.note_id for n in session.scalars(select(AccessLogNote).where(AccessLogNote.access_log_id == bundle_entry.id))}
    assert [e.disclosed for e in entries] == [1, 2, 0] and disclosed == {note_id, clean}
