"""Code records, normalisation, the code files users bring, and the catalogue."""

from __future__ import annotations

import gzip

import pytest

from codesuggest.codesets import (
    CodeCatalog,
    CodeFileError,
    CodeSetSources,
    CodeSystem,
    InvalidCode,
    normalize_code,
    read_codes_file,
    read_cpt_csv,
)


@pytest.mark.parametrize("raw", ["e11.22", "E1122", "E11.22", " e11.22 "])
def test_icd10cm_spellings_are_one_code(raw):
    assert normalize_code(CodeSystem.ICD10CM, raw) == "E11.22"


def test_pcs_keeps_prefixes_and_upper_cases():
    assert normalize_code("pcs", "bw03zzz") == "BW03ZZZ"
    assert normalize_code("ICD10PCS", "bw03") == "BW03"  # CodiEsp's 4-character prefixes stay prefixes


@pytest.mark.parametrize(
    ("system", "raw"),
    [("ICD10CM", "11.22"), ("ICD10CM", "E"), ("ICD10CM", "E1_22"), ("ICD10PCS", "BW0IZZZ"), ("ICD10PCS", "BW03ZZZZ"), ("CPT", "9921")],
)
def test_invalid_codes_are_refused(system, raw):
    with pytest.raises(InvalidCode):
        normalize_code(system, raw)


def test_system_spellings():
    assert CodeSystem.parse("ICD-10-CM") is CodeSystem.ICD10CM
    assert CodeSystem.parse("p") is CodeSystem.ICD10PCS
    with pytest.raises(ValueError, match="unknown code system"):
        CodeSystem.parse("SNOMED")


def test_pcs_codes_file_reports_malformed_lines(tmp_path):
    path = tmp_path / "pcs.txt.gz"
    lines = [
        "BW03ZZZ Plain Radiography of Chest",
        "not a code line",
        "BW0IZZZ Letter I is not used in PCS",
        "BW03 a prefix is not a code of the file",
        "BW03ZZZ Plain Radiography of Chest",
        "BT41ZZZ Ultrasonography of Right Kidney",
    ]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    codes, report = read_codes_file(path, CodeSystem.ICD10PCS)
    assert [c.code for c in codes] == ["BW03ZZZ", "BT41ZZZ"]
    assert [line for line, _ in report.skipped] == [2, 3, 4, 5]
    assert "duplicate" in report.skipped[-1][1]


def test_a_codes_file_without_any_code_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("nothing here\n")
    with pytest.raises(CodeFileError, match="no valid ICD10PCS code"):
        read_codes_file(path, CodeSystem.ICD10PCS)
    with pytest.raises(CodeFileError, match="no such file"):
        read_codes_file(tmp_path / "missing.txt", CodeSystem.ICD10PCS)


def test_cpt_csv_with_made_up_descriptions(tmp_path):
    # Made-up descriptions: real CPT descriptors are the AMA's and are never shipped here.
    path = tmp_path / "cpt.csv"
    path.write_text("code,description\n99999,Example office visit\n0001T,Example category III\nabc,broken\n99999,duplicate\n")
    codes, report = read_cpt_csv(path)
    assert [(c.code, c.description) for c in codes] == [("99999", "Example office visit"), ("0001T", "Example category III")]
    assert [line for line, _ in report.skipped] == [4, 5]
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("cpt;desc\n")
    with pytest.raises(CodeFileError, match="header"):
        read_cpt_csv(bad_header)


def test_cdc_codes_file_loads_as_icd10cm(cdc_cm_file):
    codes, report = read_codes_file(cdc_cm_file, CodeSystem.ICD10CM)
    assert len(codes) == 74_719 and not report.skipped
    assert {c.code for c in codes} >= {"E11.22", "I10", "S72.001A"}


@pytest.fixture(scope="module")
def catalog(cm_catalog):
    return cm_catalog


def test_catalog_from_the_package_has_notes_and_hierarchy(catalog):
    e1122 = catalog.get("icd10cm", "e1122")
    assert e1122.description == "Type 2 diabetes mellitus with diabetic chronic kidney disease"
    assert e1122.billable and e1122.use_additional
    assert [a.code for a in catalog.ancestors(e1122)] == ["E11.2", "E11"]
    assert not catalog.get("ICD10CM", "E11").billable
    assert catalog.get("ICD10CM", "Z99.999") is None and catalog.get("ICD10CM", "nonsense") is None
    assert catalog.versions["ICD10CM"].startswith("ICD10CM-2026")
    assert sum(1 for c in catalog.codes_of(CodeSystem.ICD10CM) if c.billable) > 74_000


def test_catalog_type_ahead_by_code_prefix_and_words(catalog):
    assert [c.code for c in catalog.search("e112")][:3] == ["E11.21", "E11.22", "E11.29"]
    assert "E11.22" in [c.code for c in catalog.search("type 2 diab kid")]
    assert catalog.search("   ") == []


def test_catalog_with_pcs_file_records_its_version(pcs_file):
    catalog = CodeCatalog.load(CodeSetSources(pcs_file=pcs_file))
    assert catalog.get("ICD10PCS", "bw03zzz").description == "Plain Radiography of Chest"
    assert catalog.versions["ICD10PCS"].startswith("ICD10PCS file icd10pcs-codes-2026.txt.gz:")
    assert len(catalog.with_prefix(CodeSystem.ICD10PCS, "BW03")) >= 1


def test_packaged_icd10cm_is_cached_and_rebuilt_when_unreadable(tmp_path, monkeypatch, caplog):
    from codesuggest.codesets import icd10cm

    built = CodeCatalog.load(cache_dir=tmp_path)
    cached = list(tmp_path.glob("icd10cm-*.pickle"))
    assert len(cached) == 1

    def no_package():
        raise AssertionError("the package was read although the cache holds its codes")

    monkeypatch.setattr(icd10cm, "_from_package", no_package)
    again = CodeCatalog.load(cache_dir=tmp_path)
    assert list(again) == list(built) and again.versions == built.versions
    assert again.get("ICD10CM", "E11.22").excludes1 == built.get("ICD10CM", "E11.22").excludes1
    # the notes of blocks and chapters (not codes) come from the cache too: E08-E13's Excludes1, say
    assert again.block_notes.of("E11", "excludes1") == built.block_notes.of("E11", "excludes1") != ()
    assert {owner for owner, _ in built.block_notes.of("E11", "excludes1")} <= {"E08-E13", "4"}
    monkeypatch.undo()

    cached[0].write_bytes(b"not a pickle")
    with caplog.at_level("WARNING"):
        rebuilt = CodeCatalog.load(cache_dir=tmp_path)
    assert list(rebuilt) == list(built) and "rebuilding" in caplog.text
    assert cached[0].read_bytes() != b"not a pickle"


def test_a_read_only_cache_folder_is_not_an_error(tmp_path, monkeypatch):
    from codesuggest import disk_cache

    def refuse(obj, path):
        raise PermissionError(13, "read-only", str(path))

    monkeypatch.setattr(disk_cache, "dump", refuse)
    assert CodeCatalog.load(cache_dir=tmp_path).get("ICD10CM", "I10") is not None
