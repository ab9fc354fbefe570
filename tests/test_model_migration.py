"""A model across a code-set update: labels mapped to the new release, saved as a new version, the old one
kept (and still refused under the new code sets, naming the migrate command)."""

from __future__ import annotations

from collections import Counter

import pytest
from typer.testing import CliRunner

from codesuggest.cli import app
from codesuggest.codesets import CodeCatalog, CodeSystem
from codesuggest.codesets.releases import Release
from codesuggest.models.artifact import CodeSetMismatch, load_model, save_model
from codesuggest.models.features import CodeStats
from codesuggest.models.interface import RankedCode
from codesuggest.models.migration import MigratedRanker, migrate_model, model_labels
from codesuggest.models.registry import FileModelRegistry

from test_releases import write_codes

CM = CodeSystem.ICD10CM
OLD_VERSIONS = {"ICD10CM": "ICD10CM file old-cm.txt:000000000000"}
NEW_VERSIONS = {"ICD10CM": "ICD10CM file new-cm.txt:111111111111"}


class ToyRanker:
    """A fitted ranker's surface: labels in ``stats_``, a fixed ranking."""

    def __init__(self, codes: list[str]):
        self.stats_ = CodeStats(code_count=Counter({("ICD10CM", c): 1 for c in codes}))
        self.codes = codes
        self.thresholds_ = {"ICD10CM": 0.5}
        self.code_set_versions_ = dict(OLD_VERSIONS)

    def rank(self, analyses, top_k: int = 50):
        return [[RankedCode("ICD10CM", c, 1.0 - i / 10, (), "seen") for i, c in enumerate(self.codes[:top_k])] for _ in analyses]


OLD = Release("old", {CM: {"G35": "Multiple sclerosis", "I10": "Essential (primary) hypertension",
                           "E78.01": "Familial hypercholesterolemia", "Z99.89": "Dependence on other enabling machines"}})
NEW = Release("new", {CM: {"G35.D": "Multiple sclerosis, unspecified", "G35.A": "Relapsing-remitting multiple sclerosis",
                           "I10": "Essential (primary) hypertension", "E78.019": "Familial hypercholesterolemia, unspecified",
                           "Z99.11": "Dependence on respirator [ventilator] status"}})


@pytest.fixture
def saved(tmp_path):
    models = tmp_path / "models"
    ranker = ToyRanker(["G35", "G35.D", "I10", "E78.01", "Z99.89", "C56"])  # C56: a category, in neither release's billable codes
    path = save_model(ranker, models, training_fingerprint="toy", params={"kind": "toy"}, metrics={"map": 0.5})
    FileModelRegistry(models).activate(path.name)
    return models, path


def test_migration_maps_labels_and_saves_a_new_inactive_version(saved):
    models, path = saved
    report = migrate_model(path, models, NEW, NEW_VERSIONS, OLD)
    assert report.mapped == {"ICD10CM E78.01": {"to": "E78.019", "method": "expanded", "confidence": 0.9},
                             "ICD10CM G35": {"to": "G35.D", "method": "expanded", "confidence": 0.9}}
    assert report.unmapped == ["ICD10CM Z99.89"]
    assert (report.kept, report.not_in_from) == (2, 1)  # G35.D and I10; C56
    registry = FileModelRegistry(models)
    assert registry.active_version() == path.name and report.new_version in registry.versions()
    with pytest.raises(CodeSetMismatch, match=f"codesuggest models migrate {path.name}"):
        load_model(path, NEW_VERSIONS)
    migrated = load_model(models / report.new_version, NEW_VERSIONS).ranker
    assert isinstance(migrated, MigratedRanker)
    ranked = migrated.rank([object()])[0]
    assert [r.code for r in ranked] == ["G35.D", "I10", "E78.019", "Z99.89", "C56"]  # G35 -> G35.D ranked once
    assert "G35 retired, mapped to G35.D" in ranked[0].reason
    assert model_labels(migrated) == {("ICD10CM", c) for c in ("G35.D", "I10", "E78.019", "Z99.89", "C56")}
    manifest = registry.show(report.new_version)
    assert manifest["params"]["migration"]["from_version"] == path.name
    assert manifest["params"]["migration"]["from_code_sets"] == OLD_VERSIONS
    assert manifest["code_set_versions"] == NEW_VERSIONS and manifest["params"]["kind"] == "toy"


def test_without_the_old_release_only_labels_the_new_one_lacks_altogether_are_mapped(saved):
    models, path = saved
    report = migrate_model(path, models, NEW, NEW_VERSIONS, dry_run=True)
    # G35 and E78.01 are headers above codes of NEW: without release A they cannot be told retired
    assert report.mapped == {} and report.unmapped == ["ICD10CM Z99.89"] and report.new_version is None
    assert FileModelRegistry(models).versions() == [path.name]  # a dry run saves nothing


def test_cli_migrate(saved, tmp_path, monkeypatch, cm_catalog):
    models, path = saved
    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(CodeCatalog, "load", classmethod(lambda cls, *a, **k: cm_catalog))
    old = write_codes(tmp_path / "old-cm.txt", {"G35": "Multiple sclerosis", "I10": "Essential (primary) hypertension"})
    runner = CliRunner()
    result = runner.invoke(app, ["models", "migrate", path.name, "--from", str(old), "--models-dir", str(models)])
    assert result.exit_code == 0, result.output
    assert "mapped   ICD10CM G35 -> G35.D (expanded, 0.90)" in result.output
    assert "not active: codesuggest models promote" in result.output
    bad = runner.invoke(app, ["models", "migrate", "19990101-0000-000000", "--models-dir", str(models)])
    assert bad.exit_code == 2 and "no model version" in bad.output
    to = runner.invoke(app, ["models", "migrate", path.name, "--to", str(old), "--models-dir", str(models)])
    assert to.exit_code == 2 and "--to must be 'loaded'" in to.output
