"""Shared fixtures. Tests that need the data folder (real code files, CodiEsp; ``CODESUGGEST_SHARED_DATA``) skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Service tests run the model in the server process (their fakes coordinate with threads);
# tests/test_model_processes.py covers the worker processes the service uses by default.
os.environ.setdefault("CODESUGGEST_MODEL_PROCESSES", "0")
# Tests that do not set a data folder of their own use the repository's var/ (git-ignored), never the
# per-user data folder the service defaults to (it differs between machines and CI, and holds real keys).
os.environ.setdefault("CODESUGGEST_DATA_DIR", str(Path(__file__).resolve().parents[1] / "var"))

SHARED_DATA = Path(os.environ.get("CODESUGGEST_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (set CODESUGGEST_SHARED_DATA to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def pcs_file() -> Path:
    return _require(SHARED_DATA / "codesets" / "icd10pcs-codes-2026.txt.gz")


@pytest.fixture(scope="session")
def cdc_cm_file() -> Path:
    return _require(SHARED_DATA / "codesets" / "icd10cm-codes-2026.txt.gz")


@pytest.fixture(scope="session")
def codiesp_dir() -> Path:
    return _require(SHARED_DATA / "codiesp")


# --- the pipeline over the packaged ICD-10-CM (models/ tests) -------------------------------


@pytest.fixture(scope="session")
def cm_data_dir(tmp_path_factory) -> Path:
    """A data directory whose ``cache/`` holds the term index of the packaged ICD-10-CM."""
    return tmp_path_factory.mktemp("cm-data")


@pytest.fixture(scope="session")
def cm_catalog():
    from codesuggest.codesets import CodeCatalog, CodeSetSources

    return CodeCatalog.load(CodeSetSources())


@pytest.fixture(scope="session")
def cm_analyzer(cm_catalog, cm_data_dir):
    """An Analyzer over the packaged ICD-10-CM only (no PCS, no CPT); builds the index once (~10 s)."""
    import inspect

    from codesuggest.pipeline.nlp import Analyzer

    # the approximate (ANN) index takes minutes to build: exact and window matching only here
    fast = {"approximate": False} if "approximate" in inspect.signature(Analyzer.from_catalog).parameters else {}
    return Analyzer.from_catalog(cm_catalog, cm_data_dir / "cache", **fast)
