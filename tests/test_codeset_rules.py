"""Code-set quality checks (codesuggest.codesets.rules) on real ICD-10-CM codes, and ``codesuggest check``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codesuggest.codesets import CodeCatalog, CodeSystem
from codesuggest.codesets.records import Code
from codesuggest.codesets.references import parse_references
from codesuggest.codesets.rules import RULES, Finding, check_codes, parse_codes


@pytest.fixture(scope="session")
def catalog() -> CodeCatalog:
    return CodeCatalog.load()


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def cm(*codes: str) -> list[tuple[str, str]]:
    return [("ICD10CM", c) for c in codes]


# -- note references ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "inside", "outside"),
    [
        ("type 1 diabetes mellitus (E10.-)", ["E10", "E10.9", "E10.3591"], ["E11.9", "E01.0"]),
        ("stage (N18.1-N18.6)", ["N18.1", "N18.30", "N18.32", "N18.6"], ["N18.9", "N17.9", "N19"]),
        ("cerebrovascular (I60-I69)", ["I60.00", "I63.9", "I69.998"], ["I59.9", "I70.0"]),
        ("(H35.0-)", ["H35.0", "H35.00", "H35.033"], ["H35.1", "H35.10"]),
        ("melanoma and skin (C43-C44)", ["C43.9", "C4A.9", "C44.90"], ["C45.0", "C41.9"]),  # tabular order
        ("diabetes (E08-E13 with .42)", ["E08.42", "E11.42", "E13.42"], ["E11.4", "E11.43", "E14.42"]),
        ("(T36-T65 with fifth or sixth character 1-4)", ["T36.0X1A", "T42.4X2A"], ["T36.0X5A", "T66.XXXA"]),
        ("(S02.- with 7th character B)", ["S02.0XXB"], ["S02.0XXA", "S02.0"]),
        ("(S12.0--S12.6.-)", ["S12.000A", "S12.691A"], ["S12.8XXA"]),
    ],
)
def test_note_references_parse_into_precise_ranges(note: str, inside: list[str], outside: list[str]) -> None:
    refs = parse_references(note)
    assert refs and all(r.exact for r in refs)
    for code in inside:
        assert any(r.covers(code) for r in refs), code
    for code in outside:
        assert not any(r.covers(code) for r in refs), code


def test_unreadable_qualifier_is_marked_inexact() -> None:
    (ref,) = parse_references("open wound with fracture (S52.- with open fracture 7th character)")
    assert not ref.exact


# -- rules ---------------------------------------------------------------------------


def test_registry_names_every_rule() -> None:
    assert set(RULES) == {
        "unknown_code", "not_billable", "seventh_character", "excludes1_conflict",
        "companion_code", "redundant_specificity",
    }


def test_diabetic_ckd_with_its_stage_is_clean(catalog: CodeCatalog) -> None:
    assert check_codes(cm("E11.22", "N18.30"), catalog) == []


def test_n18_3_is_a_header_since_the_stage_3a_3b_split(catalog: CodeCatalog) -> None:
    # N18.3 was billable until FY2021; it now satisfies E11.22's note but is not billable itself
    findings = check_codes(cm("E11.22", "N18.3"), catalog)
    assert [(f.rule, f.codes) for f in findings] == [("not_billable", ("N18.3",))]
    assert findings[0].suggestions[:3] == ("N18.30", "N18.31", "N18.32")


def test_not_billable_category_suggests_billable_children(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("E11"), catalog)
    assert (finding.rule, finding.severity, finding.codes) == ("not_billable", "error", ("E11",))
    assert "E11.9" in finding.suggestions
    assert all(catalog.get("ICD10CM", c).billable and c.startswith("E11.") for c in finding.suggestions)


def test_not_billable_subcategory_prefers_codes_the_text_supports(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("E11.2"), catalog, note_text="diabetic nephropathy")
    assert finding.rule == "not_billable"
    assert finding.suggestions[0] == "E11.21"  # Type 2 diabetes mellitus with diabetic nephropathy


def test_not_billable_subcategory_counts_no_filler_word_of_the_note(catalog: CodeCatalog) -> None:
    """Every note says "with": N30.01 "Acute cystitis with hematuria" gets no support from it."""
    (finding,) = check_codes(cm("N30.0"), catalog, note_text="34 yo F with dysuria. Impression: acute cystitis.")
    assert finding.suggestions[0] == "N30.00"
    (finding,) = check_codes(cm("N30.0"), catalog, note_text="Acute cystitis with gross hematuria.")
    assert finding.suggestions[0] == "N30.01"
    (finding,) = check_codes(cm("N30.0"), catalog, note_text="Acute cystitis with dysuria, no hematuria.")
    assert finding.suggestions[0] == "N30.00"


def test_not_billable_subcategory_reads_a_word_by_its_stem(catalog: CodeCatalog) -> None:
    """"tubular adenomas removed" is a history of adenomatous polyps (Z86.0101), not "unspecified"."""
    text = "Personal history of colon polyps (tubular adenomas removed 2021)."
    (finding,) = check_codes(cm("Z86.010"), catalog, note_text=text)
    assert finding.suggestions[0] == "Z86.0101"


@pytest.mark.parametrize("text, first", [
    ("2 cm laceration volar L index finger", "S61.211"),  # left index finger
    ("laceration of rt index finger", "S61.210"),  # right
    ("cut L index finger", "S61.211"),
])
def test_not_billable_subcategory_reads_an_abbreviated_side_before_the_site(catalog, text, first) -> None:
    (finding,) = check_codes(cm("S61.21"), catalog, note_text=text)
    assert finding.suggestions[0].startswith(first)


def test_a_lone_letter_is_no_side(catalog) -> None:
    """"r/o" (rule out) and "2 L of saline" (litres) say no side: a left index finger stays left."""
    def first(text: str) -> str:
        return check_codes(cm("S61.21"), catalog, note_text=text)[0].suggestions[0]
    assert first("r/o tendon injury. Laceration of left index finger, 2 L of saline").startswith("S61.211")
    assert first("Laceration of index finger, 2 L of saline") == first("Laceration of index finger")


def test_seventh_character_lists_the_characters_and_meanings(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("S72.001"), catalog)
    assert finding.rule == "seventh_character" and finding.severity == "error"
    assert {"S72.001A", "S72.001D", "S72.001S"} <= set(finding.suggestions)
    assert "A = initial encounter for closed fracture" in finding.message
    assert "S = sequela" in finding.message and "defined at S72" in finding.message


@pytest.mark.parametrize("code", ["S02.0", "s02.0xx", "S020X"])
def test_seventh_character_with_placeholder_x(catalog: CodeCatalog, code: str) -> None:
    (finding,) = check_codes(cm(code), catalog)
    assert finding.rule == "seventh_character"
    assert finding.suggestions[0] == "S02.0XXA"
    assert "S02.0XXS" in finding.suggestions


def test_fracture_category_without_subcategory_is_not_billable(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("S72.0"), catalog)
    assert finding.rule == "not_billable"
    assert all(len(c.replace(".", "")) == 7 for c in finding.suggestions)


def test_excludes1_conflict_names_both_codes_and_the_note(catalog: CodeCatalog) -> None:
    (finding,) = by_rule(check_codes(cm("E10.9", "E11.9"), catalog), "excludes1_conflict")
    assert set(finding.codes) == {"E10.9", "E11.9"}
    assert "diabetes mellitus (E1" in finding.message and finding.severity == "error"


def test_excludes1_with_qualifier_and_inherited_from_category(catalog: CodeCatalog) -> None:
    # G63's Excludes1: diabetes mellitus (E08-E13 with .42)
    assert by_rule(check_codes(cm("G63", "E11.42"), catalog), "excludes1_conflict")
    assert not by_rule(check_codes(cm("G63", "E85.4"), catalog), "excludes1_conflict")


def test_excludes1_from_the_chapter(catalog: CodeCatalog) -> None:
    # chapter 4 (E00-E89) Excludes1: transitory endocrine and metabolic disorders specific to newborn (P70-P74)
    (finding,) = by_rule(check_codes(cm("E11.9", "P74.1"), catalog), "excludes1_conflict")
    assert "P70-P74" in finding.message and "note at 4" in finding.message


def test_companion_code_names_the_expected_range(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("E11.22"), catalog)
    assert (finding.rule, finding.codes) == ("companion_code", ("E11.22",))
    assert "N18.1-N18.6" in finding.message and finding.suggestions == ()


def test_companion_code_suggests_what_the_text_supports(catalog: CodeCatalog) -> None:
    findings = check_codes(cm("E11.22"), catalog, note_text="Type 2 diabetes, CKD stage 3. On insulin.")
    stage = [f for f in findings if "N18.1-N18.6" in f.message]
    assert stage and stage[0].suggestions == ("N18.30",)
    # E11's note (control using insulin) is conditional: it appears only because the text mentions insulin
    control = [f for f in findings if "Z79.4" in f.message]
    assert control and control[0].suggestions == ("Z79.4",)
    assert check_codes(cm("E11.22", "N18.30"), catalog, note_text="no drugs") == []


def test_companion_candidates_are_cached_per_catalogue(catalog: CodeCatalog) -> None:
    """The codes an instruction names are cached per catalogue: another catalogue's codes count."""
    text = "Type 2 diabetes, CKD stage 3. On insulin."

    def stage(cat: CodeCatalog) -> tuple[str, ...]:
        (finding,) = [f for f in check_codes(cm("E11.22"), cat, note_text=text) if "N18.1-N18.6" in f.message]
        return finding.suggestions

    assert stage(catalog) == ("N18.30",)
    without = CodeCatalog([c for c in catalog if c.code != "N18.30"], catalog.versions)
    assert stage(without) == ()
    assert stage(catalog) == ("N18.30",)


def test_manifestation_code_needs_its_underlying_disease(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("G63"), catalog)
    assert finding.rule == "companion_code" and finding.severity == "error"
    assert "code first underlying disease" in finding.message
    assert not by_rule(check_codes(cm("G63", "E85.4"), catalog), "companion_code")


def test_unknown_code_names_the_version(catalog: CodeCatalog) -> None:
    (finding,) = check_codes(cm("Z99.99"), catalog)
    assert finding.rule == "unknown_code" and finding.severity == "error"
    assert catalog.versions["ICD10CM"] in finding.message


@pytest.mark.parametrize("raw", ["", "hello", "E11..22x", "123", None])
def test_invalid_strings_are_findings_not_exceptions(catalog: CodeCatalog, raw) -> None:
    (finding,) = check_codes([("ICD10CM", raw)], catalog)
    assert finding.rule == "unknown_code"


def test_unknown_system_is_a_finding(catalog: CodeCatalog) -> None:
    (finding,) = check_codes([("SNOMED", "44054006")], catalog)
    assert finding.rule == "unknown_code" and "code system" in finding.message


def test_redundant_specificity(catalog: CodeCatalog) -> None:
    findings = check_codes(cm("E11", "e11.9"), catalog)
    (finding,) = by_rule(findings, "redundant_specificity")
    assert finding.codes == ("E11", "E11.9") and finding.suggestions == ("E11.9",)
    # the header is also reported, pointing at the code already in the set
    assert by_rule(findings, "not_billable")[0].suggestions[0] == "E11.9"


def test_rules_can_be_chosen_by_name(catalog: CodeCatalog) -> None:
    assert check_codes(cm("E11", "E11.9"), catalog, rules=["redundant_specificity"])[0].rule == "redundant_specificity"
    assert check_codes(cm("E11"), catalog, rules=[]) == []
    with pytest.raises(ValueError, match="unknown rule"):
        check_codes(cm("E11"), catalog, rules=["no_such_rule"])


def test_parse_codes_splits_any_separator() -> None:
    assert parse_codes("E11.22, e11\nS72.001;Z99.99") == cm("E11.22", "e11", "S72.001", "Z99.99")


# -- ICD-10-PCS ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def pcs_catalog() -> CodeCatalog:
    codes = [
        Code(CodeSystem.ICD10PCS, "0DT60ZZ", "Resection of Stomach, Open Approach"),
        Code(CodeSystem.ICD10PCS, "0DT64ZZ", "Resection of Stomach, Percutaneous Endoscopic Approach"),
    ]
    return CodeCatalog(codes, {"ICD10PCS": "test PCS"})


def test_pcs_prefix_is_not_billable(pcs_catalog: CodeCatalog) -> None:
    (finding,) = check_codes([("ICD10PCS", "0dt6")], pcs_catalog)
    assert finding.rule == "not_billable" and finding.suggestions == ("0DT60ZZ", "0DT64ZZ")


def test_pcs_unknown_code(pcs_catalog: CodeCatalog) -> None:
    (finding,) = check_codes([("PCS", "0DT67ZZ")], pcs_catalog)
    assert finding.rule == "unknown_code" and "test PCS" in finding.message
    (finding,) = check_codes([("PCS", "0QT6")], pcs_catalog)
    assert finding.rule == "unknown_code"


def test_pcs_with_no_code_file_loaded_is_a_warning(catalog: CodeCatalog) -> None:
    if "ICD10PCS" in catalog.versions:
        pytest.skip("PCS is loaded in this environment")
    (finding,) = check_codes([("ICD10PCS", "0DT60ZZ")], catalog)
    assert finding.severity == "warning" and "not loaded" in finding.message


# -- CLI -----------------------------------------------------------------------------


@pytest.fixture()
def runner(catalog: CodeCatalog, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(CodeCatalog, "load", classmethod(lambda cls, sources=None, cache_dir=None: catalog))
    return CliRunner()


def test_cli_check_reports_findings_and_exits_1(runner: CliRunner) -> None:
    from codesuggest.cli import app

    result = runner.invoke(app, ["check", "--codes", "E11.22,E11,S72.001"])
    assert result.exit_code == 1, result.output
    assert "not_billable" in result.output and "seventh_character" in result.output
    assert "companion_code" in result.output


def test_cli_check_clean_set_exits_0(runner: CliRunner, tmp_path) -> None:
    from codesuggest.cli import app

    codes = tmp_path / "codes.txt"
    codes.write_text("E11.22\nN18.30\n")
    result = runner.invoke(app, ["check", "--file", str(codes)])
    assert result.exit_code == 0, result.output


def test_cli_check_json_and_note_text(runner: CliRunner, tmp_path) -> None:
    from codesuggest.cli import app

    note = tmp_path / "note.txt"
    note.write_text("Type 2 diabetes with CKD stage 3")
    result = runner.invoke(app, ["check", "--codes", "E11.22", "--text", str(note), "--json"])
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "companion_code" and finding["suggestions"] == ["N18.30"]


@pytest.mark.parametrize(
    "args",
    [["check"], ["check", "--file", "/no/such/file.txt"], ["check", "--codes", "E11", "--system", "SNOMED"],
     ["check", "--codes", "E11", "--rule", "nope"]],
)
def test_cli_check_user_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    from codesuggest.cli import app

    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output


def test_single_category_blocks_keep_their_category(catalog: CodeCatalog) -> None:
    # B20, C50, T14 ... name both a block and its only category; the category is a code
    assert catalog.get("ICD10CM", "B20").billable
    assert [a.code for a in catalog.ancestors(catalog.get("ICD10CM", "C50.911"))][-1] == "C50"
    (finding,) = check_codes(cm("T14.8"), catalog)
    assert finding.rule == "seventh_character" and finding.suggestions == ("T14.8XXA", "T14.8XXD", "T14.8XXS")


@pytest.mark.parametrize("item", [("ICD10CM",), 42, ("ICD10CM", "E11.9", "extra"), (None, None)])
def test_malformed_items_are_findings_not_exceptions(catalog: CodeCatalog, item) -> None:
    assert [f.rule for f in check_codes([item], catalog)] == ["unknown_code"]
