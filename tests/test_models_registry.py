"""Model directories and the file registry: roundtrip, refusals before unpickling, atomic save, ACTIVE."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import joblib
import pytest

from codesuggest.models import artifact, registry as registry_module, runtime as runtime_module
from codesuggest.models.artifact import (
    CodeSetMismatch,
    ManifestFormatError,
    ModelIntegrityError,
    PackageMismatch,
    load_model,
    save_model,
    training_fingerprint,
)
from codesuggest.models.default import DictionaryRanker
from codesuggest.models.interface import Output
from codesuggest.models.registry import FileModelRegistry, UnknownModelVersion
from codesuggest.models.runtime import load_active_or_default

NOTE = "Pt with HTN. Denies chest pain."


@pytest.fixture(scope="module")
def ranker(cm_catalog) -> DictionaryRanker:
    return DictionaryRanker().fit(catalog=cm_catalog)


@pytest.fixture
def registry(tmp_path, cm_analyzer, cm_catalog) -> FileModelRegistry:
    return FileModelRegistry(tmp_path / "models", analyzer=cm_analyzer, catalog=cm_catalog)


def _save(registry: FileModelRegistry, ranker, **kw) -> str:
    return registry.save(ranker, training_fingerprint="f" * 64, metrics=kw.pop("metrics", {"map": 0.5}), **kw)


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_roundtrip_keeps_the_ranker_and_writes_the_manifest(registry, ranker, cm_analyzer):
    version = _save(registry, ranker, params={"kind": "test"}, extras={"calibrator": {"a": 1}})
    path = registry.models_dir / version
    assert sorted(p.name for p in path.iterdir()) == ["calibrator.joblib", "manifest.json", "ranker.joblib"]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["version"] == version and manifest["format"] == artifact.MANIFEST_FORMAT
    assert manifest["code_set_versions"] == cm_analyzer.code_set_versions
    assert manifest["metrics"] == {"map": 0.5} and manifest["params"] == {"kind": "test"}
    assert set(manifest["packages"]) == set(artifact.TRACKED_PACKAGES)
    assert manifest["files"]["ranker.joblib"] == artifact.sha256_file(path / "ranker.joblib")
    assert manifest["training_fingerprint"] == "f" * 64

    loaded = load_model(path, cm_analyzer.code_set_versions)
    assert loaded.extras == {"calibrator": {"a": 1}}
    analysis = cm_analyzer.analyze(NOTE)
    assert loaded.ranker.rank([analysis]) == ranker.rank([analysis])

    suggester = registry.load(version)
    assert suggester.version == version
    as_trained = suggester.suggest(NOTE, output=Output.RANKED)
    assert [(s.system, s.code, s.score) for s in as_trained] == [(r.system, r.code, r.score) for r in ranker.rank([analysis], top_k=30)[0]]
    assert registry.show(version)["version"] == version


def test_loading_a_model_freezes_what_is_loaded(registry, ranker):
    """The loaded indexes and model leave the cyclic collector's generations (gc.freeze)."""
    import gc

    version = _save(registry, ranker)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    suggester = registry.load(version)
    assert gc.get_freeze_count() > 0
    assert suggester.suggest(NOTE)  # frozen objects still work


def test_version_names_carry_time_and_hash(registry, ranker):
    version = _save(registry, ranker)
    day, minute, short = version.split("-")
    assert len(day) == 8 and len(minute) == 4 and len(short) == 6
    assert _save(registry, ranker) != version  # two saves in one minute do not collide


def test_sha_mismatch_is_refused_before_unpickling(registry, ranker, monkeypatch):
    version = _save(registry, ranker)
    path = registry.models_dir / version
    with open(path / "ranker.joblib", "ab") as handle:
        handle.write(b"\0")

    def no_unpickling(*args, **kwargs):
        raise AssertionError("joblib.load was called on an unverified file")

    monkeypatch.setattr(joblib, "load", no_unpickling)
    with pytest.raises(ModelIntegrityError, match="ranker.joblib does not match its manifest"):
        registry.load(version)
    with pytest.raises(ModelIntegrityError):
        registry.activate(version)
    assert registry.active_version() is None


def test_unlisted_or_missing_pickles_are_refused(registry, ranker):
    version = _save(registry, ranker)
    path = registry.models_dir / version
    joblib.dump({"x": 1}, path / "sneaky.joblib")
    with pytest.raises(ModelIntegrityError, match="sneaky.joblib"):
        registry.load(version)
    (path / "sneaky.joblib").unlink()
    (path / "ranker.joblib").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.load(version)


def test_code_set_version_mismatch_is_refused(registry, ranker, cm_analyzer):
    version = _save(registry, ranker)
    other = {**cm_analyzer.code_set_versions, "ICD10PCS": "ICD10PCS file abc"}
    with pytest.raises(CodeSetMismatch, match="ICD10PCS: model none, loaded ICD10PCS file abc"):
        load_model(registry.models_dir / version, other)
    elsewhere = FileModelRegistry(registry.models_dir, analyzer=SimpleNamespace(code_set_versions={"ICD10CM": "2019"}))
    with pytest.raises(CodeSetMismatch, match="other code sets"):
        elsewhere.load(version)


def test_package_and_format_mismatches_are_refused(registry, ranker):
    version = _save(registry, ranker)
    manifest_file = registry.models_dir / version / "manifest.json"
    original = json.loads(manifest_file.read_text())

    manifest_file.write_text(json.dumps({**original, "packages": {**original["packages"], "scikit-learn": "0.24.2"}}))
    with pytest.raises(PackageMismatch, match="scikit-learn 0.24.2"):
        registry.load(version)
    manifest_file.write_text(json.dumps({**original, "format": 0}))
    with pytest.raises(ManifestFormatError, match="older codesuggest"):
        registry.load(version)
    manifest_file.write_text(json.dumps(original))
    assert registry.load(version).version == version


def test_failed_save_leaves_previous_model_and_active_pointer(registry, ranker, monkeypatch):
    first = _save(registry, ranker)
    registry.activate(first)
    before = _tree(registry.models_dir)
    real_dump = joblib.dump

    def dump_then_fail(obj, path, *args, **kwargs):
        if str(path).endswith("calibrator.joblib"):  # the second file of the save
            raise OSError(28, "No space left on device")
        return real_dump(obj, path, *args, **kwargs)

    monkeypatch.setattr(joblib, "dump", dump_then_fail)
    with pytest.raises(OSError, match="No space left"):
        _save(registry, ranker, extras={"calibrator": {"a": 1}})
    assert _tree(registry.models_dir) == before  # no new version, no temporary directory left
    assert registry.active_version() == first
    assert [i.version for i in registry.list()] == [first]


def test_an_interrupted_save_is_ignored(registry, ranker):
    first = _save(registry, ranker)
    crashed = registry.models_dir / ".tmp-20990101-0000-abcdef-1234"  # what a killed process leaves
    crashed.mkdir()
    (crashed / "ranker.joblib").write_bytes(b"half a pickle")
    assert registry.versions() == [first]


def test_activate_and_list(registry, ranker):
    assert registry.list() == [] and registry.active_version() is None
    first, second = _save(registry, ranker, metrics={"map": 0.4}), _save(registry, ranker, metrics={"map": 0.6})
    registry.activate(second)
    assert (registry.models_dir / "ACTIVE").read_text().strip() == second
    infos = {i.version: i for i in registry.list()}
    assert infos[second].active and not infos[first].active
    assert infos[first].metrics == {"map": 0.4}
    registry.activate(first)
    assert registry.active_version() == first
    assert not list(registry.models_dir.glob(".ACTIVE*"))


def test_unknown_versions(registry, ranker):
    _save(registry, ranker)
    for bad in ("20200101-0000-000000", "../models", ""):
        with pytest.raises(UnknownModelVersion) as info:
            registry.load(bad)
        assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownModelVersion, match="known: 2"):
        registry.activate("nope")
    with pytest.raises(FileExistsError):
        save_model(ranker, registry.models_dir, training_fingerprint="x", version=registry.versions()[0])


def test_training_fingerprint_ignores_order_but_not_content():
    a = SimpleNamespace(note_id="1", text="HTN", codes=(("ICD10CM", "I10"),))
    b = SimpleNamespace(note_id="2", text="DM2", codes=(("ICD10CM", "E11.9"), ("ICD10CM", "I10")))
    b_swapped = SimpleNamespace(note_id="2", text="DM2", codes=(("ICD10CM", "I10"), ("ICD10CM", "E11.9")))
    assert training_fingerprint([a, b]) == training_fingerprint([b_swapped, a])
    assert training_fingerprint([a, b]) != training_fingerprint([a, SimpleNamespace(note_id="2", text="DM1", codes=b.codes)])


def test_load_active_or_default_builds_once_then_reuses(tmp_path, cm_analyzer, cm_catalog, monkeypatch):
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    settings = SimpleNamespace(
        models_dir=tmp_path / "models", cache_dir=tmp_path / "cache", code_set_sources=lambda: None, approximate_search=False
    )
    suggester = load_active_or_default(settings, progress=False)
    registry = FileModelRegistry(settings.models_dir, analyzer=cm_analyzer)
    assert registry.active_version() == suggester.version
    assert registry.show(suggester.version)["params"]["kind"] == registry_module.DEFAULT_MODEL_KIND
    assert any(s.code == "I10" for s in suggester.suggest("Known HTN."))
    assert load_active_or_default(settings, progress=False).version == suggester.version
    assert len(registry.versions()) == 1

    # a default model built for other code sets is rebuilt; a trained one would be refused
    manifest_file = settings.models_dir / suggester.version / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "code_set_versions": {"ICD10CM": "2019"}}))
    rebuilt = load_active_or_default(settings, progress=False)
    assert rebuilt.version != suggester.version and registry.active_version() == rebuilt.version
    manifest_file = settings.models_dir / rebuilt.version / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "code_set_versions": {"ICD10CM": "2019"}, "params": {"kind": "trained"}}))
    with pytest.raises(CodeSetMismatch):
        load_active_or_default(settings, progress=False)


def _retag(models_dir: Path, version: str, **fields) -> None:
    manifest_file = models_dir / version / "manifest.json"
    manifest_file.write_text(json.dumps({**json.loads(manifest_file.read_text()), **fields}))


def test_a_restart_with_other_code_sets_serves_the_newest_model_built_for_them(tmp_path, cm_analyzer, cm_catalog, ranker, monkeypatch, caplog):
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    settings = SimpleNamespace(
        models_dir=tmp_path / "models", cache_dir=tmp_path / "cache", code_set_sources=lambda: None, approximate_search=False
    )
    registry = FileModelRegistry(settings.models_dir, analyzer=cm_analyzer, catalog=cm_catalog)
    older = _save(registry, ranker, params={"kind": "code-ranker"})
    newer = _save(registry, ranker, params={"kind": "code-ranker"})
    default = registry.build_default(progress=False)  # newer still, but a default model
    other = _save(registry, ranker, params={"kind": "code-ranker"})
    for month, version in enumerate((older, newer, default, other), start=1):  # saved within a second
        _retag(settings.models_dir, version, created_at=f"2026-0{month}-01T00:00:00Z")
    _retag(settings.models_dir, other, code_set_versions={"ICD10CM": "2019"})  # built for other code sets
    registry.activate(other)  # e.g. trained with a PCS file the service was restarted without

    with caplog.at_level("WARNING", logger="codesuggest.models.runtime"):
        served = load_active_or_default(settings, progress=False)
    assert served.version == newer and registry.active_version() == newer
    assert f"serving {newer} instead" in caplog.text and "ICD10CM: model 2019" in caplog.text
    assert older != newer and len(registry.versions()) == 4  # nothing built

    # a default model that no longer fits gives way to a trained model that does, not to a new default
    _retag(settings.models_dir, default, code_set_versions={"ICD10CM": "2019"})
    registry.activate(default)
    assert load_active_or_default(settings, progress=False).version == newer

    # a trained active model never silently gives way to a default one
    for version in (older, newer):
        _retag(settings.models_dir, version, code_set_versions={"ICD10CM": "2019"})
    _retag(settings.models_dir, default, code_set_versions=cm_analyzer.code_set_versions)
    registry.activate(newer)
    with pytest.raises(CodeSetMismatch):
        load_active_or_default(settings, progress=False)


def test_nested_metrics_are_flattened(registry, ranker):
    version = _save(registry, ranker, metrics={"ICD10CM": {"map": 0.4, "note": "x"}, "n_notes": 250, "skip": None})
    assert registry.list()[0].metrics == {"ICD10CM.map": 0.4, "n_notes": 250.0}
    assert registry.show(version)["metrics"] == {"ICD10CM.map": 0.4, "n_notes": 250.0}
