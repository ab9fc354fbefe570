"""An app factory uvicorn can import for the reliability tests and the load benchmark:

    uvicorn --factory reliability_app:create --app-dir tests --host 127.0.0.1 --port 8123

It serves the test-double suggester (``service_fakes.KeywordSuggester``, starts in ~2 s) with a two-version
registry (kw-1 active, kw-2 activatable) over the database in ``CODESUGGEST_DATABASE_URL`` (default: SQLite in
``CODESUGGEST_DATA_DIR``). ``CODESUGGEST_TEST_SUGGEST_DELAY`` (seconds) makes each suggestion take that long, so
a test can keep requests in flight.

``CODESUGGEST_TEST_REAL_MODEL=1`` serves the real default model instead
(``codesuggest.models.registry.load_active_or_default``, as ``codesuggest serve`` does).
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI

from codesuggest.config import Settings
from codesuggest.service.app import create_app
from service_fakes import FakeRegistry, KeywordSuggester, real_catalog


class SlowKeywordSuggester(KeywordSuggester):
    """The keyword double, taking ``delay`` seconds per note (a stand-in for a real model's work)."""

    def suggest(self, text, setting=None, top_k=30):
        if self.delay:
            time.sleep(self.delay)
        return super().suggest(text, setting, top_k)


def make_registry(delay: float = 0.0) -> FakeRegistry:
    return FakeRegistry(
        SlowKeywordSuggester("kw-1", delay=delay), SlowKeywordSuggester("kw-2", confidence_shift=0.05, delay=delay)
    )


def create() -> FastAPI:
    settings = Settings()
    if os.environ.get("CODESUGGEST_TEST_REAL_MODEL") == "1":
        from codesuggest.models.registry import load_active_or_default, open_registry

        registry = open_registry(settings)
        return create_app(
            settings, suggester_provider=lambda: load_active_or_default(settings), registry=registry,
            catalog=lambda: registry.resources()[0],
        )
    registry = make_registry(float(os.environ.get("CODESUGGEST_TEST_SUGGEST_DELAY", "0") or 0))
    return create_app(
        settings, suggester_provider=lambda: registry.load(registry.active_version()), registry=registry,
        catalog=real_catalog,
    )
