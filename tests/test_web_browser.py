"""The coder's and auditor's pages end to end in headless Chromium (Playwright's Python API driving Debian's
/usr/bin/chromium): the app runs under uvicorn on 127.0.0.1 with a temporary SQLite database, the real
ICD-10-CM catalogue and the keyword test-double suggester. Screenshots go to docs/ (coder, note, auditor).

Skips when /usr/bin/chromium (or CODESUGGEST_CHROMIUM) or the ``playwright`` package is absent."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from codesuggest.config import Settings
from codesuggest.service.app import create_app
from service_fakes import NOTE, GuidelineKeywordSuggester, auth, make_keys

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CODESUGGEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
DOCS = Path(__file__).resolve().parents[1] / "docs"
KEYBOARD_NOTE = "ASSESSMENT: Headache since Monday. Atrial fibrillation, rate controlled. Chest pain at rest.\n"
XSS_NOTE = 'Hypertension <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>\n'
TIMEOUT = 10_000


def _requirements():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium, or set CODESUGGEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is absent (pip install playwright; no browser download needed)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app):
    """``app`` under uvicorn on a free local port, in a thread: yields (base URL, API client)."""
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{srv.config.port}"
    api = httpx.Client(base_url=base, timeout=30)
    try:
        yield base, api
    finally:
        api.close()
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory, cm_catalog):
    _requirements()
    data = tmp_path_factory.mktemp("web-browser")
    url = f"sqlite:///{data / 'service.db'}"
    keys = make_keys(url)
    app = create_app(Settings(data_dir=data, database_url=url), suggester_provider=GuidelineKeywordSuggester,
                     catalog=cm_catalog)
    with served(app) as (base, api):
        notes = {}
        for name, text, external in (("mouse", NOTE, "enc-1001"), ("keyboard", KEYBOARD_NOTE, "enc-1002"),
                                     ("xss", XSS_NOTE, "<b>enc-1003</b>")):
            r = api.post("/v1/notes", json={"text": text, "external_id": external, "setting": "outpatient"},
                         headers=auth(keys["coder"]))
            assert r.status_code == 201, r.text
            notes[name] = r.json()
        yield {"base": base, "keys": keys, "notes": notes, "api": api}


@pytest.fixture(scope="module")
def browser(server):
    sync_playwright = _requirements()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page, server, role, dest="/coder"):
    page.goto(server["base"] + "/")
    page.get_by_label("API key").fill(server["keys"][role])
    page.locator(f"input[name=dest][value='{dest}']").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server["base"] + dest)
    assert server["keys"][role] not in page.url
    assert page.evaluate("sessionStorage.getItem('codesuggest.apiKey')") == server["keys"][role]


def suggestion(page, code):
    return page.locator(f"li.sugg[data-code='{code}']")


def final_codes(page):
    return page.locator("#final-codes li").evaluate_all("items => items.map(li => li.dataset.code)")


def shot(page, name):
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / name))


def test_sign_in_rejects_a_bad_key_and_pages_need_one(page, server):
    page.goto(server["base"] + "/coder")
    page.wait_for_url(server["base"] + "/")  # no key in this tab: back to sign-in
    page.get_by_label("API key").fill("csk_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#signin-error").filter(has_text="not valid").wait_for()
    # a data scientist's key may read stats but not notes: refused at sign-in, with the role named
    page.get_by_label("API key").fill(server["keys"]["data_scientist"])
    page.get_by_role("button", name="Sign in").click()
    page.locator("#signin-error").filter(has_text="role 'data_scientist' may not").wait_for()
    assert page.url == server["base"] + "/"
    assert page.evaluate("sessionStorage.getItem('codesuggest.apiKey')") is None


def test_coder_codes_a_note_with_the_mouse(page, server):
    note = server["notes"]["mouse"]
    sign_in(page, server, "coder")
    rows = page.locator("#queue tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3
    page.locator("#queue").get_by_text("enc-1001").wait_for()
    row = page.locator(f"#queue tr[data-note='{note['note_id']}'] td")
    assert row.all_inner_texts()[1:4] == ["outpatient", row.nth(2).inner_text(), "4"]  # setting, date, suggestions

    page.get_by_role("link", name="enc-1001").click()
    page.wait_for_url(f"{server['base']}/coder/notes/{note['note_id']}")
    suggestion(page, "I10").wait_for()
    # best first, with confidence, reason and the needs-review mark on low confidence
    codes = page.locator("li.sugg").evaluate_all("items => items.map(li => li.dataset.code)")
    assert codes == ["I10", "E11.9", "R07.9", "J18.9"]
    # the short list: the codes above the threshold; the rest collapsed under "more candidates"
    short = page.locator("#suggestions li.sugg").evaluate_all("items => items.map(li => li.dataset.code)")
    assert short == ["I10", "E11.9"] and not suggestion(page, "R07.9").is_visible()
    page.locator("#more-candidates summary").click()
    suggestion(page, "R07.9").wait_for()
    assert suggestion(page, "I10").locator(".pct").inner_text() == "91%"
    assert suggestion(page, "I10").locator(".badge.review").count() == 0
    assert suggestion(page, "J18.9").locator(".badge.review").inner_text() == "needs review"
    assert "keyword 'pneumonia'" in suggestion(page, "J18.9").locator(".reason").inner_text()
    # every evidence span highlighted, coloured by system; the negated one struck through
    marks = page.locator("#note-text mark")
    assert marks.count() == 4
    assert sorted(marks.all_inner_texts()) == sorted(["hypertension", "type 2 diabetes", "Chest pain", "pneumonia"])
    negated = page.locator("#note-text mark.as-negated")
    assert negated.inner_text() == "pneumonia"
    assert "line-through" in negated.evaluate("m => getComputedStyle(m).textDecorationLine")
    assert page.locator("#note-text mark.sys-ICD10CM").count() == 4
    # clicking a code highlights its evidence
    suggestion(page, "R07.9").locator(".sugg-main").click()
    active = page.locator("#note-text mark.active")
    assert active.count() == 1 and active.inner_text() == "Chest pain"
    assert active.evaluate("m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")

    # accept one, replace another through the code search, add a missed code
    suggestion(page, "I10").get_by_role("button", name="Accept").click()
    assert "accepted (not submitted)" in suggestion(page, "I10").locator(".state").inner_text()
    suggestion(page, "E11.9").get_by_role("button", name="Replace…").click()
    dialog = page.locator("#search-dialog")
    dialog.get_by_label("Code or words").fill("type 2 diabetes mellitus with hyperglycemia")
    dialog.locator(".code-option[data-code='E11.65']").click()
    assert not dialog.is_visible()
    assert "replaced by E11.65" in suggestion(page, "E11.9").locator(".state").inner_text()
    suggestion(page, "J18.9").get_by_role("button", name="Reject").click()
    page.get_by_role("button", name="Add a code (n)").click()
    dialog.get_by_label("Code or words").fill("E78.5")
    dialog.locator(".code-option[data-code='E78.5']").wait_for()
    dialog.get_by_label("Reason (optional)").fill("statin on the medication list")
    dialog.get_by_role("button", name="Choose").click()
    assert final_codes(page) == ["I10", "E11.65", "E78.5"]
    assert page.locator("#final-codes li.pending").count() == 3
    suggestion(page, "I10").locator(".sugg-main").click()
    shot(page, "note.png")

    page.get_by_role("button", name="Submit decisions (s)").click()
    page.locator("#undecided-dialog").filter(has_text="1 suggestion(s) have no decision").wait_for()
    page.get_by_role("button", name="Submit, leave them undecided").click()
    page.locator("#status").filter(has_text="Submitted 4 decision(s)").wait_for()
    page.reload()
    suggestion(page, "I10").wait_for()
    assert final_codes(page) == ["I10", "E11.65", "E78.5"]
    assert page.locator("#final-codes li.pending").count() == 0
    assert suggestion(page, "I10").locator(".state").inner_text() == "accepted"
    assert suggestion(page, "E11.9").locator(".state").inner_text() == "replaced by E11.65"
    page.locator("#more-candidates summary").click()
    assert suggestion(page, "J18.9").locator(".state").inner_text() == "rejected"
    assert suggestion(page, "R07.9").locator(".state").inner_text() == "not decided"

    stored = server["api"].get(f"/v1/notes/{note['note_id']}", headers=auth(server["keys"]["coder"])).json()
    assert stored["status"] == "coded"
    assert [(d["action"], d["code"]) for d in stored["decisions"]] == [
        ("accept", "I10"), ("replace", "E11.9"), ("reject", "J18.9"), ("add", "E78.5")]
    assert stored["decisions"][3]["reason"] == "statin on the medication list"


def test_coder_codes_a_note_with_the_keyboard_alone(page, server):
    note = server["notes"]["keyboard"]
    sign_in(page, server, "coder")
    page.goto(f"{server['base']}/coder/notes/{note['note_id']}")
    suggestion(page, "R51.9").wait_for()
    codes = page.locator("li.sugg").evaluate_all("items => items.map(li => li.dataset.code)")
    assert codes == ["R07.9", "R51.9", "I48.91"]
    kb = page.keyboard
    assert page.evaluate("document.activeElement.closest('li.sugg').dataset.code") == "R07.9"
    kb.press("e")  # replace chest pain, unspecified
    page.locator("#search-dialog").wait_for(state="visible")
    kb.type("R07.89")
    page.locator("#code-results .code-option.active[data-code='R07.89']").wait_for()
    kb.press("Enter")
    page.locator("#search-dialog").wait_for(state="hidden")
    kb.press("j")
    assert page.locator("li.sugg.selected").get_attribute("data-code") == "R51.9"
    assert page.locator("#note-text mark.active").inner_text() == "Headache"
    kb.press("a")
    kb.press("ArrowDown")
    kb.press("r")
    kb.press("k")
    assert page.locator("li.sugg.selected").get_attribute("data-code") == "R51.9"
    kb.press("n")
    page.locator("#search-dialog").wait_for(state="visible")
    kb.type("I10")
    page.locator("#code-results .code-option.active[data-code='I10']").wait_for()
    kb.press("Enter")
    page.locator("#search-dialog").wait_for(state="hidden")
    kb.press("?")
    page.locator("#help-dialog").wait_for(state="visible")
    kb.press("Escape")
    page.locator("#help-dialog").wait_for(state="hidden")
    assert final_codes(page) == ["R07.89", "R51.9", "I10"]
    kb.press("s")
    page.locator("#status").filter(has_text="Submitted 4 decision(s)").wait_for()
    stored = server["api"].get(f"/v1/notes/{note['note_id']}", headers=auth(server["keys"]["coder"])).json()
    assert [(d["action"], d["code"]) for d in stored["decisions"]] == [
        ("replace", "R07.9"), ("accept", "R51.9"), ("reject", "I48.91"), ("add", "I10")]
    assert sorted(c["code"] for c in stored["final_codes"]) == ["I10", "R07.89", "R51.9"]


def test_stored_strings_are_shown_as_text(page, server):
    note = server["notes"]["xss"]
    sign_in(page, server, "coder")
    page.locator("#queue").get_by_text("<b>enc-1003</b>").wait_for()  # shown literally, not as bold
    assert page.locator("#queue b").count() == 0
    page.goto(f"{server['base']}/coder/notes/{note['note_id']}")
    suggestion(page, "I10").wait_for()
    assert page.locator("#note-text img, #note-text script").count() == 0
    assert '<img src=x onerror="window.__xss=1">' in page.locator("#note-text").inner_text()
    assert page.evaluate("window.__xss") is None
    assert page.locator("#note-meta").inner_text().startswith("external id <b>enc-1003</b>")


def test_auditor_draws_a_sample_and_records_a_review(page, server):
    # a note of its own, coded through the API (the same API the pages use), so this test stands alone
    api, coder = server["api"], auth(server["keys"]["coder"])
    created = api.post("/v1/notes", json={"text": NOTE, "external_id": "enc-2001"}, headers=coder).json()
    note_id = created["note_id"]
    sid = {s["code"]: s["suggestion_id"] for s in created["suggestions"]}
    r = api.post(f"/v1/notes/{note_id}/decisions", headers=coder, json={"decisions": [
        {"suggestion_id": sid["I10"], "action": "accept"},
        {"suggestion_id": sid["E11.9"], "action": "replace", "replacement": {"system": "ICD10CM", "code": "E11.65"},
         "reason": "hyperglycemia documented"},
        {"suggestion_id": sid["J18.9"], "action": "reject"}]})
    assert r.status_code == 201, r.text
    reviews_before = api.get("/v1/audit/stats", headers=auth(server["keys"]["auditor"])).json()["agreement"]["reviews"]

    sign_in(page, server, "auditor", "/auditor")
    page.get_by_label("Strategy").select_option("disputed")
    page.get_by_label("Size").fill("50")
    page.get_by_label("Seed (optional, same seed same sample)").fill("7")
    page.get_by_role("button", name="Draw").click()
    items = page.locator("#sample .sample-item")
    items.first.wait_for()
    mine = page.locator(f"#sample .sample-item[data-note='{note_id}']")
    assert sorted(mine.evaluate_all("bs => bs.map(b => b.dataset.code)")) == ["E11.9", "J18.9"]
    assert "seed 7" in page.locator("#sample-info").inner_text()
    target = page.locator(f"#sample .sample-item[data-note='{note_id}'][data-code='E11.9']")
    target.click()
    page.locator("#rv-code").filter(has_text="E11.9").wait_for()
    page.locator("#rv-note-link").filter(has_text=note_id).wait_for()
    assert page.locator("#rv-evidence mark").inner_text() == "type 2 diabetes"
    page.locator("#rv-decision").filter(has_text="replace → E11.65").wait_for()
    assert "hyperglycemia documented" in page.locator("#rv-decision").inner_text()
    page.get_by_role("radio", name="Disagree").check()
    page.get_by_label("Corrected code (optional, with disagree)").fill("E11.69")
    page.locator("#corrected-results .code-option[data-code='E11.69']").click()
    assert page.locator("#corrected-chosen").inner_text().startswith("E11.69")
    page.get_by_label("Comment (optional)").fill("the note documents a complication")
    page.get_by_role("button", name="Record review").click()
    page.locator("#status").filter(has_text="Review recorded: disagree on E11.9").wait_for()
    page.locator("#agreement").filter(has_text=f"of {reviews_before + 1} review(s)").wait_for()
    assert page.locator("#stats-table tbody tr").count() == 1
    assert page.locator("#chart svg rect").count() >= 3
    target.click()
    page.locator("#rv-note-link").filter(has_text=note_id).wait_for()
    page.locator("#rv-code").filter(has_text="E11.9").wait_for()
    assert page.locator("#sample .badge.verdict-disagree").count() == 1
    shot(page, "auditor.png")

    stats = api.get("/v1/audit/stats", headers=auth(server["keys"]["auditor"])).json()
    assert stats["agreement"]["reviews"] == reviews_before + 1 and stats["agreement"]["disagree"] >= 1


def test_api_docs_render_offline_under_the_csp(page, server):
    """/docs and /redoc load Swagger UI and ReDoc from the service (no CDN) and render the API under the CSP
    (issue 17): every operation listed, no script error, no request off the origin."""
    off_origin = []
    page.on("request", lambda r: None if r.url.startswith(server["base"]) or r.url.startswith(("data:", "blob:"))
            else off_origin.append(r.url))
    schema = server["api"].get("/openapi.json").json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert operations >= 15
    page.goto(server["base"] + "/docs")
    page.locator(".opblock").nth(operations - 1).wait_for()  # every operation
    assert page.locator(".opblock-summary-path", has_text="/v1/notes/{note_id}/decisions").count() == 1
    page.goto(server["base"] + "/redoc")
    page.locator("li[data-item-id='tag/notes']").wait_for()  # ReDoc's menu: the tags, their operations below
    assert page.locator("li[data-item-id*='/operation/']").count() == operations
    page.get_by_role("heading", name="Notes.Create").first.wait_for()
    # styled by ReDoc's <style> elements, which the response's nonce lets through: not the browser default
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") != "32px"
    assert not [u for u in off_origin if "redoc.ly" not in u], off_origin  # ReDoc's logo is refused by img-src


def test_the_coder_sees_the_principal_diagnosis_and_each_guideline_rewrite(page, server):
    """Issue 14: each rewrite says what it did and why, with its guideline section, on the coder's page."""
    r = server["api"].post("/v1/notes", json={"text": "ASSESSMENT: Hypertension with CKD stage 3a. Chest pain.\n",
                                               "external_id": "enc-1004", "setting": "outpatient"},
                           headers=auth(server["keys"]["coder"]))
    assert r.status_code == 201, r.text
    sign_in(page, server, "coder")
    page.goto(f"{server['base']}/coder/notes/{r.json()['note_id']}")
    first = suggestion(page, "I12.9")
    first.wait_for()
    assert first.locator(".badge.principal").inner_text() == "principal"
    rewrite = first.locator(".guidelines li").inner_text()
    assert "I.C.9.a.2" in rewrite and "replaces I10" in rewrite
    assert "ranker score 91%" in first.locator(".reason").inner_text()
    assert suggestion(page, "R07.9").locator(".badge.principal").count() == 0
    shot(page, "guidelines.png")


def test_the_coders_day_queue_short_list_principal_sequence_poa_and_undecided(page, server):
    """Issue 18: the queue by external id, setting, date and suggestions, filtered by setting; the principal diagnosis
    pre-filled, the order and POA set by the coder and stored; submit asks about undecided suggestions; one Esc
    closes the code search; an outpatient note says it gets no procedure codes."""
    api, coder = server["api"], auth(server["keys"]["coder"])
    created = api.post("/v1/notes", json={"text": "ASSESSMENT: Hypertension with CKD stage 3a. Type 2 diabetes. "
                                          "Chest pain. No pneumonia.\n", "external_id": "enc-3001", "setting": "inpatient"},
                       headers=coder).json()
    note_id = created["note_id"]
    sign_in(page, server, "coder")
    page.locator("#queue-setting").select_option("inpatient")
    page.locator("#queue tbody tr").nth(1).wait_for(state="detached")  # the other notes are outpatient
    page.locator("#queue").get_by_text("enc-3001").wait_for()
    assert page.locator("#queue tbody tr td").all_inner_texts()[3] == "4"
    shot(page, "coder.png")
    page.get_by_role("link", name="enc-3001").click()
    suggestion(page, "I12.9").wait_for()
    # inpatient procedures are ICD-10-PCS codes, and no PCS file is loaded here: the page says so
    assert "no ICD-10-PCS code file is loaded" in page.locator("#notices").inner_text()

    for code in ("E11.9", "I12.9"):  # accepted in the order the coder reads them
        suggestion(page, code).get_by_role("button", name="Accept").click()
    final = page.locator("#final-codes li")
    assert final_codes(page) == ["I12.9", "E11.9"]  # the coding layer's principal diagnosis first
    assert final.first.locator(".badge.principal").inner_text() == "principal"
    page.get_by_role("button", name="Move E11.9 up").click()
    assert final_codes(page) == ["E11.9", "I12.9"] and final.first.locator(".badge.principal").count() == 1
    page.get_by_label("Present on admission for E11.9").select_option("Y")
    page.get_by_label("Present on admission for I12.9").select_option("N")
    final.nth(1).focus()
    page.keyboard.press("Alt+ArrowUp")  # and back, with the keyboard
    assert final_codes(page) == ["I12.9", "E11.9"]

    page.keyboard.press("n")  # one Esc closes the code search, even with words typed
    page.locator("#search-dialog").wait_for(state="visible")
    page.keyboard.type("hip fracture")
    page.keyboard.press("Escape")
    page.locator("#search-dialog").wait_for(state="hidden")
    shot(page, "note.png")

    page.keyboard.press("s")
    dialog = page.locator("#undecided-dialog")
    dialog.filter(has_text="2 suggestion(s) have no decision").wait_for()
    page.get_by_role("button", name="Go back (Esc)").click()
    dialog.wait_for(state="hidden")
    page.keyboard.press("s")
    page.get_by_role("button", name="Reject them and submit").click()
    page.locator("#status").filter(has_text="2 undecided rejected, code order saved").wait_for()
    stored = api.get(f"/v1/notes/{note_id}", headers=coder).json()
    assert [(c["code"], c["sequence"], c["principal"], c["poa"]) for c in stored["final_codes"]] == [
        ("I12.9", 1, True, "N"), ("E11.9", 2, False, "Y")]
    assert stored["undecided"] == 0 and sorted(d["code"] for d in stored["decisions"] if d["action"] == "reject") == [
        "J18.9", "R07.9"]

    page.goto(f"{server['base']}/coder/notes/{server['notes']['mouse']['note_id']}")  # outpatient, no CPT file
    page.locator("#notices").filter(has_text="no procedure codes for this outpatient note").wait_for()
    assert page.locator("#final-codes select.poa").count() == 0  # no POA outside inpatient care
