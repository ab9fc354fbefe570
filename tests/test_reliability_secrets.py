"""Secrets and PHI: keys stored hashed and compared in constant time, no default key, note text and keys absent
from a running server's log output, and a warning when `codesuggest serve` listens beyond loopback."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
from sqlalchemy import select

from codesuggest import cli
from codesuggest.service import keys as keys_module
from codesuggest.service.keys import authenticate, create_api_key
from codesuggest.storage.db import Database
from codesuggest.storage.orm import ApiKey
from reliability_app import running_server
from service_fakes import auth, make_keys
from test_service_cli import data_dir, fake_models, invoke  # noqa: F401  (fixtures)


def test_the_database_never_holds_a_plaintext_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    tokens = make_keys(url)
    db = Database(url)
    with db.sessions() as session:
        rows = session.scalars(select(ApiKey)).all()
        assert {r.key_hash for r in rows} == {hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()}
        for row in rows:
            assert all(t not in (row.prefix or "") + row.key_hash for t in tokens.values())
            assert len(row.prefix) <= 10  # only a short prefix, to tell keys apart in `keys list`
    db.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("k.db*"))  # the file, its WAL and shared memory
    for token in tokens.values():
        assert token.encode() not in raw and token[10:].encode() not in raw


def test_keys_are_compared_in_constant_time(tmp_path, monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(keys_module.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.migrate()
    with db.session() as session:
        token = create_api_key(session, "k", "coder")
    with db.sessions() as session:
        assert authenticate(session, token).name == "k"
        assert authenticate(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    db.dispose()
    assert calls and calls[0][0] == calls[0][1] == hashlib.sha256(token.encode()).hexdigest()


def test_there_is_no_default_key(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.migrate()
    with db.sessions() as session:
        assert session.scalars(select(ApiKey)).all() == []
    db.dispose()


def test_note_text_and_keys_never_reach_the_server_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    keys = make_keys(url)
    secret = "Patient Quillon Vexmarrow, MRN 88127733, hypertension and chest pain"
    log_path = tmp_path / "server.log"
    with running_server(tmp_path, url, log_path) as server:
        h = auth(keys["coder"])
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            created = client.post("/v1/notes", json={"text": secret, "external_id": "Vexmarrow-enc"}, headers=h)
            assert created.status_code == 201
            note_id = created.json()["note_id"]
            client.get(f"/v1/notes/{note_id}", headers=h)
            client.post("/v1/notes", json={"text": secret, "setting": "Vexmarrow"}, headers=h)  # 422
            client.post("/v1/notes", content=secret.encode(), headers={**h, "content-type": "text/plain"})
            client.post(f"/v1/notes/{note_id}/decisions", headers=h, json={"decisions": [
                {"system": "ICD10CM", "code": "I10", "action": "add", "reason": f"{secret} confirmed"}]})
            client.get("/v1/notes", headers={"Authorization": f"Bearer {keys['admin']}x"})  # a wrong key
    log = log_path.read_text(errors="replace")
    assert "POST /v1/notes" in log  # the log was captured
    for fragment in ("Vexmarrow", "Quillon", "88127733"):
        assert fragment not in log
    for token in keys.values():
        assert token not in log and token[4:20] not in log


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False), ("192.168.1.20", False),
    ("example.org", False), ("2001:db8::1", False),
])
def test_loopback_decision(host, loopback):
    assert cli._is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_serve_warns_when_listening_beyond_loopback(data_dir, fake_models, host):  # noqa: F811
    r = invoke("serve", "--host", host)  # uvicorn.run is replaced by a recorder: nothing binds
    assert r.exit_code == 0, r.output
    assert "not on loopback" in r.output and fake_models[0][1]["host"] == host


def test_serve_is_quiet_on_loopback(data_dir, fake_models):  # noqa: F811
    r = invoke("serve", "--host", "127.0.0.1")
    assert r.exit_code == 0 and "not on loopback" not in r.output
