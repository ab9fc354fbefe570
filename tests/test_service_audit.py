"""Audit: reproducible samples, reviews, acceptance/override/rejection statistics, agreement."""

from __future__ import annotations

import pytest

from service_fakes import auth, real_catalog, service

NOTES = [
    "Hypertension. Chest pain.",                      # I10 .91, R07.9 .42
    "Type 2 diabetes. Pneumonia. Headache.",          # E11.9 .84, J18.9 .35, R51.9 .27
    "Atrial fibrillation and hypertension.",          # I10 .91, I48.91 .18
    "Chest pain and headache, hypertension.",         # I10 .91, R07.9 .42, R51.9 .27
    "Pneumonia. Atrial fibrillation.",                # J18.9 .35, I48.91 .18
    "Type 2 diabetes, chest pain, pneumonia.",        # E11.9 .84, R07.9 .42, J18.9 .35
]


@pytest.fixture(scope="session", autouse=True)
def _catalog():
    return real_catalog()


@pytest.fixture
def coded(tmp_path):
    """Six notes; coders accept, reject and replace some suggestions."""
    with service(tmp_path) as (client, keys, app):
        notes = []
        for text in NOTES:
            r = client.post("/v1/notes", json={"text": text}, headers=auth(keys["coder"]))
            notes.append(r.json())

        def sid(i, code):
            return next(s["suggestion_id"] for s in notes[i]["suggestions"] if s["code"] == code)

        def decide(i, *decisions):
            r = client.post(f"/v1/notes/{notes[i]['note_id']}/decisions", json={"decisions": list(decisions)},
                            headers=auth(keys["coder"]))
            assert r.status_code == 201, r.text

        decide(0, {"suggestion_id": sid(0, "I10"), "action": "accept"}, {"suggestion_id": sid(0, "R07.9"), "action": "reject"})
        decide(1, {"suggestion_id": sid(1, "E11.9"), "action": "replace", "replacement": {"system": "ICD10CM", "code": "E11.65"}},
               {"suggestion_id": sid(1, "J18.9"), "action": "accept"}, {"suggestion_id": sid(1, "R51.9"), "action": "reject"},
               {"system": "ICD10CM", "code": "E78.5", "action": "add"})
        decide(2, {"suggestion_id": sid(2, "I10"), "action": "accept"}, {"suggestion_id": sid(2, "I48.91"), "action": "accept"})
        # a coder changes their mind: the latest decision on a suggestion counts
        decide(3, {"suggestion_id": sid(3, "I10"), "action": "reject"})
        decide(3, {"suggestion_id": sid(3, "I10"), "action": "accept"})
        yield client, keys, notes, sid


def sample(client, key, **params):
    r = client.get("/v1/audit/samples", params=params, headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()


def test_samples_are_reproducible_by_seed(coded):
    client, keys, _notes, _sid = coded
    auditor = keys["auditor"]
    for strategy in ("random", "low_confidence", "disputed"):
        a = sample(client, auditor, strategy=strategy, size=3, seed=7)
        b = sample(client, auditor, strategy=strategy, size=3, seed=7)
        assert a == b and a["seed"] == 7 and a["strategy"] == strategy
    draws = {tuple(i["suggestion_id"] for i in sample(client, auditor, strategy="random", size=4, seed=s)["items"]) for s in range(8)}
    assert len(draws) > 1  # the seed matters
    unseeded = sample(client, auditor, strategy="random", size=4)
    assert sample(client, auditor, strategy="random", size=4, seed=unseeded["seed"]) == unseeded


def test_random_sample_size_and_population(coded):
    client, keys, _notes, _sid = coded
    s = sample(client, keys["auditor"], strategy="random", size=100, seed=1)
    assert s["population"] == 15 and s["size"] == 15 and len({i["suggestion_id"] for i in s["items"]}) == 15


def test_low_confidence_sample_is_within_the_band_lowest_first(coded):
    client, keys, _notes, _sid = coded
    s = sample(client, keys["auditor"], strategy="low_confidence", size=5, seed=3)
    confidences = [i["confidence"] for i in s["items"]]
    assert s["population"] == 10  # .42 x3, .35 x3, .27 x2, .18 x2 are <= 0.5 (default band)
    assert confidences == sorted(confidences) and all(c <= 0.5 for c in confidences) and len(confidences) == 5
    narrow = sample(client, keys["auditor"], strategy="low_confidence", size=50, seed=3, min_confidence=0.3, max_confidence=0.4)
    assert {i["code"] for i in narrow["items"]} == {"J18.9"} and narrow["size"] == 3
    r = client.get("/v1/audit/samples", params={"strategy": "low_confidence", "min_confidence": 0.6, "max_confidence": 0.2},
                   headers=auth(keys["auditor"]))
    assert r.status_code == 422 and "min_confidence" in r.json()["error"]["message"]


def test_disputed_sample_holds_rejected_or_replaced_suggestions(coded):
    client, keys, _notes, sid = coded
    s = sample(client, keys["auditor"], strategy="disputed", size=50, seed=0)
    assert {i["suggestion_id"] for i in s["items"]} == {sid(0, "R07.9"), sid(1, "E11.9"), sid(1, "R51.9"), sid(3, "I10")}
    latest = {i["suggestion_id"]: i["latest_action"] for i in s["items"]}
    assert latest[sid(3, "I10")] == "accept" and latest[sid(1, "E11.9")] == "replace"
    assert all(i["latest_actor"] == "coder-key" for i in s["items"])


def test_reviews_and_stats(coded):
    client, keys, notes, sid = coded
    auditor = keys["auditor"]

    def review(**body):
        return client.post("/v1/audit/reviews", json=body, headers=auth(auditor))

    r = review(note_id=notes[0]["note_id"], suggestion_id=sid(0, "R07.9"), verdict="disagree",
               corrected={"system": "icd10cm", "code": "r0789"}, comment="atypical chest pain documented")
    assert r.status_code == 201, r.text
    assert r.json()["corrected"] == {"system": "ICD10CM", "code": "R07.89", "description": "Other chest pain"}
    assert r.json()["auditor"] == "auditor-key"
    assert review(note_id=notes[0]["note_id"], suggestion_id=sid(0, "I10"), verdict="agree").status_code == 201
    assert review(note_id=notes[2]["note_id"], suggestion_id=sid(2, "I10"), verdict="agree").status_code == 201
    assert review(note_id=notes[1]["note_id"], verdict="agree", comment="whole note fine").status_code == 201

    bad = review(note_id=notes[0]["note_id"], suggestion_id=sid(1, "J18.9"), verdict="agree")
    assert bad.status_code == 422 and "is not a suggestion of note" in bad.json()["error"]["message"]
    bad = review(note_id=notes[0]["note_id"], verdict="agree", corrected={"system": "ICD10CM", "code": "I10"})
    assert bad.status_code == 422 and "'corrected' goes with verdict 'disagree'" in bad.json()["error"]["message"]
    bad = review(note_id=notes[0]["note_id"], verdict="disagree", corrected={"system": "ICD10CM", "code": "Z99.999"})
    assert bad.status_code == 422 and "Z99.999" in bad.json()["error"]["message"]
    assert review(note_id="missing", verdict="agree").status_code == 404
    assert review(note_id=notes[0]["note_id"], verdict="maybe").status_code == 422
    assert client.post("/v1/audit/reviews", json={"note_id": notes[0]["note_id"], "verdict": "agree"},
                       headers=auth(keys["coder"])).status_code == 403

    stats = client.get("/v1/audit/stats", headers=auth(keys["data_scientist"])).json()
    (cm,) = stats["by_system"]
    # decided suggestions by latest action: accept I10 x3, J18.9, I48.91 (5); reject R07.9, R51.9 (2); replace E11.9 (1)
    assert cm == {"system": "ICD10CM", "code": None, "suggested": 15, "decided": 8, "accepted": 5, "rejected": 2,
                  "replaced": 1, "added": 1, "acceptance_rate": 0.625, "override_rate": 0.125, "rejection_rate": 0.25}
    codes = {row["code"]: row for row in stats["by_code"]}
    assert codes["I10"]["suggested"] == 3 and codes["I10"]["accepted"] == 3 and codes["I10"]["acceptance_rate"] == 1.0
    assert codes["R07.9"]["rejection_rate"] == 1.0 and codes["R07.9"]["suggested"] == 3 and codes["R07.9"]["decided"] == 1
    assert codes["E11.9"]["override_rate"] == 1.0
    assert codes["E78.5"]["added"] == 1 and codes["E78.5"]["suggested"] == 0 and codes["E78.5"]["acceptance_rate"] is None
    assert stats["agreement"] == {"reviews": 4, "agree": 3, "disagree": 1, "agreement_rate": 0.75}
    assert stats["agreement_by_system"]["ICD10CM"] == {"reviews": 3, "agree": 2, "disagree": 1, "agreement_rate": 0.6667}
    limited = client.get("/v1/audit/stats", params={"code_limit": 2, "system": "cm"}, headers=auth(auditor)).json()
    assert [r["code"] for r in limited["by_code"]] == ["I10", "J18.9"]  # most suggested first, then by code
    empty = client.get("/v1/audit/stats", params={"system": "CPT"}, headers=auth(auditor)).json()
    assert empty["by_system"] == [] and empty["by_code"] == []
