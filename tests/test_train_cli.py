"""``codesuggest train`` through typer's CliRunner, on a tiny JSONL over the packaged ICD-10-CM."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codesuggest import config
from codesuggest.cli import app
from codesuggest.models import runtime as runtime_module
from codesuggest.models.artifact import training_fingerprint
from codesuggest.models.interface import Output
from codesuggest.models.registry import FileModelRegistry
from codesuggest.training.datasets import load_dataset

runner = CliRunner()

# (text, codes): each code in several notes so the ranker's text classifier and folds see it
NOTES = [
    ("Assessment: essential hypertension, continue lisinopril.", ["I10"]),
    ("Long-standing hypertension, blood pressure 150/95 today.", ["I10"]),
    ("Hypertension controlled. Type 2 diabetes mellitus, metformin.", ["I10", "E11.9"]),
    ("Type 2 diabetes mellitus without complications, HbA1c 7.1.", ["E11.9"]),
    ("Diabetes mellitus type 2 on insulin; no complications noted.", ["E11.9"]),
    ("Community acquired pneumonia, start antibiotics.", ["J18.9"]),
    ("Pneumonia of the right lower lobe on chest x-ray.", ["J18.9"]),
    ("Fever and cough; pneumonia. Also hypertension.", ["J18.9", "I10"]),
    ("Atrial fibrillation with rapid ventricular response.", ["I48.91"]),
    ("Known atrial fibrillation, on apixaban. Hypertension.", ["I48.91", "I10"]),
    ("Paroxysmal atrial fibrillation noted on ECG.", ["I48.91"]),
    ("Headache for three days, no fever.", ["R51.9"]),
    ("Chronic headache, tension type suspected.", ["R51.9"]),
    ("Type 2 diabetes and pneumonia, admitted.", ["E11.9", "J18.9"]),
]


def write_notes(path, notes=NOTES, extra_lines=()):
    with path.open("w", encoding="utf-8") as handle:
        for i, (text, codes) in enumerate(notes):
            record = {"note_id": f"n{i}", "text": text, "codes": [{"system": "ICD10CM", "code": c} for c in codes]}
            handle.write(json.dumps(record) + "\n")
        for line in extra_lines:
            handle.write(line + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path, monkeypatch, cm_analyzer, cm_catalog):
    """A data directory for the CLI, with the session's pipeline standing in for loading the code sets."""
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path / "data"))
    for name in ("CODESUGGEST_PCS_FILE", "CODESUGGEST_CPT_FILE", "CODESUGGEST_CM_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    config.get_settings.cache_clear()
    yield tmp_path / "data"
    config.get_settings.cache_clear()


@pytest.fixture
def train_file(tmp_path):
    return write_notes(tmp_path / "train.jsonl")


def invoke(*args: str):
    return runner.invoke(app, ["train", *args])


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_train_saves_lists_loads_and_predicts(data_dir, train_file, tmp_path):
    result = invoke("--data", f"jsonl:{train_file}", "--activate", "--seed", "3")
    assert result.exit_code == 0, result.output
    version = result.stdout.strip().splitlines()[-1]
    registry = FileModelRegistry(data_dir / "models", settings=config.get_settings())
    assert registry.versions() == [version] and registry.active_version() == version

    manifest = registry.show(version)
    assert manifest["training_fingerprint"] == training_fingerprint(load_dataset(f"jsonl:{train_file}"))
    assert manifest["params"]["seed"] == 3 and manifest["params"]["ranker"]["random_state"] == 3
    assert manifest["metrics"]["oof.ICD10CM.map"] > 0 and "oof.ICD10CM.threshold" in manifest["metrics"]

    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and version in listed.stdout and listed.stdout.startswith("*")

    suggester = registry.load(version)
    codes = [s.code for s in suggester.suggest("Assessment: hypertension. Atrial fibrillation.")]
    assert "I10" in codes[:5]

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Pneumonia and type 2 diabetes mellitus.", encoding="utf-8")
    predicted = runner.invoke(app, ["predict", "--model", version, "--notes", str(notes), "--out", str(tmp_path / "p.tsv")])
    assert predicted.exit_code == 0, predicted.output
    assert "J18.9" in (tmp_path / "p.tsv").read_text()


def test_same_seed_same_scores(data_dir, train_file, tmp_path):
    out = tmp_path / "models"
    versions = []
    for _ in range(2):
        result = invoke("--data", str(train_file), "--out", str(out), "--seed", "7")
        assert result.exit_code == 0, result.output
        versions.append(result.stdout.strip().splitlines()[-1])
    registry = FileModelRegistry(out, settings=config.get_settings())
    assert registry.active_version() is None  # not activated without --activate
    manifests = [registry.show(v) for v in versions]
    assert manifests[0]["training_fingerprint"] == manifests[1]["training_fingerprint"]
    quality = [{k: v for k, v in m["metrics"].items() if not k.endswith("_seconds")} for m in manifests]
    assert quality[0] == quality[1] and "oof.ICD10CM.map" in quality[0]
    texts = ["Hypertension and type 2 diabetes.", "Pneumonia; headache; atrial fibrillation."]
    rankings = [
        [[(s.code, s.score) for s in ranked] for ranked in registry.load(v).suggest_many(texts, top_k=20, output=Output.RANKED)]
        for v in versions
    ]
    assert rankings[0] == rankings[1] and rankings[0][0]


def test_crash_mid_training_leaves_the_active_model(data_dir, train_file, monkeypatch):
    first = invoke("--data", f"jsonl:{train_file}", "--activate")
    assert first.exit_code == 0, first.output
    version = first.stdout.strip().splitlines()[-1]
    from codesuggest.models.ranker import CodeRanker

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(CodeRanker, "fit", crash)
    invoke("--data", f"jsonl:{train_file}", "--activate")
    registry = FileModelRegistry(data_dir / "models", settings=config.get_settings())
    assert registry.versions() == [version] and registry.active_version() == version
    assert not [p for p in (data_dir / "models").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda p: write_notes(p / "bad.jsonl", extra_lines=['{"note_id": "x", "text": "Fever.", "codes": [{"system": "ICD10CM", "code": "##"}]}']),
         ["bad.jsonl:15", "skipped"]),
        (lambda p: write_notes(p / "bad.jsonl", extra_lines=['{"note_id": "x", "text": "Fever.", "codes": [{"system": "ICD99", "code": "I10"}]}']),
         ["bad.jsonl:15"]),
        (lambda p: write_notes(p / "bad.jsonl", extra_lines=['{"note_id": "x", "text": "   ", "codes": []}']),
         ["bad.jsonl:15", "empty"]),
        (lambda p: write_notes(p / "bad.jsonl", extra_lines=['{"note_id": "n0", "text": "Another text.", "codes": []}']),
         ["bad.jsonl:15", "'n0'", "bad.jsonl:1"]),
        (lambda p: write_notes(p / "bad.jsonl", extra_lines=["{not json"]), ["bad.jsonl:15", "not JSON"]),
        (lambda p: p / "missing.jsonl", ["missing.jsonl", "no such file"]),
    ],
    ids=["invalid-code", "unknown-system", "empty-note", "duplicate-id", "malformed-line", "missing-file"],
)
def test_bad_input_exits_2_with_one_line(data_dir, tmp_path, make, fragments):
    path = make(tmp_path)
    assert_user_error(invoke("--data", f"jsonl:{path}"), *fragments)
    assert not (data_dir / "models").exists() or not FileModelRegistry(data_dir / "models").versions()


def test_missing_codiesp_text_file(data_dir, tmp_path):
    split = tmp_path / "train"
    (split / "text_files_en").mkdir(parents=True)
    (split / "text_files_en" / "c1.txt").write_text("Hypertension.", encoding="utf-8")
    (split / "trainD.tsv").write_text("c1\ti10\nc2\tj18.9\n", encoding="utf-8")
    assert_user_error(invoke("--data", f"codiesp:{split}"), "trainD.tsv:2", "no text file", "c2")


def test_duplicate_ids_across_sources(data_dir, train_file, tmp_path):
    other = write_notes(tmp_path / "other.jsonl", notes=NOTES[:3])
    assert_user_error(invoke("--data", str(train_file), "--data", str(other)), "'n0'", "unique")


def test_codes_not_in_the_code_sets_are_dropped_with_a_warning(data_dir, tmp_path):
    path = write_notes(tmp_path / "t.jsonl", notes=NOTES + [("Fall from a bicycle.", ["V29.9XX"])])
    result = invoke("--data", str(path))
    assert result.exit_code == 0, result.output
    assert "V29.9XX" in result.stderr and "dropped" in result.stderr


def test_out_is_an_older_model_directory(data_dir, train_file, tmp_path):
    old = tmp_path / "models" / "20200101-0000-abcdef"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"format": 0, "version": old.name}), encoding="utf-8")
    assert_user_error(invoke("--data", str(train_file), "--out", str(old)), str(old), "older codesuggest")


def test_bad_params(data_dir, train_file):
    assert_user_error(invoke("--data", str(train_file), "--params", "{nope"), "--params")
    assert_user_error(invoke("--data", str(train_file), "--params", '{"no_such_param": 1}'), "no_such_param")


def test_feedback_source(data_dir, train_file, tmp_path, monkeypatch):
    """``--data feedback:URL`` reads the export of a service database (here a stand-in export)."""
    from codesuggest.storage import feedback

    calls = []

    def fake_export(url, since=None, remapper=None):
        calls.append(url)
        return [
            {"note_id": "fb-1", "text": "Hypertension and atrial fibrillation.", "codes": [
                {"system": "ICD10CM", "code": "I10"}, {"system": "ICD10CM", "code": "I48.91"}]},
            {"note_id": "fb-2", "text": "Headache for two days, no fever.", "codes": [{"system": "ICD10CM", "code": "R51.9"}]},
        ]

    monkeypatch.setattr(feedback, "export_feedback", fake_export)
    url = f"sqlite:///{tmp_path / 'service.db'}"
    result = invoke("--data", str(train_file), "--data", f"feedback:{url}")
    assert result.exit_code == 0, result.output
    assert calls == [url]
    manifest = FileModelRegistry(data_dir / "models").show(result.stdout.strip().splitlines()[-1])
    assert manifest["params"]["data"][1] == f"feedback:{url}"
    assert manifest["metrics"]["training.notes"] == len(NOTES) + 2


def test_feedback_source_errors_name_the_record(data_dir, train_file, monkeypatch):
    from codesuggest.storage import feedback

    monkeypatch.setattr(feedback, "export_feedback", lambda url, since=None, remapper=None: [{"note_id": "fb-1", "text": " ", "codes": []}])
    assert_user_error(invoke("--data", str(train_file), "--data", "feedback:sqlite:///x.db"), "feedback:sqlite:///x.db record 1", "empty")


def test_training_does_not_import_the_service():
    import subprocess
    import sys

    code = (
        "import sys, codesuggest.training.workflow, codesuggest.training.feedback_loader; "
        "bad = [m for m in sys.modules if m == 'fastapi' or m.startswith(('codesuggest.service', 'codesuggest.storage'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_manifest_records_the_pipeline_settings_and_loading_elsewhere_warns(data_dir, train_file, caplog):
    result = invoke("--data", f"jsonl:{train_file}")
    assert result.exit_code == 0, result.output
    version = result.stdout.strip().splitlines()[-1]
    registry = FileModelRegistry(data_dir / "models", settings=config.get_settings())
    assert registry.show(version)["params"]["pipeline"] == {"approximate_search": False}
    with caplog.at_level("WARNING", logger="codesuggest.models.registry"):
        registry.load(version)
    assert not [r for r in caplog.records if "pipeline settings" in r.getMessage()]
    catalog, analyzer = registry.resources()

    class WithLinker:  # the same pipeline, reporting approximate search on
        def __getattr__(self, name):
            return getattr(analyzer, name)

        settings = {"approximate_search": True}

    other = FileModelRegistry(data_dir / "models", analyzer=WithLinker(), catalog=catalog)
    with caplog.at_level("WARNING", logger="codesuggest.models.registry"):
        other.load(version)
    assert any("approximate_search" in r.getMessage() and version in r.getMessage() for r in caplog.records)


class MostFrequentCodes:
    """A toy model type: every note gets the training set's most frequent codes."""

    def __init__(self, n_codes: int = 2, random_state: int = 0):
        self.n_codes = n_codes
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict:
        return {"n_codes": self.n_codes, "random_state": self.random_state}

    def set_params(self, **params) -> "MostFrequentCodes":
        unknown = set(params) - set(self.get_params())
        if unknown:
            raise ValueError(f"invalid parameter(s) {sorted(unknown)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, analyses, labels) -> "MostFrequentCodes":
        from collections import Counter

        counts = Counter(code for codes in labels for code in codes)
        self.top_ = [(code, n / len(labels)) for code, n in counts.most_common(self.n_codes)]
        self.thresholds_ = {"ICD10CM": 0.0}
        self.code_set_versions_ = dict(analyses[0].code_set_versions)
        return self

    def rank(self, analyses, top_k: int = 50):
        from codesuggest.models.interface import RankedCode

        return [[RankedCode(system, code, score) for (system, code), score in self.top_[:top_k]] for _ in analyses]


def test_another_model_type_is_one_registration(data_dir, train_file, monkeypatch):
    from codesuggest.models import trainable

    monkeypatch.setattr(trainable, "_TYPES", dict(trainable._TYPES))
    trainable.register_model_type("most-frequent", MostFrequentCodes)
    with pytest.raises(ValueError, match="already registered"):
        trainable.register_model_type("most-frequent", MostFrequentCodes)
    result = invoke("--data", str(train_file), "--type", "most-frequent", "--params", '{"n_codes": 1}')
    assert result.exit_code == 0, result.output
    version = result.stdout.strip().splitlines()[-1]
    registry = FileModelRegistry(data_dir / "models", settings=config.get_settings())
    manifest = registry.show(version)
    assert manifest["params"]["kind"] == "most-frequent" and manifest["params"]["ranker"] == {"n_codes": 1, "random_state": 0}
    suggested = registry.load(version).suggest("Atrial fibrillation.", output=Output.RANKED)
    assert [s.code for s in suggested] == ["I10"]  # the most frequent code of NOTES, whatever the note says

    assert_user_error(invoke("--data", str(train_file), "--type", "nonesuch"), "--type", "nonesuch", "code-ranker")
    assert_user_error(invoke("--data", str(train_file), "--type", "most-frequent", "--params", '{"depth": 3}'), "--params")
