"""The HTTP API end to end: the coding flow, auth, limits, validation messages, access log, metrics."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from codesuggest.storage.feedback import export_feedback
from service_fakes import (
    DATABASES, NOTE, GuidelineKeywordSuggester, KeywordSuggester, auth, database_url_for, real_catalog, service,
)


@pytest.fixture(scope="session", autouse=True)
def _catalog():
    return real_catalog()


@pytest.fixture
def svc(tmp_path):
    with service(tmp_path) as ctx:
        yield ctx


def submit(client, key, text=NOTE, **extra):
    r = client.post("/v1/notes", json={"text": text, **extra}, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


def by_code(suggestions):
    return {s["code"]: s for s in suggestions}


def assert_error(r, status, *fragments):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    for fragment in fragments:
        assert fragment in body["error"]["message"], body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("kind", DATABASES)
def test_whole_flow_submit_decide_final_set_export(tmp_path, kind):
    with database_url_for(kind, tmp_path) as url, service(tmp_path, database_url=url) as (client, keys, _app):
        coder = keys["coder"]
        created = submit(client, coder, external_id="enc-1", setting="outpatient")
        assert created["model_version"] == "kw-1"
        sugg = by_code(created["suggestions"])
        assert set(sugg) == {"I10", "E11.9", "R07.9", "J18.9"}
        confidences = [s["confidence"] for s in created["suggestions"]]
        assert confidences == sorted(confidences, reverse=True)
        for s in created["suggestions"]:  # evidence offsets point into the submitted text
            ev = s["evidence"][0]
            assert NOTE[ev["start"] : ev["end"]] == ev["text"]
            assert set(ev) == {"start", "end", "text", "section", "assertion"}
        assert sugg["J18.9"]["evidence"][0]["assertion"] == "negated" and sugg["J18.9"]["needs_review"]

        note_id = created["note_id"]
        detail = client.get(f"/v1/notes/{note_id}", headers=auth(coder)).json()
        assert detail["status"] == "open" and detail["text"] == NOTE and detail["external_id"] == "enc-1"
        assert detail["decisions"] == [] and detail["final_codes"] == []
        assert [n["note_id"] for n in client.get("/v1/notes?status=open", headers=auth(coder)).json()["items"]] == [note_id]

        decisions = [
            {"suggestion_id": sugg["I10"]["suggestion_id"], "action": "accept"},
            {"suggestion_id": sugg["E11.9"]["suggestion_id"], "action": "replace",
             "replacement": {"system": "ICD-10-CM", "code": "e1165"}, "reason": "hyperglycemia documented"},
            {"suggestion_id": sugg["J18.9"]["suggestion_id"], "action": "reject", "reason": "negated"},
            {"system": "ICD10CM", "code": "E78.5", "action": "add"},
        ]
        r = client.post(f"/v1/notes/{note_id}/decisions", json={"decisions": decisions}, headers=auth(coder))
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["status"] == "coded" and len(out["decisions"]) == 4
        assert out["decisions"][1]["replacement"] == {
            "system": "ICD10CM", "code": "E11.65", "description": "Type 2 diabetes mellitus with hyperglycemia"}
        final = [(c["system"], c["code"], c["source"]) for c in out["final_codes"]]
        assert final == [("ICD10CM", "I10", "suggestion"), ("ICD10CM", "E11.65", "replacement"), ("ICD10CM", "E78.5", "added")]

        # A later decision on the same code wins; an added code can be rejected by (system, code).
        r = client.post(f"/v1/notes/{note_id}/decisions", json={"decisions": [
            {"system": "ICD10CM", "code": "E78.5", "action": "reject"},
            {"suggestion_id": sugg["R07.9"]["suggestion_id"], "action": "accept"},
        ]}, headers=auth(coder))
        assert r.status_code == 201
        detail = client.get(f"/v1/notes/{note_id}", headers=auth(keys["auditor"])).json()
        assert [c["code"] for c in detail["final_codes"]] == ["I10", "E11.65", "R07.9"]
        assert len(detail["decisions"]) == 6 and detail["status"] == "coded" and detail["coded_at"]
        assert client.get("/v1/notes?status=open", headers=auth(coder)).json()["total"] == 0
        assert client.get("/v1/notes?status=coded", headers=auth(coder)).json()["total"] == 1

        submit(client, coder, text="Headache since morning.")  # open notes are not training data
        r = client.get("/v1/feedback/export", headers=auth(keys["data_scientist"]))
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert lines == [{"note_id": note_id, "text": NOTE, "codes": [
            {"system": "ICD10CM", "code": "I10"}, {"system": "ICD10CM", "code": "E11.65"},
            {"system": "ICD10CM", "code": "R07.9"}], "code_set_release": real_catalog().release_label}]
        lines = [{k: v for k, v in line.items() if k != "code_set_release"} for line in lines]  # the library's, without a remapper
        assert export_feedback(url) == lines
        future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
        assert client.get("/v1/feedback/export", params={"since": future}, headers=auth(keys["data_scientist"])).text == ""
        past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        assert export_feedback(url, past) == lines
        assert client.get("/v1/feedback/export", params={"since": "2020-01-01"}, headers=auth(keys["data_scientist"])).text.count("\n") == 1


def test_list_is_newest_first_and_paginated(svc):
    client, keys, _ = svc
    ids = [submit(client, keys["coder"], text=f"Note {i}: hypertension.")["note_id"] for i in range(5)]
    page = client.get("/v1/notes?limit=2&offset=1", headers=auth(keys["coder"])).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [n["note_id"] for n in page["items"]] == [ids[3], ids[2]]
    assert_error(client.get("/v1/notes?limit=0", headers=auth(keys["coder"])), 422, "limit")
    assert_error(client.get("/v1/notes?status=closed", headers=auth(keys["coder"])), 422, "status")


# -- auth -------------------------------------------------------------------------------------------
ENDPOINTS = [
    # method, path, body, roles allowed besides admin
    ("POST", "/v1/notes", {"text": "hypertension"}, {"coder"}),
    ("GET", "/v1/notes", None, {"coder", "auditor"}),
    ("GET", "/v1/notes/{note_id}", None, {"coder", "auditor"}),
    ("POST", "/v1/notes/{note_id}/decisions", {"decisions": [{"system": "ICD10CM", "code": "I10", "action": "add"}]}, {"coder"}),
    ("GET", "/v1/codes/search?q=hypert", None, {"coder", "auditor", "data_scientist"}),
    ("GET", "/v1/audit/samples?strategy=random&seed=1", None, {"auditor"}),
    ("POST", "/v1/audit/reviews", {"note_id": "{note_id}", "verdict": "agree"}, {"auditor"}),
    ("GET", "/v1/audit/stats", None, {"auditor", "data_scientist"}),
    ("GET", "/v1/feedback/export", None, {"data_scientist"}),
    ("GET", "/v1/models", None, {"coder", "auditor", "data_scientist"}),
    ("POST", "/v1/models/kw-1/activate", None, {"data_scientist"}),
    ("GET", "/v1/admin/access-log", None, set()),
    ("GET", "/metrics", None, {"coder", "auditor", "data_scientist"}),
]


def test_every_endpoint_needs_a_key_and_the_right_role(svc):
    client, keys, _ = svc
    note_id = submit(client, keys["coder"])["note_id"]
    for method, path, body, allowed in ENDPOINTS:
        path = path.format(note_id=note_id)
        if body:
            body = json.loads(json.dumps(body).replace("{note_id}", note_id))
        err = assert_error(client.request(method, path, json=body), 401, "API key")
        assert err["code"] == "unauthorized"
        r = client.request(method, path, json=body, headers=auth("csk_not-a-real-key"))
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert client.request(method, path, json=body, headers={"Authorization": keys["coder"]}).status_code == 401
        for role, key in keys.items():
            r = client.request(method, path, json=body, headers=auth(key))
            expected_ok = role == "admin" or role in allowed
            if expected_ok:
                # activating without a registry is a 409, not an auth failure
                assert r.status_code in (200, 201, 409), (method, path, role, r.text)
            else:
                assert_error(r, 403, f"role {role!r} may not do this")


def test_health_and_readiness_need_no_key(svc):
    client, _keys, _ = svc
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model_version"] == "kw-1" and "ICD10CM" in ready["code_sets"]


def test_revoked_key_is_refused(svc):
    from codesuggest.service.keys import revoke_api_key

    client, keys, app = svc
    assert client.get("/v1/notes", headers=auth(keys["coder"])).status_code == 200
    with app.state.service.db.session() as session:
        assert revoke_api_key(session, "coder-key")
    assert_error(client.get("/v1/notes", headers=auth(keys["coder"])), 401)


# -- limits and validation --------------------------------------------------------------------------
def test_note_over_the_limit_is_413(tmp_path):
    with service(tmp_path, max_note_chars=100) as (client, keys, _):
        assert client.post("/v1/notes", json={"text": "x" * 100}, headers=auth(keys["coder"])).status_code == 201
        err = assert_error(client.post("/v1/notes", json={"text": "x" * 101}, headers=auth(keys["coder"])), 413, "101", "100")
        assert err["code"] == "payload_too_large"
        # a body far over any note is refused before it is read or parsed
        r = client.post("/v1/notes", content=b"{" + b" " * 2_000_000 + b"}", headers={**auth(keys["coder"]), "content-type": "application/json"})
        assert_error(r, 413, "over the limit")


def test_validation_errors_are_422_with_messages(svc):
    client, keys, _ = svc
    h = auth(keys["coder"])
    assert_error(client.post("/v1/notes", json={"text": ""}, headers=h), 422, "text", "empty")
    assert_error(client.post("/v1/notes", json={"text": "  \n\t "}, headers=h), 422, "empty")
    assert_error(client.post("/v1/notes", json={}, headers=h), 422, "text")
    assert_error(client.post("/v1/notes", json={"text": "x", "setting": "icu"}, headers=h), 422, "setting")
    created = submit(client, keys["coder"])
    other = submit(client, keys["coder"], text="Headache.")
    sid = created["suggestions"][0]["suggestion_id"]
    url = f"/v1/notes/{created['note_id']}/decisions"

    def decide(*decisions):
        return client.post(url, json={"decisions": list(decisions)}, headers=h)

    assert_error(decide({"suggestion_id": sid, "action": "accept", "comment": "typo'd field"}), 422, "comment", "Extra inputs")
    assert_error(client.post(url, json={"decisions": [], "x": 1}, headers=h), 422)
    assert_error(decide({"suggestion_id": sid, "action": "approve"}), 422, "action")
    assert_error(decide({"system": "ICD10CM", "code": "I10", "action": "accept"}), 422, "'accept' needs a 'suggestion_id'")
    assert_error(decide({"suggestion_id": sid, "action": "replace"}), 422, "'replace' needs a 'replacement'")
    assert_error(decide({"suggestion_id": sid, "action": "accept", "replacement": {"system": "ICD10CM", "code": "I10"}}), 422, "only allowed")
    assert_error(decide({"action": "add", "system": "ICD10CM"}), 422, "both 'system' and 'code'")
    assert_error(decide({"action": "add", "system": "SNOMED", "code": "123"}), 422, "unknown code system")
    assert_error(decide({"action": "add", "system": "ICD10CM", "code": "not a code"}), 422, "is not an ICD-10-CM code")
    err = assert_error(decide({"action": "add", "system": "ICD10CM", "code": "X99.99"}), 422, "ICD10CM X99.99: not in the loaded code sets")
    assert err["details"] == [{"code": "ICD10CM X99.99"}]
    assert_error(decide({"suggestion_id": sid, "action": "replace", "replacement": {"system": "ICD10CM", "code": "E11"}}), 422, "ICD10CM E11: not billable")
    assert_error(decide({"action": "add", "system": "ICD10PCS", "code": "0DTJ4ZZ"}), 422, "ICD10PCS 0DTJ4ZZ")  # PCS not loaded
    assert_error(decide({"suggestion_id": 999_999, "action": "accept"}), 422, "999999", "not suggestions of note")
    foreign = other["suggestions"][0]["suggestion_id"]
    assert_error(decide({"suggestion_id": foreign, "action": "accept"}), 422, str(foreign))
    # nothing of a batch with one bad decision is recorded
    assert_error(decide({"suggestion_id": sid, "action": "accept"}, {"action": "add", "system": "ICD10CM", "code": "X99.99"}), 422)
    assert client.get(f"/v1/notes/{created['note_id']}", headers=h).json()["decisions"] == []
    assert_error(client.post("/v1/notes/nope/decisions", json={"decisions": [{"suggestion_id": sid, "action": "accept"}]}, headers=h), 404, "nope")
    assert_error(client.get("/v1/notes/nope", headers=h), 404, "not found")
    assert_error(client.get("/v1/nowhere", headers=h), 404)


def test_a_note_sent_as_plain_text_or_pdf_is_told_to_send_json(svc):
    client, keys, _ = svc
    h = auth(keys["coder"])
    for content_type, body in (("text/plain", b"Pt with HTN."), ("application/pdf", b"%PDF-1.7\n%\xe2\xe3"),
                               ("application/x-www-form-urlencoded", b"text=HTN")):
        r = client.post("/v1/notes", content=body, headers={**h, "Content-Type": content_type})
        err = assert_error(r, 415, content_type, '{"text": "..."}', "application/json")
        assert err["code"] == "unsupported_media_type"
    # JSON that is not an object is still a 422 (the body was JSON: its shape is wrong)
    assert_error(client.post("/v1/notes", json="Pt with HTN.", headers=h), 422)


def test_code_search_type_ahead(svc):
    client, keys, _ = svc
    h = auth(keys["coder"])
    hits = client.get("/v1/codes/search", params={"q": "essential hypert"}, headers=h).json()
    assert {"system": "ICD10CM", "code": "I10", "description": "Essential (primary) hypertension", "billable": True} in hits
    hits = client.get("/v1/codes/search", params={"q": "E11.6", "system": "icd10cm", "limit": 5}, headers=h).json()
    assert 0 < len(hits) <= 5 and all(h_["code"].startswith("E11.6") for h_ in hits)
    assert_error(client.get("/v1/codes/search", params={"q": "x", "system": "loinc"}, headers=h), 422, "unknown code system")
    assert_error(client.get("/v1/codes/search", headers=h), 422, "q")


# -- access log, metrics, logs ------------------------------------------------------------------------
def test_access_log_records_who_touched_which_note(svc):
    client, keys, _ = svc
    note_id = submit(client, keys["coder"])["note_id"]
    client.get(f"/v1/notes/{note_id}", headers=auth(keys["auditor"]))
    client.post("/v1/audit/reviews", json={"note_id": note_id, "verdict": "agree"}, headers=auth(keys["auditor"]))
    client.get(f"/v1/notes/{note_id}", headers=auth(keys["data_scientist"]))  # refused, and logged
    client.get("/healthz")
    log = client.get("/v1/admin/access-log", headers=auth(keys["admin"])).json()
    rows = [(e["key_name"], e["role"], e["action"], e["note_id"], e["status_code"]) for e in reversed(log["items"])]
    assert rows == [
        ("coder-key", "coder", "notes.create", note_id, 201),
        ("auditor-key", "auditor", "notes.read", note_id, 200),
        ("auditor-key", "auditor", "audit.review", note_id, 201),
        ("data_scientist-key", "data_scientist", "notes.read", note_id, 403),
    ]
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in log["items"])
    filtered = client.get("/v1/admin/access-log", params={"key_name": "auditor-key"}, headers=auth(keys["admin"])).json()
    assert filtered["total"] == 2
    assert client.get("/v1/admin/access-log", headers=auth(keys["coder"])).status_code == 403


def test_metrics_count_requests_suggestions_and_decisions(svc):
    client, keys, _ = svc
    created = submit(client, keys["coder"])
    client.post(f"/v1/notes/{created['note_id']}/decisions", json={"decisions": [
        {"suggestion_id": created["suggestions"][0]["suggestion_id"], "action": "accept"}]}, headers=auth(keys["coder"]))
    text = client.get("/metrics", headers=auth(keys["admin"])).text
    assert 'codesuggest_http_requests_total{method="POST",route="/v1/notes",status="201"} 1.0' in text
    assert 'codesuggest_suggestions_served_total{model_version="kw-1",system="ICD10CM"} 4.0' in text
    assert 'codesuggest_decisions_total{action="accept"} 1.0' in text
    assert 'codesuggest_http_request_duration_seconds_count{method="POST",route="/v1/notes/{note_id}/decisions"} 1.0' in text
    assert 'codesuggest_model_serving{version="kw-1"} 1.0' in text


class ExplodingSuggester(KeywordSuggester):
    def suggest(self, text, setting=None, top_k=30, output=None):
        raise RuntimeError(f"cannot parse {text!r}")


def test_note_text_never_reaches_the_logs(tmp_path, caplog):
    secret = "Patient Zebediah Quux, MRN 4417, hypertension"
    caplog.set_level(logging.DEBUG)
    with service(tmp_path) as (client, keys, _):
        created = submit(client, keys["coder"], text=secret)
        client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"]))
        client.post("/v1/notes", json={"text": secret, "bogus": 1}, headers=auth(keys["coder"]))
        r = client.post("/v1/notes", json={"text": secret, "setting": "nowhere"}, headers=auth(keys["coder"]))
        assert secret not in r.text  # validation errors do not echo the input either
    with service(tmp_path / "b", suggester=ExplodingSuggester()) as (client, keys, _):
        assert_error(client.post("/v1/notes", json={"text": secret}, headers=auth(keys["coder"])), 500, "internal")
    assert "RuntimeError" in caplog.text
    assert "Zebediah" not in caplog.text and "4417" not in caplog.text


def test_findings_come_with_suggestions_and_the_final_code_set(svc):
    """Issue 8: code-set checks reach the coder with the suggestions and the final code set."""
    client, keys, _app = svc
    created = submit(client, keys["coder"], text="Type 2 diabetes with hypertension.")
    assert isinstance(created["findings"], list)
    decided = client.post(
        f"/v1/notes/{created['note_id']}/decisions",
        json={"decisions": [{"system": "ICD10CM", "code": "E11.22", "action": "add"}]},
        headers=auth(keys["coder"]),
    )
    assert decided.status_code == 201, decided.text
    detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
    companion = [f for f in detail["findings"] if f["rule"] == "companion_code"]
    assert companion and "E11.22" in companion[0]["codes"]  # asks for the CKD stage (N18.1-N18.6)


def test_guideline_notes_and_the_principal_diagnosis_are_stored_and_served(tmp_path):
    """Issue 14: each rewrite says what it did and why, with its section; the ranker's score stays visible."""
    with service(tmp_path, suggester=GuidelineKeywordSuggester()) as (client, keys, _):
        created = submit(client, keys["coder"], text="Hypertension with CKD stage 3a. Chest pain.", setting="emergency")
        first = created["suggestions"][0]
        assert first["code"] == "I12.9" and first["principal"] and first["ranker_score"] == 0.91
        assert [(g["rule"], g["section"]) for g in first["guidelines"]] == [("hypertension", "I.C.9.a.2")]
        assert "replaces I10" in first["guidelines"][0]["message"]
        assert not any(s["principal"] for s in created["suggestions"][1:])
        detail = client.get(f"/v1/notes/{created['note_id']}", headers=auth(keys["coder"])).json()
        assert detail["suggestions"][0]["guidelines"] == first["guidelines"] and detail["setting"] == "emergency"
