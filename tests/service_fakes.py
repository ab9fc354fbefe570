"""Test doubles for the service tests: a deterministic keyword suggester (real ICD-10-CM codes, real
evidence offsets), a two-version registry, the real code catalogue loaded once, and a client factory."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from fastapi.testclient import TestClient

from codesuggest.codesets import CodeCatalog
from codesuggest.config import Settings
from codesuggest.models.interface import Evidence, ModelInfo, Suggestion
from codesuggest.service.app import create_app
from codesuggest.service.keys import create_api_key
from codesuggest.storage.db import Database

# keyword -> (code, description, confidence)
KEYWORDS = {
    "hypertension": ("I10", "Essential (primary) hypertension", 0.91),
    "type 2 diabetes": ("E11.9", "Type 2 diabetes mellitus without complications", 0.84),
    "chest pain": ("R07.9", "Chest pain, unspecified", 0.42),
    "pneumonia": ("J18.9", "Pneumonia, unspecified organism", 0.35),
    "atrial fibrillation": ("I48.91", "Unspecified atrial fibrillation", 0.18),
    "headache": ("R51.9", "Headache, unspecified", 0.27),
}
REVIEW_THRESHOLD = 0.5


class KeywordSuggester:
    """Suggests a code for each keyword found in the note; ``confidence_shift`` tells versions apart."""

    def __init__(self, version: str = "kw-1", confidence_shift: float = 0.0, delay: float = 0.0):
        self.version = version
        self.confidence_shift = confidence_shift
        self.delay = delay
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def suggest(self, text: str, setting: str | None = None, top_k: int = 30, output: object = None) -> list[Suggestion]:
        self.calls += 1
        self.entered.set()
        self.release.wait(10)
        out = []
        for keyword, (code, description, confidence) in KEYWORDS.items():
            match = re.search(re.escape(keyword), text, re.IGNORECASE)
            if not match:
                continue
            negated = re.search(r"\bno\s+" + re.escape(keyword), text, re.IGNORECASE) is not None
            conf = round(min(1.0, max(0.0, confidence + self.confidence_shift - (0.3 if negated else 0.0))), 4)
            evidence = Evidence(
                start=match.start(), end=match.end(), text=text[match.start() : match.end()],
                section="assessment", assertion="negated" if negated else "present",
            )
            out.append(
                Suggestion(
                    system="ICD10CM", code=code, description=description, confidence=conf,
                    needs_review=conf < REVIEW_THRESHOLD, evidence=(evidence,), reason=f"keyword {keyword!r}",
                )
            )
        out.sort(key=lambda s: -s.confidence)
        return out[:top_k]

    def suggest_many(
        self, texts: list[str], setting: str | None = None, top_k: int = 30, output: object = None
    ) -> list[list[Suggestion]]:
        return [self.suggest(t, setting, top_k) for t in texts]


class GuidelineKeywordSuggester(KeywordSuggester):
    """As :class:`KeywordSuggester`, and on a note that says CKD, hypertension comes out as the coding
    guidelines leave it: I12.9, the principal diagnosis, with the rule's note and the ranker's score."""

    def suggest(self, text: str, setting: str | None = None, top_k: int = 30, output: object = None) -> list[Suggestion]:
        from dataclasses import replace

        from codesuggest.guidelines import GuidelineNote

        out = super().suggest(text, setting, top_k)
        if "CKD" not in text:
            return out
        note = GuidelineNote("hypertension", "I.C.9.a.2", "I12.9 replaces I10 (ranker score 0.91): hypertension with "
                             "chronic kidney disease is presumed linked (I.C.9.a.2)")
        description = "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease"
        return [replace(s, code="I12.9", description=description, principal=True, score=s.confidence, guidelines=(note,))
                if s.code == "I10" else s for s in out]


class FakeRegistry:
    """Two (or more) suggester versions in memory, one active."""

    def __init__(self, *suggesters: KeywordSuggester, active: str | None = None):
        self.suggesters = {s.version: s for s in suggesters}
        self._active = active or suggesters[0].version
        self.loads: list[str] = []

    def list(self) -> list[ModelInfo]:
        return [
            ModelInfo(version=v, created_at="2026-01-01T00:00:00Z", active=v == self._active, metrics={"map": 0.5})
            for v in self.suggesters
        ]

    def active_version(self) -> str | None:
        return self._active

    def activate(self, version: str) -> None:
        if version not in self.suggesters:
            raise KeyError(version)
        self._active = version

    def load(self, version: str) -> KeywordSuggester:
        self.loads.append(version)
        return self.suggesters[version]


@lru_cache(maxsize=1)
def real_catalog() -> CodeCatalog:
    return CodeCatalog.load()


ROLES = ("coder", "auditor", "data_scientist", "admin")

NOTE = (
    "HISTORY: 64-year-old man with hypertension and type 2 diabetes.\n"
    "ASSESSMENT: Chest pain, likely musculoskeletal. No pneumonia on chest x-ray.\n"
)


def make_keys(database_url: str, roles=ROLES, prefix: str = "") -> dict[str, str]:
    db = Database(database_url)
    db.migrate()
    keys = {}
    with db.session() as session:
        for role in roles:
            keys[role] = create_api_key(session, f"{prefix}{role}-key", role)
    db.dispose()
    return keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def service(tmp_path: Path, *, suggester=None, registry=None, database_url: str | None = None, **settings_kw):
    """A started app (lifespan run) with one key per role: yields (client, keys, app)."""
    url = database_url or f"sqlite:///{tmp_path / 'service.db'}"
    settings = Settings(data_dir=tmp_path, database_url=url, **settings_kw)
    suggester = suggester or KeywordSuggester()
    keys = make_keys(url)
    app = create_app(settings, suggester_provider=lambda: suggester, registry=registry, catalog=real_catalog)
    with TestClient(app) as client:
        yield client, keys, app


# -- databases: SQLite always, PostgreSQL when CODESUGGEST_TEST_POSTGRES_URL is set -----------------
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL_ENV = "CODESUGGEST_TEST_POSTGRES_URL"


@contextmanager
def postgres_schema_url():
    """A fresh schema in the test PostgreSQL database (dropped afterwards), as a URL whose search_path is it."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (see .ci/postgres.sh)")
    parsed = make_url(base)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    schema = f"cs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(parsed)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def database_url_for(kind: str, tmp_path: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


CKD_NOTE = "ASSESSMENT: Hypertension with CKD stage 3a. Type 2 diabetes. Chest pain.\n"


def guideline_service(request, tmp_path):
    """A service over ``request.param``'s database (SQLite or PostgreSQL) with the guideline-applying
    keyword suggester: use as ``svc = pytest.fixture(params=DATABASES, name="svc")(guideline_service)``."""
    with database_url_for(request.param, tmp_path) as url:
        with service(tmp_path, suggester=GuidelineKeywordSuggester(), database_url=url) as ctx:
            yield ctx

