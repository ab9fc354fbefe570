"""Model versions: listing, activation without restart, requests in flight finish on the old model."""

from __future__ import annotations

import threading

import pytest

from service_fakes import FakeRegistry, KeywordSuggester, auth, real_catalog, service


@pytest.fixture(scope="session", autouse=True)
def _catalog():
    return real_catalog()


@pytest.fixture
def two_models(tmp_path):
    v1 = KeywordSuggester("kw-1")
    v2 = KeywordSuggester("kw-2", confidence_shift=0.05)
    registry = FakeRegistry(v1, v2, active="kw-1")
    with service(tmp_path, suggester=v1, registry=registry) as (client, keys, app):
        yield client, keys, registry, v1, v2


def test_list_and_activate_swaps_the_served_model(two_models):
    client, keys, registry, v1, v2 = two_models
    listed = client.get("/v1/models", headers=auth(keys["coder"])).json()
    assert listed["serving_version"] == "kw-1"
    assert [(m["version"], m["active"], m["serving"]) for m in listed["models"]] == [("kw-1", True, True), ("kw-2", False, False)]

    before = client.post("/v1/notes", json={"text": "hypertension"}, headers=auth(keys["coder"])).json()
    assert before["model_version"] == "kw-1" and before["suggestions"][0]["confidence"] == 0.91

    r = client.post("/v1/models/kw-2/activate", headers=auth(keys["data_scientist"]))
    assert r.status_code == 200 and r.json() == {"serving_version": "kw-2", "previous_version": "kw-1"}
    assert registry.active_version() == "kw-2" and registry.loads == ["kw-2"]

    after = client.post("/v1/notes", json={"text": "hypertension"}, headers=auth(keys["coder"])).json()
    assert after["model_version"] == "kw-2" and after["suggestions"][0]["confidence"] == 0.96
    stored = client.get(f"/v1/notes/{before['note_id']}", headers=auth(keys["coder"])).json()
    assert stored["model_version"] == "kw-1"  # each note keeps the version that coded it
    assert client.get("/readyz").json()["model_version"] == "kw-2"
    metrics = client.get("/metrics", headers=auth(keys["admin"])).text
    assert 'codesuggest_model_serving{version="kw-2"} 1.0' in metrics and 'version="kw-1"} 1.0\ncodesuggest_model' not in metrics


def test_activation_errors(two_models):
    client, keys, registry, *_ = two_models
    r = client.post("/v1/models/kw-9/activate", headers=auth(keys["data_scientist"]))
    assert r.status_code == 404 and "kw-9" in r.json()["error"]["message"] and "kw-1, kw-2" in r.json()["error"]["message"]
    assert client.post("/v1/models/kw-2/activate", headers=auth(keys["coder"])).status_code == 403
    assert client.post("/v1/models/kw-2/activate", headers=auth(keys["auditor"])).status_code == 403
    assert client.post("/v1/models/kw-2/activate", headers=auth(keys["admin"])).status_code == 200

    def broken(version):
        raise OSError("artefact missing")

    registry.load = broken
    r = client.post("/v1/models/kw-1/activate", headers=auth(keys["data_scientist"]))
    assert r.status_code == 422 and "could not be loaded" in r.json()["error"]["message"]
    assert registry.active_version() == "kw-2"  # a failed load activates nothing
    assert client.get("/v1/models", headers=auth(keys["coder"])).json()["serving_version"] == "kw-2"


def test_activation_error_names_the_code_set_that_differs(two_models):
    client, keys, registry, *_ = two_models
    from codesuggest.models.artifact import CodeSetMismatch, check_code_sets

    registry.models_dir = "/srv/secret/models"

    def mismatched(version):
        try:
            check_code_sets({"version": version, "code_set_versions": {"ICD10CM": "2026", "ICD10PCS": "icd10pcs.txt abc"}},
                            {"ICD10CM": "2026"})
        except CodeSetMismatch as exc:
            raise CodeSetMismatch(f"/srv/secret/models/{version}: {exc}") from None

    registry.load = mismatched
    r = client.post("/v1/models/kw-1/activate", headers=auth(keys["data_scientist"]))
    message = r.json()["error"]["message"]
    assert r.status_code == 422 and "ICD10PCS: model icd10pcs.txt abc, loaded none" in message
    assert "CODESUGGEST_PCS_FILE" in message and "/srv/secret" not in message


def test_request_in_flight_finishes_on_the_old_model(two_models):
    client, keys, registry, v1, v2 = two_models
    v1.entered.clear()
    v1.release.clear()  # the next kw-1 suggest() blocks until released
    result = {}

    def slow_request():
        result["response"] = client.post("/v1/notes", json={"text": "hypertension"}, headers=auth(keys["coder"]))

    worker = threading.Thread(target=slow_request)
    worker.start()
    try:
        assert v1.entered.wait(10), "the request did not reach the model"
        r = client.post("/v1/models/kw-2/activate", headers=auth(keys["data_scientist"]))
        assert r.status_code == 200  # activation does not wait for requests in flight
        fresh = client.post("/v1/notes", json={"text": "hypertension"}, headers=auth(keys["coder"])).json()
        assert fresh["model_version"] == "kw-2"
    finally:
        v1.release.set()
        worker.join(10)
    in_flight = result["response"]
    assert in_flight.status_code == 201 and in_flight.json()["model_version"] == "kw-1"
    assert in_flight.json()["suggestions"][0]["confidence"] == 0.91


def test_without_a_registry_the_fixed_model_is_listed_and_activation_is_409(tmp_path):
    with service(tmp_path) as (client, keys, _):
        listed = client.get("/v1/models", headers=auth(keys["auditor"])).json()
        assert listed == {"serving_version": "kw-1", "models": [
            {"version": "kw-1", "created_at": None, "active": True, "serving": True, "code_set_versions": {}, "metrics": {}}]}
        r = client.post("/v1/models/kw-1/activate", headers=auth(keys["admin"]))
        assert r.status_code == 409 and "no model registry" in r.json()["error"]["message"]
