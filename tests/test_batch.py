"""Batch coding (codesuggest.batch): local pool and Spark give what `codesuggest predict` gives,
failing notes are reported in the error column, a re-run writes the same output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest
from typer.testing import CliRunner

from codesuggest import batch, config
from codesuggest.batch import ModelSpec, run_batch
from codesuggest.cli import app
from codesuggest.models import runtime as runtime_module
from codesuggest.models.registry import FileModelRegistry
from codesuggest.models.suggester import ModelSuggester

NOTES = [
    ("n01", "Assessment: HTN, well controlled on lisinopril."),
    ("n02", "Patient has pneumonia. Denies chest pain."),
    ("n03", "Type 2 diabetes mellitus with diabetic chronic kidney disease. History of MI."),
    ("n04", "   "),  # empty: fails, reported on its row
    ("n05", "Mother had breast cancer. Patient reports shortness of breath and cough."),
    ("n06", "no codable findings here at all, xyzzy"),
    ("n07", "Acute kidney injury on CKD stage 3. Anemia. Hyperlipidemia."),
    ("n08", "COPD exacerbation; atrial fibrillation on warfarin."),
]
TOP_K = 10


def _java_missing() -> str | None:
    if shutil.which("java") is None:
        return "Java is not installed (PySpark 4 needs Java 17+)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[dev]')"
    try:
        subprocess.run(["java", "-version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"java does not run ({exc})"
    return None


spark = pytest.mark.skipif(_java_missing() is not None, reason=str(_java_missing()))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, cm_analyzer, cm_catalog):
    """The default model over the packaged ICD-10-CM, built with the session's pipeline (no ANN index)."""
    models = tmp_path_factory.mktemp("batch-models")
    version = FileModelRegistry(models, analyzer=cm_analyzer, catalog=cm_catalog).build_default(progress=False)
    return models / version


@pytest.fixture(scope="module")
def spec(model_dir, cm_data_dir, cm_analyzer) -> ModelSpec:
    # the workers rebuild what cm_analyzer is: packaged ICD-10-CM, cached term index, no approximate search
    return ModelSpec(model_dir=str(model_dir), cache_dir=str(cm_data_dir / "cache"), approximate=False)


@pytest.fixture(scope="module")
def reference(model_dir, cm_analyzer, cm_catalog) -> ModelSuggester:
    return FileModelRegistry(model_dir.parent, analyzer=cm_analyzer, catalog=cm_catalog).load_path(model_dir)


@pytest.fixture(scope="module")
def notes_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch-in") / "notes.parquet"
    pd.DataFrame(NOTES, columns=["note_id", "text"]).to_parquet(path)
    return path


def _triples(frame: pd.DataFrame) -> set[tuple[str, str, str, float]]:
    frame = frame[frame["code"].notna()]
    return set(zip(frame["note_id"], frame["system"], frame["code"], frame["score"].astype(float)))


def _expected(reference: ModelSuggester) -> set[tuple[str, str, str, float]]:
    good = [(i, t) for i, t in NOTES if t.strip()]
    coded = reference.suggest_many([t for _, t in good], top_k=TOP_K)
    return {(i, s.system, s.code, float(s.confidence)) for (i, _), codes in zip(good, coded) for s in codes}


def _check_output(frame: pd.DataFrame, reference: ModelSuggester) -> None:
    assert list(frame.columns) == list(batch.OUTPUT_COLUMNS)
    assert set(frame["note_id"]) == {i for i, _ in NOTES}  # every note accounted for
    assert _triples(frame) == _expected(reference)
    errors = frame[frame["error"].notna()]
    assert list(errors["note_id"]) == ["n04"] and "empty" in errors["error"].iloc[0]
    assert errors["code"].isna().all()
    assert (frame["model_version"] == reference.version).all()
    n01 = frame[frame["note_id"] == "n01"]
    assert list(n01["rank"]) == list(range(1, len(n01) + 1))
    i10 = n01[n01["code"] == "I10"].iloc[0]
    text = dict(NOTES)["n01"]
    assert [text[e["start"] : e["end"]] for e in i10["evidence"]] == ["HTN"]
    assert i10["evidence"][0]["assertion"] == "present" and not i10["needs_review"]
    assert i10["description"] == "Essential (primary) hypertension"


def test_same_rows_as_the_suggester_in_process(notes_parquet, spec, reference, tmp_path):
    out = tmp_path / "suggestions.parquet"
    result = run_batch(notes_parquet, out, spec, workers=1, top_k=TOP_K, progress=False)
    assert result.notes == len(NOTES) and result.failed == 1
    frame = pd.read_parquet(out)
    _check_output(frame, reference)
    assert result.rows == len(frame)


def test_local_pool_same_rows_and_rerun_is_identical(notes_parquet, spec, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)  # 4 chunks over 2 forked workers
    out = tmp_path / "suggestions.parquet"
    run_batch(notes_parquet, out, spec, workers=2, top_k=TOP_K, progress=False)
    first = out.read_bytes()
    frame = pd.read_parquet(out)
    _check_output(frame, reference)
    run_batch(notes_parquet, out, spec, workers=2, top_k=TOP_K, progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out), frame)
    assert out.read_bytes() == first  # idempotent, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["suggestions.parquet"]  # no temporary left


def test_a_note_that_raises_is_reported_not_fatal(spec, reference, monkeypatch):
    class FlakyAnalyzer:
        code_set_versions = reference.analyzer.code_set_versions

        def analyze_many(self, texts, batch_size=32):
            for text in texts:
                if "boom" in text:
                    raise RuntimeError("pipeline exploded\nsecond line")
                yield reference.analyzer.analyze(text)

    flaky = ModelSuggester(FlakyAnalyzer(), reference.ranker, reference.version, catalog=reference.catalog)
    rows = batch.code_notes(flaky, [("a", "HTN."), ("b", "boom"), ("c", "Pneumonia.")], top_k=5)
    by_note = {}
    for row in rows:
        by_note.setdefault(row["note_id"], []).append(row)
    assert by_note["b"] == [dict(batch._empty_row("b", reference.version, "RuntimeError: pipeline exploded"))]
    assert by_note["a"][0]["code"] == "I10" and by_note["c"][0]["code"] == "J18.9"


def test_a_note_that_kills_a_worker_costs_that_note_only(spec, reference, tmp_path, monkeypatch):
    class KillingAnalyzer:
        code_set_versions = reference.analyzer.code_set_versions

        def analyze_many(self, texts, batch_size=32):
            for text in texts:
                if "segfault" in text:
                    os._exit(11)  # what a crash in native code looks like from outside
                yield reference.analyzer.analyze(text)

    killer = ModelSuggester(KillingAnalyzer(), reference.ranker, reference.version, catalog=reference.catalog)
    monkeypatch.setitem(batch._SUGGESTERS, spec, killer)  # the model run_batch loads for spec
    monkeypatch.setattr(batch, "CHUNK", 2)
    notes = tmp_path / "notes.jsonl"
    rows = [("a", "HTN."), ("b", "the segfault note"), ("c", "Pneumonia."), ("d", "Type 2 diabetes.")]
    notes.write_text("".join(json.dumps({"note_id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8")
    result = run_batch(notes, tmp_path / "out.parquet", spec, workers=2, top_k=TOP_K, progress=False)
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert result.notes == 4 and result.failed == 1
    failed = frame[frame["error"].notna()]
    assert failed["note_id"].tolist() == ["b"] and "ModelWorkerError" in failed["error"].iloc[0]
    assert "code 11" in failed["error"].iloc[0]
    coded = frame[frame["code"].notna()].groupby("note_id")["code"].first().to_dict()
    assert coded["a"] == "I10" and coded["c"] == "J18.9" and coded["d"].startswith("E11")


def test_input_formats_and_errors(tmp_path):
    jsonl = tmp_path / "n.jsonl"
    jsonl.write_text("".join(json.dumps({"note_id": i, "text": t}) + "\n" for i, t in NOTES[:2]), encoding="utf-8")
    csv = tmp_path / "n.csv"
    pd.DataFrame([("7", "line one\nline, two")], columns=["note_id", "text"]).to_csv(csv, index=False)
    assert batch.read_notes(jsonl) == NOTES[:2]
    assert batch.read_notes(csv) == [("7", "line one\nline, two")]
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps({"note_id": "a", "text": "x"}) + "\n" + json.dumps({"note_id": "a", "text": "y"}) + "\n")
    with pytest.raises(batch.DatasetError, match="appears twice"):
        batch.read_notes(dup)
    with pytest.raises(batch.DatasetError, match="unknown notes format"):
        batch.read_notes(tmp_path / "notes.txt")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,body\n1,x\n")
    with pytest.raises(batch.DatasetError, match="missing column"):
        batch.read_notes(bad)


def test_cli_batch(notes_parquet, model_dir, cm_analyzer, cm_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    # keep this test's pipeline (the CLI would load the code sets in every worker)
    monkeypatch.setattr(ModelSpec, "load", lambda self: FileModelRegistry(model_dir.parent, analyzer=cm_analyzer, catalog=cm_catalog).load_path(self.model_dir))
    config.get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = tmp_path / "s.parquet"
        ok = runner.invoke(app, ["batch", "--input", str(notes_parquet), "--output", str(out), "--model", str(model_dir), "--workers", "1", "--top-k", "3"])
        assert ok.exit_code == 0, ok.output
        frame = pd.read_parquet(out)
        assert frame.groupby("note_id")["rank"].max().max() == 3
        # the same (note, system, code, score) rows as `codesuggest predict` on the same notes
        jsonl = tmp_path / "notes.jsonl"
        jsonl.write_text("".join(json.dumps({"note_id": i, "text": t}) + "\n" for i, t in NOTES), encoding="utf-8")
        tsv = tmp_path / "preds.tsv"
        pred = runner.invoke(app, ["predict", "--model", str(model_dir), "--notes", str(jsonl), "--out", str(tsv), "--top-k", "3", "--billable"])
        assert pred.exit_code == 0, pred.output
        predicted = pd.read_csv(tsv, sep="\t", dtype={"note_id": str, "code": str}, float_precision="round_trip")
        assert _triples(frame) == set(zip(predicted["note_id"], predicted["system"], predicted["code"], predicted["score"]))
        missing = runner.invoke(app, ["batch", "--input", str(tmp_path / "nope.parquet"), "--output", str(out), "--model", str(model_dir)])
        assert missing.exit_code == 2 and "nope.parquet" in missing.stderr
        version = runner.invoke(app, ["batch", "--input", str(notes_parquet), "--output", str(out), "--model", "20990101-0000-abcdef"])
        assert version.exit_code == 2 and "no model version" in version.stderr
        engine = runner.invoke(app, ["batch", "--input", str(notes_parquet), "--output", str(out), "--model", str(model_dir), "--engine", "dask"])
        assert engine.exit_code == 2
    finally:
        config.get_settings.cache_clear()


@spark
@pytest.mark.parametrize("master", ["local[1]", "local[2]"])
def test_spark_same_rows_as_local_and_rerun_identical(master, notes_parquet, spec, reference, tmp_path):
    from pyspark.sql import SparkSession

    out = tmp_path / "suggestions.parquet"
    try:
        result = run_batch(notes_parquet, out, spec, engine="spark", spark_master=master, top_k=TOP_K)
        assert result.notes == len(NOTES)
        first = pd.read_parquet(out)
        _check_output(first, reference)
        local = tmp_path / "local.parquet"
        run_batch(notes_parquet, local, spec, workers=1, top_k=TOP_K, progress=False)
        pd.testing.assert_frame_equal(first.reset_index(drop=True), pd.read_parquet(local), check_dtype=False)
        run_batch(notes_parquet, out, spec, engine="spark", spark_master=master, top_k=TOP_K)
        pd.testing.assert_frame_equal(pd.read_parquet(out), first)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["local.parquet", "suggestions.parquet"]
    finally:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
