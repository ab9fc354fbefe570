"""``codesuggest models list/show/promote``, ``predict`` and ``extract`` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codesuggest import config
from codesuggest.cli import app
from codesuggest.models import runtime as runtime_module
from codesuggest.models.default import DictionaryRanker
from codesuggest.models.registry import FileModelRegistry
from codesuggest.training.predictions import read_predictions

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch, cm_analyzer, cm_catalog):
    """A data directory for the CLI, with the session's pipeline standing in for loading the code sets."""
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path))
    for name in ("CODESUGGEST_PCS_FILE", "CODESUGGEST_CPT_FILE", "CODESUGGEST_CM_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    config.get_settings.cache_clear()
    yield tmp_path
    config.get_settings.cache_clear()


@pytest.fixture
def version(data_dir, cm_catalog) -> str:
    registry = FileModelRegistry(data_dir / "models")
    return registry.save(DictionaryRanker().fit(catalog=cm_catalog), training_fingerprint="none", metrics={"map": 0.25})


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_predict_from_a_folder(data_dir, version, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n1.txt").write_text("Assessment: HTN. Pneumonia, start antibiotics.", encoding="utf-8")
    (notes / "n2.txt").write_text("Type 2 diabetes mellitus. Denies chest pain.", encoding="utf-8")
    (notes / "n3.txt").write_text("  \n", encoding="utf-8")
    out = tmp_path / "preds.tsv"
    result = invoke("predict", "--model", str(data_dir / "models" / version), "--notes", str(notes), "--out", str(out), "--top-k", "5")
    assert result.exit_code == 0, result.output
    assert "n3 is empty" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "note_id\tcode\tsystem\tscore"
    rows = [line.split("\t") for line in lines[1:]]
    assert {r[0] for r in rows} == {"n1", "n2"}
    for note_id in ("n1", "n2"):
        scores = [float(r[3]) for r in rows if r[0] == note_id]
        assert 0 < len(scores) <= 5 and scores == sorted(scores, reverse=True)
    assert ["n1", "I10", "ICD10CM"] in [r[:3] for r in rows]
    assert len(read_predictions(out)) == len(rows)  # what `codesuggest evaluate --pred` reads


def test_predict_from_jsonl_by_version(data_dir, version, tmp_path):
    jsonl = tmp_path / "notes.jsonl"
    jsonl.write_text(
        json.dumps({"note_id": "a", "text": "Known HTN.", "codes": []}) + "\n"
        + json.dumps({"note_id": "b", "text": "Pneumonia.", "codes": [{"system": "ICD10CM", "code": "J18.9"}]}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "preds.tsv"
    result = invoke("predict", "--model", version, "--notes", str(jsonl), "--out", str(out))
    assert result.exit_code == 0, result.output
    first = {line.split("\t")[0]: line.split("\t")[1] for line in reversed(out.read_text().splitlines()[1:])}
    assert first == {"a": "I10", "b": "J18.9"}


def test_predict_user_errors_exit_2(data_dir, version, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n1.txt").write_text("HTN", encoding="utf-8")
    out = str(tmp_path / "p.tsv")
    unknown = invoke("predict", "--model", "19990101-0000-000000", "--notes", str(notes), "--out", out)
    assert unknown.exit_code == 2 and "no model version" in unknown.stderr
    (notes / "latin1.txt").write_bytes("fi\xe8vre".encode("latin-1"))
    bad = invoke("predict", "--model", version, "--notes", str(notes), "--out", out)
    assert bad.exit_code == 2 and "not UTF-8" in bad.stderr and "Traceback" not in bad.output


def test_extract_prints_the_analysis(data_dir, tmp_path):
    note = tmp_path / "note.txt"
    text = "Pt with HTN. Denies chest pain."
    note.write_text(text, encoding="utf-8")
    result = invoke("extract", str(note), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_text = {text[m["start"] : m["end"]]: m for m in data["mentions"]}
    assert by_text["HTN"]["candidates"][0]["code"] == "I10"
    assert by_text["chest pain"]["assertion"]["label"] == "negated"
    plain = invoke("extract", str(note))
    assert plain.exit_code == 0 and "HTN" in plain.stdout and "negated" in plain.stdout


@pytest.mark.parametrize(
    "content, message", [(b"", "empty"), (b" \n\t\n", "empty"), (b"\xff\xfeH\x00T\x00N\x00", "not UTF-8"), (None, "no such file")]
)
def test_extract_user_errors_exit_2(data_dir, tmp_path, content, message):
    note = tmp_path / "note.txt"
    if content is not None:
        note.write_bytes(content)
    result = invoke("extract", str(note))
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_models_list_show_promote(data_dir, version, tmp_path):
    listed = invoke("models", "list")
    assert listed.exit_code == 0 and version in listed.stdout and "map=0.25" in listed.stdout
    shown = invoke("models", "show", version)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["version"] == version
    promoted = invoke("models", "promote", version)
    assert promoted.exit_code == 0 and f"active model: {version}" in promoted.stdout
    assert (data_dir / "models" / "ACTIVE").read_text().strip() == version
    assert invoke("models", "list").stdout.startswith(f"* {version}")
    elsewhere = invoke("models", "list", "--models-dir", str(tmp_path / "none"))
    assert elsewhere.exit_code == 0 and elsewhere.stdout == ""
    for command in (("models", "show", "nope"), ("models", "promote", "nope")):
        result = invoke(*command)
        assert result.exit_code == 2 and "no model version 'nope'" in result.stderr
