"""The coder's queue lists open work that uses codes the loaded release retired, in headless Chromium (the
set-up of test_web_browser: uvicorn on 127.0.0.1, the real ICD-10-CM catalogue). Skips like it."""

from __future__ import annotations

import pytest

from codesuggest.config import Settings
from codesuggest.models.interface import Evidence
from codesuggest.models.interface import Suggestion as ModelSuggestion
from codesuggest.service import notes as notes_db
from codesuggest.service.app import create_app
from codesuggest.storage.db import Database
from service_fakes import GuidelineKeywordSuggester, make_keys
from test_web_browser import _requirements, browser, page, served, shot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, cm_catalog):
    _requirements()
    data = tmp_path_factory.mktemp("web-codesets")
    url = f"sqlite:///{data / 'service.db'}"
    keys = make_keys(url)
    db = Database(url)
    with db.session() as session:  # suggested under FY2025, where G35 (multiple sclerosis) was billable
        note = notes_db.create_note(
            session, text="Relapsing multiple sclerosis, stable.", external_id="enc-2001", setting="outpatient",
            model_version="old-model", actor="c", code_set_release="ICD10CM file icd10cm-codes-2025.txt:29d740460ee0",
            suggestions=[ModelSuggestion("ICD10CM", "G35", "Multiple sclerosis", 0.9, False,
                                         (Evidence(10, 28, "multiple sclerosis", "assessment", "present"),))],
        )
        note_id = note.id
    db.dispose()
    app = create_app(Settings(data_dir=data, database_url=url), suggester_provider=GuidelineKeywordSuggester,
                     catalog=cm_catalog)
    with served(app) as (base, api):
        yield {"base": base, "keys": keys, "note_id": note_id, "api": api}


def test_the_queue_shows_retired_codes_with_their_successors(page, server):
    sign_in(page, server, "coder")
    row = page.locator("#retired tbody tr[data-code='G35']")
    row.wait_for()
    assert page.locator("#retired-box").is_visible()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == server["note_id"] and cells[2] == "suggestion"
    assert cells[3].startswith("G35.D Multiple sclerosis, unspecified (expanded, 0.90)")
    shot(page, "retired.png")
    page.get_by_role("link", name=server["note_id"]).first.click()
    page.wait_for_url(f"{server['base']}/coder/notes/{server['note_id']}")
