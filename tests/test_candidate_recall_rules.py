"""Candidate-generation rules added for recall on CodiEsp: wordings of the machine-translated
notes, lab and Spanish abbreviations, and the widening of matched codes (ICD-10-CM category,
ICD-10-PCS roots) under the note's cap."""

from __future__ import annotations

import re

import pytest
import simple_icd_10_cm as cm

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.pipeline.components import expansion_tables
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.pipeline.terminology import curated_aliases


@pytest.fixture(scope="session")
def full_analyzer(pcs_file, request):
    """ICD-10-CM + ICD-10-PCS with approximate search (the same cached indexes as test_pipeline)."""
    cache = request.config.cache.mkdir("codesuggest-index")
    return Analyzer.from_catalog(CodeCatalog.load(CodeSetSources(pcs_file=pcs_file)), cache, approximate=True)


def all_codes(analysis, system=None):
    return {c.code for m in analysis.mentions for c in m.candidates if system is None or c.system == system}


def test_expansion_tables_group_categories_and_pcs_roots():
    descriptions = {
        ("ICD10CM", "R16"): "",
        ("ICD10CM", "R16.0"): "",
        ("ICD10CM", "R16.1"): "",
        ("ICD10CM", "R16.2"): "",
        ("ICD10PCS", "BW200ZZ"): "",
        ("ICD10PCS", "BW20ZZZ"): "",
        ("ICD10PCS", "BW24ZZZ"): "",
        ("ICD10PCS", "BW241ZZ"): "",
        ("ICD10PCS", "BT40ZZZ"): "",
    }
    categories, roots = expansion_tables(descriptions, max_category_codes=100)
    assert categories["R16"] == ("R16", "R16.0", "R16.1", "R16.2")
    # one fallback code per four-character root, the one with the most "Z"
    assert roots["BW2"] == (("BW20", "BW20ZZZ"), ("BW24", "BW24ZZZ"))
    assert roots["BT4"] == (("BT40", "BT40ZZZ"),)
    categories, _ = expansion_tables(descriptions, max_category_codes=3)
    assert "R16" not in categories  # too big a category is not widened


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("Laboratory tests showed thrombopenia.", "D69.6"),  # Spanish "trombopenia"
        ("She had a loss of weight and pallor.", "R63.4"),
        ("Hyperuricemia treated with allopurinol.", "E79.0"),  # the tabular wording is much longer
        ("Elevated transaminases were found.", "R74.0"),
        ("Past history: HTA and IRC.", "N18.9"),  # Spanish abbreviations kept by the translation
    ],
)
def test_translated_and_coded_wordings(cm_analyzer, sentence, code):
    assert code in all_codes(cm_analyzer.analyze(sentence))


def test_category_siblings_are_candidates_below_the_matched_code(cm_analyzer):
    analysis = cm_analyzer.analyze("Physical examination: splenomegaly.")
    scores = {c.code: c.similarity for m in analysis.mentions for c in m.candidates}
    assert scores["R16.1"] == 1.0
    assert "R16.2" in scores and scores["R16.2"] < 1.0


@pytest.mark.slow
def test_pcs_roots_widen_an_imaging_match_when_turned_on(full_analyzer, monkeypatch):
    note = "A thoracoabdominal CT scan showed no metastases."
    default = all_codes(full_analyzer.analyze(note), "ICD10PCS")
    assert "BW24ZZZ" in default
    assert not any(code.startswith(("BW21", "BW25")) for code in default)  # off by default (BENCHMARKS)
    monkeypatch.setattr(full_analyzer.nlp.get_pipe("codesuggest_mentions"), "pcs_expansion_factor", 0.38)
    pcs = all_codes(full_analyzer.analyze(note), "ICD10PCS")
    # other regions of the same CT section come along (the coder may pick abdomen and pelvis)
    assert any(code.startswith("BW21") for code in pcs) and any(code.startswith("BW25") for code in pcs)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("Colonoscopy was normal.", "0DJD8ZZ"),
        ("Gastroscopy showed esophageal varices.", "0DJ68ZZ"),
        ("TPN was started.", "3E0436Z"),
        ("The eye fundus was normal.", "08J0XZZ"),
        ("Scrotal ultrasound showed a mass.", "BV44ZZZ"),
    ],
)
def test_procedure_wordings(full_analyzer, sentence, code):
    assert code in all_codes(full_analyzer.analyze(sentence), "ICD10PCS")


@pytest.mark.slow
def test_the_note_cap_holds_with_widening(full_analyzer, codiesp_dir):
    text = next((codiesp_dir / "train" / "text_files_en").glob("*.txt")).read_text(encoding="utf-8")
    analysis = full_analyzer.analyze(text * 3)
    assert 0 < len({(c.system, c.code) for m in analysis.mentions for c in m.candidates}) <= 300


def test_no_curated_wording_without_a_side_names_one_side():
    """A wording that says no side ("leg pain", "third nerve palsy") is the code set's unspecified side
    (M79.606, H49.00), never the right or the left one (ICD-10-CM I.B.13: the side must be documented)."""
    side = re.compile(r"\b(?:right|left)\b")
    said = re.compile(r"\b(?:right|left|bilateral|both|r|l|rt|lt)\b")
    sided = [
        (code, alias) for (system, code), aliases in curated_aliases().items() if system == "ICD10CM"
        and cm.is_valid_item(code) and side.search(cm.get_description(code).lower())
        for alias in aliases if not said.search(alias.lower())
    ]
    assert sided == []
