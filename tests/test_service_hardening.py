"""Regressions of the attack run of issue 17, one test (or more) per finding: bodies read before the key was
checked, NUL and lone surrogates as 500s, log injection, decisions on codes never suggested, exports missing
from the access log, the Host header in the pages, and headers and echoes."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from codesuggest.service import middleware
from codesuggest.storage.orm import AccessLogEntry, Note
from service_fakes import DATABASES, NOTE, KeywordSuggester, auth, database_url_for, real_catalog, service

MiB = 2**20


@pytest.fixture(scope="module", autouse=True)
def _catalog():
    real_catalog()


@pytest.fixture
def svc(tmp_path):
    with service(tmp_path, max_note_chars=1_000) as ctx:  # body limit 1,000 * 6 + 1,000,000 bytes
        yield ctx


def submit(client, key, text=NOTE, **extra):
    r = client.post("/v1/notes", json={"text": text, **extra}, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


# -- 1. bodies: the key before the body, bytes counted as they stream ------------------------------
def send_streamed(client, app, headers: dict[str, str], chunks: int, chunk: bytes = b" " * MiB) -> tuple[int, int]:
    """Send ``chunks`` chunks as a chunked body straight to the ASGI app (in the client's event loop);
    returns (status, body bytes the app pulled)."""
    pulled = 0
    sent = iter(range(chunks))

    async def receive():
        nonlocal pulled
        if next(sent, None) is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    status = {}

    async def send(message):
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/notes", "raw_path": b"/v1/notes", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"transfer-encoding", b"chunked")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {},
    }

    async def call():
        await app(scope, receive, send)

    client.portal.call(call)
    return status["code"], pulled


def test_a_body_is_not_read_before_the_key_is_checked_and_is_cut_at_the_limit(svc):
    client, keys, app = svc
    limit = 1_000 * 6 + 1_000_000
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        assert send_streamed(client, app, headers, chunks=64) == (401, 0), headers
    status, pulled = send_streamed(client, app, auth(keys["coder"]), chunks=64)
    assert status == 413 and pulled <= limit + MiB  # answered as the limit passed, not after 64 MiB
    status, pulled = send_streamed(client, app, auth(keys["auditor"]), chunks=64)  # a key, but not a coder's
    assert status == 413 and pulled <= limit + MiB
    r = client.post("/v1/notes", content=b'{"text": "' + b"a" * (limit + 10) + b'"}', headers=auth(keys["coder"]))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert submit(client, keys["coder"])["suggestions"]  # an ordinary note still goes through


@pytest.mark.slow
def test_refused_huge_chunked_bodies_leave_the_servers_memory_flat(tmp_path):
    """300 MiB chunked over loopback to uvicorn, with no key and with a coder's key: the server's RSS stays
    within tens of MB (it went 688 -> 1,569 MB before the fix)."""
    import httpx
    import psutil

    from reliability_app import running_server

    url = f"sqlite:///{tmp_path / 'big.db'}"
    from service_fakes import make_keys

    keys = make_keys(url)
    with running_server(tmp_path, url) as server:
        process = psutil.Process(server.pid)
        peak = {"rss": 0}
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak["rss"] = max(peak["rss"], process.memory_info().rss)
                time.sleep(0.02)

        def body(total=300 * MiB, chunk=b"x" * MiB):
            yield b'{"text": "'
            for _ in range(total // len(chunk)):
                yield chunk
            yield b'"}'

        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            http.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"]))  # warm
            baseline = process.memory_info().rss
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            statuses = []
            for headers in ({}, auth(keys["coder"])):
                try:
                    r = http.post("/v1/notes", content=body(), headers={"content-type": "application/json", **headers})
                    statuses.append(r.status_code)
                except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
                    statuses.append("closed")  # the server answered and hung up mid-body
            done.set()
            sampler.join()
        assert statuses[0] in (401, "closed") and statuses[1] in (413, "closed"), statuses
        grew = (peak["rss"] - baseline) / MiB
        print(f"server RSS {baseline / MiB:.0f} MB, peak {peak['rss'] / MiB:.0f} MB (+{grew:.1f} MB), {statuses}")
        assert grew < 50, f"RSS grew {grew:.0f} MB while refusing 2 x 300 MiB"


# -- 2, 3. NUL and lone surrogates: one rule for both databases ------------------------------------
@pytest.mark.parametrize("kind", DATABASES)
def test_nul_reads_as_a_space_in_note_text_and_is_a_422_elsewhere(kind, tmp_path):
    with database_url_for(kind, tmp_path) as url, service(tmp_path, database_url=url) as (client, keys, _app):
        coder, h = keys["coder"], auth(keys["coder"])
        created = submit(client, coder, text="hypertension\x00and\x07chest pain")
        note_id = created["note_id"]
        detail = client.get(f"/v1/notes/{note_id}", headers=h).json()
        assert detail["text"] == "hypertension and chest pain"  # same length: offsets still hold
        assert {s["code"] for s in detail["suggestions"]} == {"I10", "R07.9"}
        sid = created["suggestions"][0]["suggestion_id"]
        refused = [
            client.post("/v1/notes", json={"text": "hypertension", "external_id": "mrn\x00"}, headers=h),
            client.post(f"/v1/notes/{note_id}/decisions", headers=h,
                        json={"decisions": [{"suggestion_id": sid, "action": "reject", "reason": "a\x00b"}]}),
            client.post("/v1/audit/reviews", headers=auth(keys["auditor"]), json={"note_id": "a\x00b", "verdict": "agree"}),
            client.post("/v1/audit/reviews", headers=auth(keys["auditor"]),
                        json={"note_id": note_id, "verdict": "agree", "comment": "x\x00"}),
            client.get("/v1/admin/access-log", params={"note_id": "a\x00b"}, headers=auth(keys["admin"])),
            client.get("/v1/admin/access-log", params={"key_name": "\x00"}, headers=auth(keys["admin"])),
            client.get("/v1/codes/search", params={"q": "hyper\x00"}, headers=h),
        ]
        assert [r.status_code for r in refused] == [422] * len(refused), [r.text[:200] for r in refused]
        assert all(r.json()["error"]["message"] for r in refused)
        for path in ("/v1/notes/a%00b", f"/v1/notes/{note_id}%00", "/coder/notes/a%00b"):
            assert client.get(path, headers=h).status_code == 404, path
        assert client.get(f"/v1/notes/{note_id}", headers=h).json()["decisions"] == []


@pytest.mark.parametrize("kind", DATABASES)
def test_a_lone_surrogate_is_a_422_before_the_model_runs(kind, tmp_path):
    suggester = KeywordSuggester()
    with database_url_for(kind, tmp_path) as url, \
            service(tmp_path, database_url=url, suggester=suggester) as (client, keys, app):
        h = {**auth(keys["coder"]), "content-type": "application/json"}
        calls = suggester.calls
        for body in (b'{"text": "hypertension \\ud800"}', b'{"text": "\\udfff hypertension"}',
                     b'{"text": "hypertension", "external_id": "\\ud800"}'):
            r = client.post("/v1/notes", content=body, headers=h)
            assert r.status_code == 422, r.text
            assert "surrogate" in r.json()["error"]["message"]
        assert suggester.calls == calls  # refused before the model ran
        note = submit(client, keys["coder"])
        r = client.post(f"/v1/notes/{note['note_id']}/decisions", headers=h,
                        content=b'{"decisions": [{"suggestion_id": %d, "action": "reject", "reason": "\\ud800"}]}'
                        % note["suggestions"][0]["suggestion_id"])
        assert r.status_code == 422, r.text
        with app.state.service.db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Note)) == 1
        # a surrogate pair is a character like any other
        assert client.post("/v1/notes", content='{"text": "hypertension \\ud83d\\ude00"}'.encode(), headers=h).status_code == 201


# -- 4. log injection -----------------------------------------------------------------------------
def test_the_path_of_an_unhandled_error_is_escaped_in_the_log(svc, caplog):
    client, keys, app = svc

    def boom(x: str):
        raise RuntimeError("boom")

    app.router.add_api_route("/v1/boom/{x}", boom)
    caplog.set_level(logging.ERROR, logger=middleware.__name__)
    r = client.get("/v1/boom/a%0a2026-01-01 INFO forged line%0d%1b[2J", headers=auth(keys["coder"]))
    assert r.status_code == 500
    logged = [rec.getMessage() for rec in caplog.records if "unhandled" in rec.getMessage()]
    assert len(logged) == 1
    first_line = logged[0].split("\n")[0]  # the frames follow on their own lines
    assert "forged line" in first_line and "\\x0a" in first_line and "\\x1b" in first_line
    assert "\n2026-01-01" not in logged[0] and "\r" not in logged[0] and "\x1b" not in logged[0]
    r = client.get("/v1/notes/a%0aforged", headers=auth(keys["coder"]))
    assert r.status_code == 404
    with app.state.service.db.sessions() as s:
        paths = list(s.scalars(select(AccessLogEntry.path)))
    assert "/v1/notes/a\\x0aforged" in paths and not any("\n" in p for p in paths)


# -- 5. decisions on codes never suggested -------------------------------------------------------
def test_reject_or_replace_by_code_needs_a_loaded_code_of_the_note(svc):
    client, keys, app = svc
    h = auth(keys["coder"])
    note = submit(client, keys["coder"])
    path = f"/v1/notes/{note['note_id']}/decisions"
    for decision, why in (
        ({"system": "ICD10CM", "code": "U99.9", "action": "reject"}, "not in the loaded code sets"),
        ({"system": "CPT", "code": "99999", "action": "reject"}, "not in the loaded code sets"),
        ({"system": "ICD10CM", "code": "J45.909", "action": "reject"}, "not suggested for note"),
        ({"system": "ICD10CM", "code": "J45.909", "action": "replace",
          "replacement": {"system": "ICD10CM", "code": "J45.901"}}, "not suggested for note"),
    ):
        r = client.post(path, json={"decisions": [decision]}, headers=h)
        assert r.status_code == 422, (decision, r.text)
        assert why in r.json()["error"]["message"], r.json()
    assert client.get(f"/v1/notes/{note['note_id']}", headers=h).json()["decisions"] == []
    # what may be decided by code: a suggested code, and a code the coder added earlier
    ok = client.post(path, headers=h, json={"decisions": [
        {"system": "ICD10CM", "code": "I10", "action": "reject"},
        {"system": "ICD10CM", "code": "J45.909", "action": "add"},
        {"system": "ICD10CM", "code": "J45.909", "action": "replace", "replacement": {"system": "ICD10CM", "code": "J45.901"}},
    ]})
    assert ok.status_code == 201, ok.text
    again = client.post(path, headers=h, json={"decisions": [{"system": "ICD10CM", "code": "J45.901", "action": "reject"}]})
    assert again.status_code == 201, again.text


# -- 6. the access log and the export ------------------------------------------------------------
def test_the_access_log_names_every_note_an_export_disclosed_and_its_query(svc):
    client, keys, app = svc
    coded = []
    for _ in range(3):
        note = submit(client, keys["coder"])
        sid = note["suggestions"][0]["suggestion_id"]
        client.post(f"/v1/notes/{note['note_id']}/decisions", headers=auth(keys["coder"]),
                    json={"decisions": [{"suggestion_id": sid, "action": "accept"}]})
        coded.append(note["note_id"])
    since = "2000-01-01T00:00:00Z"
    r = client.get("/v1/feedback/export", params={"since": since}, headers=auth(keys["data_scientist"]))
    assert r.status_code == 200 and len(r.text.splitlines()) == 3
    admin = auth(keys["admin"])
    rows = client.get("/v1/admin/access-log", params={"key_name": "data_scientist-key"}, headers=admin).json()["items"]
    assert [(e["action"], e["disclosed"]) for e in rows] == [("feedback.export", 3)]
    assert rows[0]["query"] == "since=2000-01-01T00%3A00%3A00Z"
    from codesuggest.storage.orm import AccessLogNote

    with app.state.service.db.sessions() as s:
        assert sorted(s.scalars(select(AccessLogNote.note_id))) == sorted(coded)
    for note_id in coded:  # who saw this note? the export is among the answers
        actions = [e["action"] for e in client.get("/v1/admin/access-log", params={"note_id": note_id}, headers=admin).json()["items"]]
        assert "feedback.export" in actions and "notes.create" in actions, actions


def test_a_request_whose_access_cannot_be_recorded_fails(svc, monkeypatch):
    client, keys, app = svc
    note = submit(client, keys["coder"])
    sid = note["suggestions"][0]["suggestion_id"]
    client.post(f"/v1/notes/{note['note_id']}/decisions", headers=auth(keys["coder"]),
                json={"decisions": [{"suggestion_id": sid, "action": "accept"}]})

    def broken(*_args, **_kw):
        raise OSError("disk full")

    from codesuggest.storage import feedback

    exported = []
    iter_feedback = feedback.iter_feedback
    monkeypatch.setattr(feedback, "iter_feedback", lambda *a, **kw: exported.append(1) or iter_feedback(*a, **kw))
    monkeypatch.setattr(middleware, "_write", broken)
    for path, key in ((f"/v1/notes/{note['note_id']}", "coder"), ("/v1/feedback/export", "data_scientist")):
        r = client.get(path, headers=auth(keys[key]))
        assert r.status_code == 500, (path, r.status_code)
        assert "hypertension" not in r.text and r.json()["error"]["message"].endswith("could not be recorded")
    assert exported == []  # the export stopped before reading a note's text
    assert client.get("/healthz").status_code == 200  # not access-logged: unaffected


# -- 7, 8. pages, headers, docs, echo ------------------------------------------------------------
def test_pages_do_not_reflect_the_host_header(svc):
    client, *_ = svc
    for page in ("/", "/coder", "/auditor", "/coder/notes/abc", "/docs", "/redoc"):
        r = client.get(page, headers={"Host": "evil.example"})
        assert r.status_code == 200, page
        assert "evil.example" not in r.text, page
        assert 'src="/static/common.js"' in r.text or page in ("/docs", "/redoc")


def test_api_responses_are_not_stored_or_sniffed(svc):
    client, keys, app = svc
    note = submit(client, keys["coder"])
    for r in (client.get(f"/v1/notes/{note['note_id']}", headers=auth(keys["coder"])),
              client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"])),
              client.get("/v1/notes"),  # 401
              client.get("/v1/notes/nope", headers=auth(keys["coder"])),  # 404
              client.get("/v1/feedback/export", headers=auth(keys["data_scientist"]))):
        assert r.headers["cache-control"] == "no-store", r.request.url
        assert r.headers["x-content-type-options"] == "nosniff", r.request.url
    static = client.get("/static/common.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"


def test_docs_load_their_assets_from_the_service_under_the_pages_csp(svc):
    from codesuggest.service.routers.web import SECURITY_HEADERS

    import re

    client, *_ = svc
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    nonces = set()
    for page, assets, init in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css"), "docs.js"),
                               ("/redoc", ("redoc.standalone.js",), "redoc.js"), ("/redoc", (), "redoc.js")):
        r = client.get(page)
        assert r.status_code == 200
        assert "<script>" not in r.text.replace(" ", "") and "cdn" not in r.text and "http" not in r.text, r.text
        if page == "/docs":
            assert r.headers["content-security-policy"] == csp
        else:  # ReDoc's <style> elements: the one addition, a nonce fresh for each response
            nonce = re.search(r'data-style-nonce="([^"]+)"', r.text).group(1)
            assert r.headers["content-security-policy"] == csp.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
            nonces.add(nonce)
        for asset in assets:
            assert f'"/docs-assets/{asset}"' in r.text
            served = client.get(f"/docs-assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 10_000, asset
        assert f'src="/static/{init}"' in r.text and client.get(f"/static/{init}").status_code == 200
    assert len(nonces) == 2


def test_error_messages_echo_at_most_a_few_dozen_characters(svc):
    client, keys, app = svc
    h = auth(keys["coder"])
    note = submit(client, keys["coder"])
    huge = "S" * 100_000
    responses = [
        client.post(f"/v1/notes/{note['note_id']}/decisions", headers=h,
                    json={"decisions": [{"system": huge, "code": "I10", "action": "add"}]}),
        client.post(f"/v1/notes/{note['note_id']}/decisions", headers=h,
                    json={"decisions": [{"suggestion_id": 1, "action": "replace", "replacement": {"system": huge, "code": "I10"}}]}),
        client.get("/v1/codes/search", params={"q": "x", "system": huge[:30_000]}, headers=h),  # httpx's URL limit
        client.get("/v1/audit/stats", params={"system": huge[:30_000]}, headers=auth(keys["auditor"])),
        client.get("/v1/notes/" + "n" * 10_000, headers=h),
        client.post("/v1/models/" + "v" * 10_000 + "/activate", headers=auth(keys["data_scientist"])),
        client.post("/v1/notes", json={huge: 1, "text": "x"}, headers=h),
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, r.request.url
        assert len(r.content) < 2_000, (str(r.request.url)[:80], len(r.content))
        assert "S" * 50 not in r.text and "n" * 50 not in r.text and "v" * 50 not in r.text
