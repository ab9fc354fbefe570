"""Successors of retired codes: each method on toy releases, the conversion table's precedence,
``codesuggest codesets successors``, and (slow) the coverage on the real FY2025 -> FY2026 update."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codesuggest.cli import app
from codesuggest.codesets import CodeSystem
from codesuggest.codesets.releases import Release, load_release
from codesuggest.codesets.successors import (
    ConversionTableError, SuccessorMap, map_retired, read_conversion_table,
)

from test_releases import _older_release, write_codes

CM, PCS = CodeSystem.ICD10CM, CodeSystem.ICD10PCS
runner = CliRunner()


def release(codes: dict[str, str], system: CodeSystem = CM, label: str = "r") -> Release:
    from codesuggest.codesets import normalize_code

    return Release(label, {system: {normalize_code(system, c): t for c, t in codes.items()}})


OLD = release({
    "E7801": "Familial hypercholesterolemia",
    "T407X1A": "Poisoning by cannabis (derivatives), accidental (unintentional), initial encounter",
    "C884": "Extranodal marginal zone B-cell lymphoma",
    "K5730": "Diverticulosis of large intestine without perforation or abscess without bleeding",
    "M2110": "Varus deformity of hip, unspecified",
    "M21111": "Varus deformity of right elbow",
    "R6889": "Chronic fatigue syndrome of the left side",
    "Z9989": "Dependence on a device that was withdrawn",
}, label="A")
NEW = release({
    "E78010": "Familial hypercholesterolemia, heterozygous",
    "E78019": "Familial hypercholesterolemia, unspecified",
    "T40711A": "Poisoning by cannabis, accidental (unintentional), initial encounter",
    "T40721A": "Poisoning by synthetic cannabinoids, accidental (unintentional), initial encounter",
    "C8840": "Extranodal marginal zone B-cell lymphoma, not having achieved remission",
    "C8841": "Extranodal marginal zone B-cell lymphoma, in remission",
    "K5799": "Diverticulosis of large intestine without perforation or abscess without bleeding",
    "M211": "Varus deformity, not elsewhere classified",
    "R6871": "Chronic fatigue syndrome, left",
    "R6883": "Chills (without fever)",
    "Z9981": "Dependence on supplemental oxygen",  # chapter 21 is in both releases (else left out)
}, label="B")


def test_each_method_with_its_confidence():
    m = map_retired(OLD, NEW)
    got = {code: (r.method, [(s.code, s.confidence) for s in r.successors]) for (_, code), r in m.retired.items()}
    assert got["E78.01"] == ("expanded", [("E78.019", 0.9), ("E78.010", 0.5)])  # the unspecified child first
    assert got["T40.7X1A"] == ("expanded", [("T40.711A", 0.7), ("T40.721A", 0.5)])  # placeholders filled in
    assert got["C88.4"][1][0] == ("C88.40", 0.9)  # not having achieved remission: the default
    assert got["K57.30"] == ("same title", [("K57.99", 0.95)])
    assert got["M21.10"] == ("new parent", [("M21.1", 0.85)])
    assert got["M21.111"] == ("new parent", [("M21.1", 0.85)])
    method, successors = got["R68.89"]
    assert method == "title similarity" and successors[0][0] == "R68.71" and 0.35 < successors[0][1] < 0.7
    assert got["Z99.89"] == ("unmapped", [])
    cov = m.coverage()["ICD10CM"]
    assert (cov["deleted"], cov["mapped"], cov["by_method"]["unmapped"]) == (8, 7, 1)


def test_title_similarity_needs_enough_shared_words():
    old = release({"R6889": "Chronic fatigue syndrome of the left side"})
    new = release({"R6883": "Chills (without fever)", "R6884": "Jaw pain"})
    assert map_retired(old, new).retired[("ICD10CM", "R68.89")].successors == []


def test_pcs_codes_map_by_title_within_their_body_part():
    old = release({"0016070": "Bypass Cerebral Ventricle to Nasopharynx, Open Approach"}, PCS)
    new = release({"0016072": "Bypass Cerebral Ventricle to Nasopharynx, Open Approach", "0W9G0ZZ": "Drainage"}, PCS)
    item = map_retired(old, new).get(PCS, "0016070")
    assert (item.method, item.primary.code) == ("same title", "0016072")


CONVERSION = """ICD-10-CM Conversion Table, FY2026
Current Code Assignment\tEffective Date\tPrevious Code(s) Assignment
E78.011\t2026\tE78.01
T40.711A    2026    T40.7X1A, Z99.89 and K57.30
X99.99\t2026\tNone
"""


def test_conversion_table_rows_take_precedence(tmp_path):
    path = tmp_path / "conversion_table.txt"
    path.write_text(CONVERSION)
    table = read_conversion_table(path)
    assert table[("ICD10CM", "E78.01")] == ["E78.011"]
    assert table[("ICD10CM", "Z99.89")] == ["T40.711A"]
    new = release({**{c: t for c, t in NEW.of(CM).items()}, "E78.011": "Homozygous familial hypercholesterolemia"})
    m = map_retired(OLD, new, table)
    assert [(s.code, s.method, s.confidence) for s in m.get(CM, "E78.01").successors] == [("E78.011", "conversion table", 1.0)]
    assert m.primary(CM, "Z99.89") == "T40.711A"  # a row maps what nothing else could
    assert m.get(CM, "C88.4").method == "expanded"  # no row: the hierarchy still applies


def test_conversion_table_rows_for_codes_not_in_the_new_release_are_ignored(tmp_path):
    path = tmp_path / "conversion.txt"
    path.write_text("Current Code\tEffective\tPrevious Code(s)\nE78.999\t2026\tE78.01\n")
    assert map_retired(OLD, NEW, read_conversion_table(path)).get(CM, "E78.01").method == "expanded"


def test_a_file_that_is_no_conversion_table_is_refused(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("code\tdescription\nE11.9\tdiabetes\n")
    with pytest.raises(ConversionTableError, match="not a conversion table"):
        read_conversion_table(path)
    with pytest.raises(ConversionTableError, match="no such file"):
        read_conversion_table(tmp_path / "missing.txt")


def test_the_map_round_trips_through_json():
    m = map_retired(OLD, NEW)
    again = SuccessorMap.from_dict(json.loads(m.to_json()))
    assert again.retired == m.retired and again.coverage() == m.coverage()


def test_cli_successors_text_json_and_errors(tmp_path):
    old = write_codes(tmp_path / "old-cm.txt", {"E7801": "Familial hypercholesterolemia", "I10": "Essential (primary) hypertension"})
    new = write_codes(tmp_path / "new-cm.txt", {"E78019": "Familial hypercholesterolemia, unspecified", "I10": "Essential (primary) hypertension"})
    result = runner.invoke(app, ["codesets", "successors", "--from", str(old), "--to", str(new), "--out", str(tmp_path / "map.json")])
    assert result.exit_code == 0, result.output
    assert "ICD10CM: 1 of 1 deleted codes mapped (100%): expanded 1" in result.output
    assert json.loads((tmp_path / "map.json").read_text())["retired"][0]["successors"][0]["code"] == "E78.019"
    bad = runner.invoke(app, ["codesets", "successors", "--from", str(old), "--to", str(new), "--conversion-table", str(old)])
    assert bad.exit_code == 2 and "not a conversion table" in bad.output and bad.output.count("\n") == 1


@pytest.mark.slow
def test_fy2025_to_fy2026_every_deleted_cm_code_gets_a_successor(cdc_cm_file):
    m = map_retired(load_release(_older_release(), CM), load_release(cdc_cm_file))
    cov = m.coverage()["ICD10CM"]
    assert (cov["deleted"], cov["mapped"]) == (28, 28)
    assert m.primary(CM, "G35") == "G35.D"  # Multiple sclerosis, unspecified
    assert m.primary(CM, "R10.2") == "R10.20"  # Pelvic and perineal pain unspecified side
    assert m.primary(CM, "T78.07XA") == "T78.079A"
