"""The notebooks run top to bottom (nbclient); they need the shared CodiEsp data and code files."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SHARED_DATA

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["train_evaluate_codiesp.ipynb"])
def test_notebook_runs(name, monkeypatch):
    for needed in (SHARED_DATA / "codiesp" / "train", SHARED_DATA / "codiesp" / "dev",
                   SHARED_DATA / "codesets" / "icd10pcs-codes-2026.txt.gz"):
        if not needed.exists():
            pytest.skip(f"{needed} is absent (set CODESUGGEST_SHARED_DATA to the shared data folder)")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("CODESUGGEST_SHARED_DATA", str(SHARED_DATA))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit notebooks without outputs"
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plots were not drawn"
    text = "".join(o.get("text", "") for o in outputs)
    assert "ICD10PCS" in text and "MAP" in text
