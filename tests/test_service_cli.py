"""`codesuggest keys ...` and `codesuggest serve` (uvicorn itself is replaced by a recorder)."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from codesuggest import cli
from codesuggest.config import get_settings
from codesuggest.models import runtime
from codesuggest.service.keys import authenticate
from codesuggest.storage.db import Database
from service_fakes import FakeRegistry, KeywordSuggester


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CODESUGGEST_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args):
    return CliRunner().invoke(cli.app, list(args))


def test_keys_create_prints_the_key_once_and_revoke_disables_it(data_dir):
    r = invoke("keys", "create", "--name", "alice", "--role", "auditor")
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("csk_")
    db = Database(get_settings().resolved_database_url)
    with db.sessions() as session:
        assert authenticate(session, token).role.value == "auditor"

    r = invoke("keys", "list")
    assert "alice\tauditor\t" in r.stdout and token not in r.stdout and "active" in r.stdout
    assert invoke("keys", "create", "--name", "alice", "--role", "coder").exit_code == 2
    bad = invoke("keys", "create", "--name", "bob", "--role", "boss")
    assert bad.exit_code == 2 and "unknown role" in bad.output

    assert invoke("keys", "revoke", "--name", "alice").exit_code == 0
    with db.sessions() as session:
        assert authenticate(session, token) is None
    assert invoke("keys", "revoke", "--name", "alice").exit_code == 2
    db.dispose()


@pytest.fixture
def fake_models(monkeypatch):
    """Stands in for the model runtime's loading (codesuggest.models.runtime) and for uvicorn.run."""
    monkeypatch.setattr(runtime, "load_active_or_default", lambda settings: KeywordSuggester("default-1"))
    monkeypatch.setattr(runtime, "open_registry", lambda settings: FakeRegistry(KeywordSuggester("default-1")))
    calls = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_runs_uvicorn_on_loopback_by_default(data_dir, fake_models):
    r = invoke("serve")
    assert r.exit_code == 0, r.output
    (app, kw), = fake_models
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000
    assert "not on loopback" not in r.output
    assert app.title == "codesuggest"


def test_serve_warns_off_loopback(data_dir, fake_models):
    r = invoke("serve", "--host", "0.0.0.0", "--port", "9000")
    assert r.exit_code == 0, r.output
    assert "not on loopback" in r.output and fake_models[0][1]["port"] == 9000
    assert cli._is_loopback("::1") and cli._is_loopback("localhost") and not cli._is_loopback("10.0.0.5")


def test_keys_create_and_serve_say_which_data_folder_and_database(data_dir, fake_models):
    r = invoke("keys", "create", "--name", "carol", "--role", "coder")
    assert r.exit_code == 0, r.output
    assert f"data folder: {data_dir}" in r.stderr and str(data_dir / "codesuggest.db") in r.stderr
    assert f"data folder: {data_dir}" not in r.stdout  # stdout is the key alone
    r = invoke("serve")
    assert f"data folder: {data_dir}" in r.stderr


def test_the_data_folder_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    from codesuggest import config

    monkeypatch.delenv("CODESUGGEST_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    default = config.Settings().data_dir
    assert default.is_absolute() and default == config.default_data_dir() and tmp_path not in default.parents
    assert default.name == "codesuggest"
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", "relative/var")
    assert config.Settings().data_dir == tmp_path / "relative" / "var"  # made absolute once, at start
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # not installed: ~/.local/share/codesuggest
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.default_data_dir() == tmp_path / "home" / ".local" / "share" / "codesuggest"
