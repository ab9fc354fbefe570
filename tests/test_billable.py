"""Suggestions are billable: headers, missing 7th characters and retired codes are replaced (issue 8)."""

from __future__ import annotations

import pytest

from codesuggest.codesets import Code, CodeCatalog, CodeSystem
from codesuggest.codesets.rules import check_codes
from codesuggest.models.billable import make_billable
from codesuggest.models.interface import Output, RankedCode
from codesuggest.models.suggester import ModelSuggester
from codesuggest.pipeline.schema import Assertion, Candidate, Mention, NoteAnalysis


def ranked(*pairs: tuple[str, float]) -> list[RankedCode]:
    return [RankedCode("ICD10CM", code, score, (0,), "r") for code, score in pairs]


def codes(result) -> list[tuple[str, float]]:
    return [(r.code, r.score) for r in result.codes]


def test_billable_codes_pass_through_unchanged(cm_catalog):
    result = make_billable(ranked(("I10", 0.9), ("E11.9", 0.5)), cm_catalog)
    assert codes(result) == [("I10", 0.9), ("E11.9", 0.5)]
    assert not result.guessed and not result.replaced


def test_header_takes_the_ranked_billable_child_and_merges(cm_catalog):
    result = make_billable(ranked(("E11", 0.8), ("I10", 0.6), ("E11.22", 0.3)), cm_catalog)
    assert codes(result) == [("E11.22", 0.8), ("I10", 0.6)]  # best score kept, one entry
    assert result.replaced == {("ICD10CM", "E11"): ("ICD10CM", "E11.22")}
    assert not result.guessed
    assert "E11 is not billable" in result.codes[0].reason


def test_header_takes_a_candidate_of_the_note_before_a_default(cm_catalog):
    cands = {("ICD10CM", "E11.65"): 0.8, ("ICD10CM", "E11.9"): 0.7, ("ICD10CM", "I10"): 1.0}
    result = make_billable(ranked(("E11", 0.8)), cm_catalog, candidates=cands)
    assert codes(result) == [("E11.65", 0.8)]
    assert not result.guessed


def test_header_with_no_support_gets_a_guess_flagged_for_review(cm_catalog):
    result = make_billable(ranked(("R51", 0.7)), cm_catalog, note_text="headache since yesterday")
    (code,) = result.codes
    assert code.code in {"R51.0", "R51.9"}
    assert result.guessed == {("ICD10CM", code.code)}


def test_seventh_character_is_added(cm_catalog):
    result = make_billable(ranked(("S72.001", 0.9)), cm_catalog)
    assert codes(result) == [("S72.001A", 0.9)]  # initial encounter, the first defined character
    assert result.guessed


@pytest.fixture(scope="module")
def pcs_catalog() -> CodeCatalog:
    pcs = CodeSystem.ICD10PCS
    rows = [("BW2000Z", "CT abdomen high osmolar"), ("BW20ZZZ", "CT abdomen"), ("BW21ZZZ", "CT chest abdomen")]
    return CodeCatalog([Code(pcs, code, text) for code, text in rows], {"ICD10PCS": "test"})


def test_pcs_prefix_takes_the_note_candidate(pcs_catalog):
    rc = [RankedCode("ICD10PCS", "BW20", 0.7, (), "")]
    cands = {("ICD10PCS", "BW20ZZZ"): 0.9, ("ICD10PCS", "BW2000Z"): 0.4}
    result = make_billable(rc, pcs_catalog, candidates=cands)
    assert [(r.system, r.code) for r in result.codes] == [("ICD10PCS", "BW20ZZZ")]
    assert not result.guessed
    guess = make_billable(rc, pcs_catalog)  # no candidate: the first code below it, for review
    assert [r.code for r in guess.codes] == ["BW2000Z"] and guess.guessed


def test_retired_code_with_nothing_below_is_dropped(cm_catalog):
    result = make_billable(ranked(("I10", 0.9), ("U99.9", 0.5)), cm_catalog)
    assert codes(result) == [("I10", 0.9)]


def test_result_raises_no_billing_findings(cm_catalog):
    result = make_billable(ranked(("E11", 0.9), ("S72.001", 0.8), ("R51", 0.7), ("M54.5", 0.6)), cm_catalog)
    keys = [(r.system, r.code) for r in result.codes]
    rules = ("unknown_code", "not_billable", "seventh_character", "redundant_specificity")
    assert check_codes(keys, cm_catalog, rules=rules) == []


class FixedRanker:
    thresholds_ = {"ICD10CM": 0.5}

    def rank(self, analyses, top_k=30):
        return [ranked(("E11", 0.9), ("I10", 0.8)) for _ in analyses]


class NoAnalysis:
    code_set_versions: dict = {}

    def analyze_many(self, texts):
        mention = Mention(
            text="DM2", start=0, end=3, kind="diagnosis", section="unknown", sentence_start=0, sentence_end=3,
            assertion=Assertion(), candidates=(Candidate("ICD10CM", "E11.9", "Type 2 diabetes", 1.0, "dm2"),),
        )
        return [NoteAnalysis(text=t, mentions=(mention,)) for t in texts]


@pytest.mark.parametrize("billable_only, expected", [(True, ["E11.9", "I10"]), (False, ["E11", "I10"])])
def test_suggester_applies_the_rules_unless_told_not_to(cm_catalog, billable_only, expected):
    suggester = ModelSuggester(NoAnalysis(), FixedRanker(), "t", catalog=cm_catalog, billable_only=billable_only)
    assert [s.code for s in suggester.suggest("DM2 and HTN", output=Output.BILLABLE)] == expected
    assert [s.code for s in suggester.suggest_many(["DM2"], output=Output.BILLABLE)[0]] == expected


def test_tied_candidates_name_no_child_and_a_groundless_guess_keeps_only_its_share(cm_catalog):
    """G89 for a plain "pain": its ten billable codes all put forward alike; the one taken is a
    guess among ten, so it keeps a tenth of the header's score and is flagged."""
    children = [c for c in cm_catalog.with_prefix(CodeSystem.ICD10CM, "G89") if cm_catalog.get("ICD10CM", c).billable]
    cands = {("ICD10CM", c): 0.27 for c in children}
    result = make_billable(ranked(("G89", 0.6)), cm_catalog, note_text="pain since yesterday", candidates=cands)
    (code,) = result.codes
    assert result.guessed == {("ICD10CM", code.code)}
    assert code.score == pytest.approx(0.6 / len(children))


def test_a_guess_with_the_notes_own_words_keeps_its_score(cm_catalog):
    """S61.21 (laceration of a finger) for a note that names the index finger: the guess has a
    word of the note its header lacks, so it is no blind pick."""
    result = make_billable(ranked(("S61.21", 0.6)), cm_catalog, note_text="laceration of the index finger")
    (code,) = result.codes
    assert code.code.startswith("S61.21") and "index" in cm_catalog.get("ICD10CM", code.code).description.lower()
    assert code.score == pytest.approx(0.6)
