"""Every endpoint x every caller, with the status each must get (RELIABILITY.md prints this table).

Callers: the four roles, no key, a revoked key, a wrong key and a key sent without the Bearer scheme.
A refused request changes nothing (notes, decisions, reviews and the served model are compared before
and after).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from codesuggest.config import Settings
from codesuggest.service.app import create_app
from codesuggest.service.keys import create_api_key, revoke_api_key
from codesuggest.storage.orm import AuditReview, DecisionEvent, Note
from reliability_app import make_registry
from service_fakes import NOTE, ROLES, auth, make_keys, real_catalog

CALLERS = (*ROLES, "no_key", "revoked_key", "wrong_key", "not_bearer")

# (method, path, body) -> roles that succeed, with the success status; every other role gets 403 and
# callers without a valid key get 401. "public" endpoints answer everyone.
C, A, D, ADM = "coder", "auditor", "data_scientist", "admin"
TABLE = [
    ("GET", "/healthz", None, "public", 200),
    ("GET", "/readyz", None, "public", 200),
    ("GET", "/", None, "public", 200),  # the web pages are shells without data
    ("GET", "/coder", None, "public", 200),
    ("GET", "/auditor", None, "public", 200),
    ("GET", "/metrics", None, {C, A, D, ADM}, 200),
    ("POST", "/v1/notes", {"text": "hypertension"}, {C, ADM}, 201),
    ("GET", "/v1/notes", None, {C, A, ADM}, 200),
    ("GET", "/v1/notes/{note_id}", None, {C, A, ADM}, 200),
    ("POST", "/v1/notes/{note_id}/decisions",
     {"decisions": [{"system": "ICD10CM", "code": "I10", "action": "add"}]}, {C, ADM}, 201),
    ("GET", "/v1/codes/search?q=hypert", None, {C, A, D, ADM}, 200),
    ("GET", "/v1/audit/samples?strategy=random&seed=1", None, {A, ADM}, 200),
    ("POST", "/v1/audit/reviews", {"note_id": "{note_id}", "verdict": "agree"}, {A, ADM}, 201),
    ("GET", "/v1/audit/stats", None, {A, D, ADM}, 200),
    ("GET", "/v1/feedback/export", None, {D, ADM}, 200),
    ("GET", "/v1/codesets/revalidation", None, {C, A, ADM}, 200),
    ("GET", "/v1/models", None, {C, A, D, ADM}, 200),
    ("POST", "/v1/models/kw-1/activate", None, {D, ADM}, 200),
    ("GET", "/v1/admin/access-log", None, {ADM}, 200),
]


def expected_status(allowed, success: int, caller: str) -> int:
    if allowed == "public":
        return success
    if caller in ("no_key", "revoked_key", "wrong_key", "not_bearer"):
        return 401
    return success if caller in allowed else 403


CASES = [
    pytest.param(method, path, body, caller, expected_status(allowed, ok, caller), id=f"{method} {path.split('?')[0]} {caller}")
    for method, path, body, allowed, ok in TABLE
    for caller in CALLERS
]


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("perm")
    url = f"sqlite:///{tmp / 'perm.db'}"
    keys = make_keys(url)
    registry = make_registry()
    app = create_app(Settings(data_dir=tmp, database_url=url), suggester_provider=lambda: registry.load("kw-1"),
                     registry=registry, catalog=real_catalog)
    with TestClient(app) as client:
        db = app.state.service.db
        with db.session() as session:
            keys["revoked_key"] = create_api_key(session, "revoked", "admin")
        with db.session() as session:
            assert revoke_api_key(session, "revoked")
        headers = {role: auth(key) for role, key in keys.items()}
        headers["no_key"] = {}
        headers["wrong_key"] = auth("csk_" + "x" * 43)
        headers["not_bearer"] = {"Authorization": f"Basic {keys['admin']}"}
        note_id = client.post("/v1/notes", json={"text": NOTE}, headers=headers["coder"]).json()["note_id"]
        yield client, headers, note_id, app


def snapshot(app) -> tuple:
    state = app.state.service
    with state.db.sessions() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in (Note, DecisionEvent, AuditReview))
    return (*counts, state.models.current.version)


@pytest.mark.parametrize(("method", "path", "body", "caller", "status"), CASES)
def test_permission(target, method, path, body, caller, status):
    client, headers, note_id, app = target
    path = path.replace("{note_id}", note_id)
    if isinstance(body, dict) and body.get("note_id") == "{note_id}":
        body = {**body, "note_id": note_id}
    before = snapshot(app)
    r = client.request(method, path, json=body, headers=headers[caller])
    assert r.status_code == status, (caller, r.text[:300])
    if status in (401, 403):
        body_ = r.json()["error"]
        assert body_["status"] == status and body_["message"]
        if status == 401:
            assert r.headers["www-authenticate"] == "Bearer"
        else:
            assert f"role {caller!r} may not do this" in body_["message"]
        assert snapshot(app) == before  # a refused request stores nothing


def test_the_table_covers_every_route(target):
    """A new endpoint must be added to TABLE (and so to RELIABILITY.md)."""
    _client, _headers, _note_id, app = target
    routes = {(m, r.path) for r in app.routes for m in getattr(r, "methods", ()) or () if m != "HEAD"}
    routes = {(m, p) for m, p in routes if not p.startswith(("/openapi", "/docs", "/redoc", "/static"))}
    covered = {(m, p.split("?")[0].replace("kw-1", "{version}")) for m, p, *_ in TABLE}
    missing = routes - covered
    # pages other than the ones in TABLE take a path parameter and carry no data either
    missing = {(m, p) for m, p in missing if not (m == "GET" and not p.startswith(("/v1", "/metrics")))}
    assert not missing, f"endpoints missing from the permission table: {sorted(missing)}"
