"""The coder's and auditor's pages as served by the app: public HTML shells, static files, no external
URLs, escaping, no HTML parsing of API strings in the scripts, and the files ship in the wheel."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from urllib.parse import quote

import pytest

from codesuggest.service.routers.web import STATIC_DIR, WEB_DIR
from service_fakes import real_catalog, service

PAGES = ["/", "/coder", "/coder/notes/abc123", "/auditor"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    real_catalog()
    with service(tmp_path_factory.mktemp("web")) as (client, _keys, _app):
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_public_html_shells_with_a_strict_policy(client, path):
    r = client.get(path)  # no key: the pages hold no data
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    assert '<html lang="en">' in html and "/static/app.css" in html and "/static/common.js" in html
    assert "<script>" not in html  # no inline script (the CSP would block it anyway)
    assert 'href="/coder"' in html and 'href="/auditor"' in html


def test_each_page_loads_its_own_script(client):
    assert "/static/signin.js" in client.get("/").text
    assert "/static/coder.js" in client.get("/coder").text
    note = client.get("/coder/notes/abc123").text
    assert "/static/note.js" in note and "/static/codesearch.js" in note and 'data-note-id="abc123"' in note
    assert "/static/auditor.js" in client.get("/auditor").text


def test_the_api_still_needs_a_key(client):
    assert client.get("/v1/notes").status_code == 401


@pytest.mark.parametrize("name,kind", [
    ("app.css", "text/css"), ("common.js", "javascript"), ("signin.js", "javascript"), ("coder.js", "javascript"),
    ("note.js", "javascript"), ("codesearch.js", "javascript"), ("auditor.js", "javascript"),
])
def test_static_files_are_served(client, name, kind):
    r = client.get(f"/static/{name}")
    assert r.status_code == 200
    assert kind in r.headers["content-type"]
    assert r.text == (STATIC_DIR / name).read_text(encoding="utf-8")


def test_static_does_not_serve_outside_its_folder(client):
    assert client.get("/static/../routers/web.py").status_code == 404
    assert client.get("/static/%2e%2e/templates/base.html").status_code == 404


def test_note_id_in_the_page_is_escaped(client):
    evil = '"><script>alert(1)<b><img src=x onerror=alert(2)>'  # no "/": a path segment
    r = client.get("/coder/notes/" + quote(evil, safe=""))
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(1)&lt;b&gt;" in r.text
    assert "&#34;&gt;" in r.text or "&quot;&gt;" in r.text


def _web_files():
    return sorted(p for p in WEB_DIR.rglob("*") if p.is_file())


ALLOWED_URLS = ("http://localhost", "https://localhost", "http://127.0.0.1", "https://127.0.0.1",
                "http://www.w3.org/2000/svg")  # the SVG namespace name, never fetched


def test_no_external_urls_in_templates_or_static_files():
    files = _web_files()
    assert {p.suffix for p in files} >= {".html", ".css", ".js"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"https?://[^\s\"'<>)]+", text):
            assert url.startswith(ALLOWED_URLS), f"{path.name} refers to {url}"
        assert "//cdn" not in text and "@import" not in text, path.name
        assert not re.search(r"""(src|href)\s*=\s*["']//""", text), f"protocol-relative URL in {path.name}"


def test_scripts_never_parse_strings_as_html():
    for path in STATIC_DIR.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, f"{path.name} uses {sink}"


def test_templates_use_autoescape_only():
    for path in (WEB_DIR / "templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, path.name


def test_key_is_kept_in_session_storage_never_in_urls():
    common = (STATIC_DIR / "common.js").read_text(encoding="utf-8")
    assert "sessionStorage" in common and "localStorage" not in common
    for path in STATIC_DIR.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "localStorage" not in text and "document.cookie" not in text
        assert not re.search(r"[?&](api_?key|key|token)=", text), path.name


def test_web_files_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["codesuggest"]
    package = ROOT / "codesuggest"
    for path in _web_files():
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(path.name, p.removeprefix("**/"))
                   for p in patterns), f"{relative} would be left out of the wheel"
