"""The code-system table (codesuggest.codesets.systems): the built-in entries, and a system added
with one entry that the catalogue, the settings, the pipeline and the suggester all pick up."""

from __future__ import annotations

import pickle
import re

import pytest

from codesuggest.codesets import (
    CodeCatalog, CodeSetSources, CodeSystem, InvalidCode, SystemSpec, normalize_code, read_codes_file, registered,
    system_specs,
)
from codesuggest.codesets.systems import calibrated_systems, mention_kind, systems_in

TOY = SystemSpec(
    name="TOY",
    title="Toy",
    aliases=("TOYS", "TY"),
    pattern=re.compile(r"^T[0-9]{2}$"),
    pattern_label="a toy code (T and two digits)",
    reader=read_codes_file,
    setting="toy_file",
    care_settings=frozenset({"inpatient"}),
    mention_kind="procedure",
    calibrated=False,
)
TOY_CODES = "T01 Sprocket polishing\nT02 Gizmo recalibration\nT03 Flange realignment\n"


def test_the_built_in_systems_in_their_order():
    assert [spec.name for spec in system_specs()] == ["ICD10CM", "ICD10PCS", "CPT"]
    assert list(CodeSystem) == [CodeSystem.ICD10CM, CodeSystem.ICD10PCS, CodeSystem.CPT]
    assert CodeSystem.parse("pcs") is CodeSystem.ICD10PCS and CodeSystem.parse("ICD-10-CM") is CodeSystem.ICD10CM
    assert CodeSystem("CPT") is CodeSystem.CPT and CodeSystem.CPT == "CPT" and CodeSystem.CPT.value == "CPT"
    assert pickle.loads(pickle.dumps(CodeSystem.ICD10PCS)) is CodeSystem.ICD10PCS
    assert systems_in("inpatient") == {"ICD10CM", "ICD10PCS"} and systems_in("Emergency") == {"ICD10CM", "CPT"}
    assert calibrated_systems() == ("ICD10CM", "ICD10PCS", "CPT")
    assert mention_kind("ICD10CM") == "diagnosis" and mention_kind("CPT") == "procedure"
    with pytest.raises(ValueError, match="expected ICD10CM, ICD10PCS or CPT"):
        CodeSystem.parse("TOY")


def test_sources_by_system_name_or_by_the_systems_settings(tmp_path):
    pcs, cpt = tmp_path / "pcs.txt", tmp_path / "cpt.csv"
    assert CodeSetSources(pcs_file=pcs, cpt_file=None) == CodeSetSources({"pcs": pcs})
    assert CodeSetSources({"CPT": cpt}, pcs_file=pcs).files == (("ICD10PCS", pcs), ("CPT", cpt))
    with pytest.raises(TypeError, match="toy_file"):
        CodeSetSources(toy_file=pcs)


def test_a_registered_system_codes_a_note(tmp_path, monkeypatch, cm_data_dir):
    """One entry: the settings find its file, the catalogue loads it, a mention links to it and the
    default model suggests it in the care settings it applies to; unregistered, it is gone again.

    The pipeline is built over the toy codes alone (over ICD-10-CM too, its term index takes ~30 s)."""
    from codesuggest.config import Settings
    from codesuggest.models.default import DictionaryRanker
    from codesuggest.models.suggester import ModelSuggester
    from codesuggest.pipeline.nlp import Analyzer

    toy_file = tmp_path / "toy-codes.txt"
    toy_file.write_text(TOY_CODES, encoding="utf-8")
    monkeypatch.setenv("CODESUGGEST_TOY_FILE", str(toy_file))
    with registered(TOY) as toy:
        assert CodeSystem.parse("toys") is toy and normalize_code("ty", "t 02") == "T02"
        with pytest.raises(InvalidCode, match="a toy code"):
            normalize_code(toy, "T1")
        sources = Settings(data_dir=tmp_path).code_set_sources()
        assert sources.file_of("TOY") == toy_file
        loaded = CodeCatalog.load(sources, cm_data_dir / "cache")  # the packaged ICD-10-CM's cache: shared
        assert [c.code for c in loaded.codes_of(toy)] == ["T01", "T02", "T03"]
        assert loaded.versions["TOY"].startswith("TOY file toy-codes.txt:") and "ICD10CM" in loaded.versions
        catalog = CodeCatalog(loaded.codes_of(toy), {"TOY": loaded.versions["TOY"]})

        analyzer = Analyzer.from_catalog(catalog, tmp_path / "cache")
        note = "Inpatient stay. The gizmo recalibration was done on day two without complications."
        (analysis,) = analyzer.analyze_many([note])
        linked = [m for m in analysis.mentions if any(c.system == "TOY" for c in m.candidates)]
        assert linked and linked[0].kind == "procedure"
        assert ("TOY", "T02") in {(c.system, c.code) for c in linked[0].candidates}

        suggester = ModelSuggester(analyzer, DictionaryRanker().fit(catalog=catalog), "test", catalog=catalog)
        inpatient = suggester.suggest(note, setting="inpatient")
        toy_codes = [s for s in inpatient if s.system == "TOY"]
        assert toy_codes[0].code == "T02" and toy_codes[0].description == "Gizmo recalibration"
        assert note[toy_codes[0].evidence[0].start:toy_codes[0].evidence[0].end].lower().startswith("gizmo")
        assert not [s for s in suggester.suggest(note, setting="outpatient") if s.system == "TOY"]
    with pytest.raises(ValueError):
        CodeSystem.parse("TOY")
    assert "TOY" not in {spec.name for spec in system_specs()}
    assert Settings(data_dir=tmp_path).code_set_sources().file_of("TOY") is None


def test_settings_and_the_cli_name_files_by_system(tmp_path, monkeypatch):
    """``codes_files`` (``--codes-file SYSTEM=PATH``) wins over a system's own setting; an unknown system is refused."""
    from typer.testing import CliRunner

    from codesuggest.cli import app
    from codesuggest.config import Settings

    monkeypatch.setenv("CODESUGGEST_PCS_FILE", str(tmp_path / "env-pcs.txt"))
    assert Settings(data_dir=tmp_path).code_files() == {"ICD10PCS": tmp_path / "env-pcs.txt"}
    chosen = Settings(data_dir=tmp_path, codes_files={"pcs": tmp_path / "pcs.txt", "cpt": tmp_path / "cpt.csv"})
    assert chosen.code_set_sources().files == (("ICD10PCS", tmp_path / "pcs.txt"), ("CPT", tmp_path / "cpt.csv"))
    result = CliRunner().invoke(app, ["codesets", "build", "--codes-file", "FOO=x.txt"])
    assert result.exit_code == 2 and "unknown code system 'FOO'" in result.output


def test_pickles_from_when_code_system_was_an_enum_load():
    """Models and caches saved while CodeSystem was an Enum (pickle protocol 4, from that code) load as the registered systems."""
    from codesuggest.codesets import Code

    saved = (
        b"\x80\x04\x95\x92\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x1ccodesuggest.codesets.records\x94\x8c\nCodeSystem"
        b"\x94\x93\x94\x8c\x03CPT\x94\x85\x94R\x94h\x01\x8c\x04Code\x94\x93\x94)\x81\x94]\x94(h\x03\x8c\x08ICD10PCS\x94"
        b"\x85\x94R\x94\x8c\x07BW03ZZZ\x94\x8c\x1aPlain radiography of chest\x94\x88N))))))))ebe."
    )
    system, code = pickle.loads(saved)
    assert system is CodeSystem.CPT
    assert code == Code(CodeSystem.ICD10PCS, "BW03ZZZ", "Plain radiography of chest") and code.system is CodeSystem.ICD10PCS
