"""Issue 18, the coder's day through the API: the queue a coder knows notes by, the principal diagnosis and
sequence with present-on-admission, submitting with undecided suggestions, and a setting that drops a system."""

from __future__ import annotations

import pytest

from service_fakes import CKD_NOTE, DATABASES, NOTE, auth, guideline_service, real_catalog

@pytest.fixture(scope="module", autouse=True)
def _catalog():
    real_catalog()


svc = pytest.fixture(params=DATABASES, name="svc")(guideline_service)


def submit(client, key, text=NOTE, **extra):
    r = client.post("/v1/notes", json={"text": text, **extra}, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


def decide(client, key, note_id, **body):
    return client.post(f"/v1/notes/{note_id}/decisions", json=body, headers=auth(key))


def test_the_queue_shows_what_a_coder_knows_a_note_by_and_filters_by_setting(svc):
    client, keys, _ = svc
    h = auth(keys["coder"])
    inpatient = submit(client, keys["coder"], external_id="enc-1", setting="inpatient")
    submit(client, keys["coder"], text="Headache.", external_id="enc-2", setting="outpatient")
    page = client.get("/v1/notes", params={"setting": "inpatient"}, headers=h).json()
    assert page["total"] == 1 and [n["external_id"] for n in page["items"]] == ["enc-1"]
    item = page["items"][0]
    assert item["suggestion_count"] == len(inpatient["suggestions"]) == 4 and item["setting"] == "inpatient"
    assert client.get("/v1/notes", params={"setting": "outpatient", "status": "coded"}, headers=h).json()["total"] == 0
    assert client.get("/v1/notes", params={"setting": "icu"}, headers=h).status_code == 422


def test_the_principal_diagnosis_is_prefilled_and_the_coder_sets_the_sequence_and_poa(svc):
    client, keys, _ = svc
    created = submit(client, keys["coder"], text=CKD_NOTE, setting="inpatient")
    sid = {s["code"]: s["suggestion_id"] for s in created["suggestions"]}
    r = decide(client, keys["coder"], created["note_id"], decisions=[
        {"suggestion_id": sid["E11.9"], "action": "accept"}, {"suggestion_id": sid["I12.9"], "action": "accept"},
        {"action": "add", "system": "ICD10CM", "code": "N18.31"}])
    assert r.status_code == 201, r.text
    final = r.json()["final_codes"]
    # the coding layer's principal first, whatever the order of the decisions; added codes after suggested ones
    assert [(c["code"], c["sequence"], c["principal"]) for c in final] == [
        ("I12.9", 1, True), ("E11.9", 2, False), ("N18.31", 3, False)]
    assert r.json()["undecided"] == 1  # R07.9

    r = decide(client, keys["coder"], created["note_id"], sequence=[
        {"system": "ICD10CM", "code": "e119", "poa": "Y"}, {"system": "ICD10CM", "code": "I12.9", "poa": "Y"},
        {"system": "ICD10CM", "code": "N18.31", "poa": "W"}])
    assert r.status_code == 201, r.text
    detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
    assert [(c["code"], c["sequence"], c["principal"], c["poa"]) for c in detail["final_codes"]] == [
        ("E11.9", 1, True, "Y"), ("I12.9", 2, False, "Y"), ("N18.31", 3, False, "W")]
    assert len(detail["decisions"]) == 3  # a new order is not a decision

    bad = decide(client, keys["coder"], created["note_id"], sequence=[
        {"system": "ICD10CM", "code": "J18.9"}, {"system": "ICD10CM", "code": "I12.9", "poa": "X"}])
    assert bad.status_code == 422
    bad = decide(client, keys["coder"], created["note_id"], sequence=[{"system": "ICD10CM", "code": "J18.9"}])
    assert bad.status_code == 422 and "not in the note's final code set" in bad.json()["error"]["message"]


def test_poa_is_for_inpatient_diagnoses_only(svc):
    client, keys, _ = svc
    created = submit(client, keys["coder"], text=CKD_NOTE, setting="outpatient")
    sid = {s["code"]: s["suggestion_id"] for s in created["suggestions"]}
    r = decide(client, keys["coder"], created["note_id"], decisions=[{"suggestion_id": sid["I12.9"], "action": "accept"}],
               sequence=[{"system": "ICD10CM", "code": "I12.9", "poa": "Y"}])
    assert r.status_code == 422 and "inpatient" in r.json()["error"]["message"]
    detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
    assert detail["decisions"] == []  # all or nothing


def test_undecided_suggestions_are_rejected_only_when_the_coder_says_so(svc):
    client, keys, _ = svc
    created = submit(client, keys["coder"], text=CKD_NOTE, setting="inpatient")
    sid = {s["code"]: s["suggestion_id"] for s in created["suggestions"]}
    r = decide(client, keys["coder"], created["note_id"], decisions=[{"suggestion_id": sid["I12.9"], "action": "accept"}])
    assert r.json()["undecided"] == 2
    detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
    assert detail["undecided"] == 2 and detail["status"] == "coded"
    r = decide(client, keys["coder"], created["note_id"], reject_undecided=True)
    assert r.status_code == 201 and r.json()["undecided"] == 0
    assert sorted((d["action"], d["code"]) for d in r.json()["decisions"]) == [("reject", "E11.9"), ("reject", "R07.9")]
    assert [c["code"] for c in r.json()["final_codes"]] == ["I12.9"]
    assert decide(client, keys["coder"], created["note_id"]).status_code == 422  # nothing to record


def test_a_setting_that_drops_a_system_says_so(svc):
    client, keys, _ = svc
    created = submit(client, keys["coder"], setting="outpatient")
    assert created["coded_systems"] == ["ICD10CM"]
    (notice,) = created["notices"]
    assert "no procedure codes" in notice and "no CPT code file is loaded" in notice
    detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
    assert detail["notices"] == created["notices"]


def test_a_setting_that_leaves_a_loaded_system_out_names_it():
    from types import SimpleNamespace

    from codesuggest.service.final_codes import coded_systems

    catalog = SimpleNamespace(versions={"ICD10CM": "2026", "ICD10PCS": "file x"})
    assert coded_systems("inpatient", catalog) == (["ICD10CM", "ICD10PCS"], [])
    systems, (notice,) = coded_systems("outpatient", catalog)
    assert systems == ["ICD10CM"] and "ICD-10-PCS codes are left out in the outpatient setting" in notice
    assert "no CPT code file is loaded" in notice
    both = SimpleNamespace(versions={"ICD10CM": "2026", "ICD10PCS": "x", "CPT": "y"})
    assert coded_systems("emergency", both) == (["CPT", "ICD10CM"], [])
