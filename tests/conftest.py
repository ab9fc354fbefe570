"""Shared fixtures. Tests that need ``../shared`` (real code files, CodiEsp) skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
