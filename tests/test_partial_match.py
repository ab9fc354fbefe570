"""Partial term matching: a sentence that says a code's wording only in part (its rarest words)."""

from __future__ import annotations

import pytest

from codesuggest.codesets import Code, CodeCatalog, CodeSystem
from codesuggest.pipeline.matcher import match_partial, match_sentence, sentence_words
from codesuggest.pipeline.terminology import TermIndex

CM = [
    ("N43.40", "Spermatocele of epididymis, unspecified"), ("N43.3", "Hydrocele, unspecified"),
    ("M48.06", "Spinal stenosis, lumbar region"), ("M48.02", "Spinal stenosis, cervical region"),
    ("N28.1", "Cyst of kidney, acquired"), ("K80.20", "Calculus of gallbladder without cholecystitis without obstruction"),
    ("I10", "Essential (primary) hypertension"), ("J18.9", "Pneumonia, unspecified organism"),
    ("S72.002", "Fracture of unspecified part of neck of left femur"), ("D29.3", "Benign neoplasm of epididymis"),
]
PCS = [("0V900ZZ", "Drainage of Prostate, Open Approach"), ("0VT00ZZ", "Resection of Prostate, Open Approach")]
BOTH = frozenset({"ICD10CM", "ICD10PCS"})


@pytest.fixture(scope="module")
def index() -> TermIndex:
    codes = [Code(CodeSystem.ICD10CM, c, d) for c, d in CM] + [Code(CodeSystem.ICD10PCS, c, d) for c, d in PCS]
    return TermIndex.build(CodeCatalog(codes, {"ICD10CM": "test", "ICD10PCS": "test"}))


def partial(index: TermIndex, text: str, min_coverage: float = 0.5, max_terms: int = 8, systems=BOTH):
    words = sentence_words(text, 0, len(text), {})
    return match_partial(words, index, 0.8, min_coverage, max_terms, systems)


def codes_of(mentions) -> dict[str, float]:
    return {code: score for m in mentions for (_, code), (score, _) in m.codes.items()}


def test_the_rare_words_of_a_wording_find_its_code(index):
    text = "A 58-year-old woman with lumbar canal stenosis."
    mentions = partial(index, text)
    found = codes_of(mentions)
    assert "M48.06" in found and "M48.02" not in found  # "cervical" is not in the sentence
    (m,) = [m for m in mentions if ("ICD10CM", "M48.06") in m.codes]
    assert text[m.start : m.end] == "lumbar canal stenosis"  # the span covers the shared words
    assert 0 < found["M48.06"] < 0.8  # factor times a coverage below 1


def test_scores_follow_the_weight_of_the_words_said(index):
    rare = codes_of(partial(index, "The mass was a spermatocele.", min_coverage=0.3))
    common = codes_of(partial(index, "The epididymis was normal.", min_coverage=0.3))
    assert "N43.40" in rare
    assert common.get("N43.40", 0.0) < rare["N43.40"]  # its rarest word is missing: never triggered


def test_a_wording_said_in_full_is_left_to_the_exact_pass(index):
    text = "Spinal stenosis of the lumbar region."
    assert "M48.06" not in codes_of(partial(index, text))
    exact = {code for m in match_sentence(sentence_words(text, 0, len(text), {}), index) for (_, code) in m.codes}
    assert "M48.06" in exact


def test_too_little_of_the_wording_finds_nothing(index):
    assert "M48.06" not in codes_of(partial(index, "Stenosis was seen.", min_coverage=0.9))


def test_at_most_max_terms_wordings_per_sentence(index):
    text = "Lumbar canal stenosis, a spermatocele and drainage of the prostitute abscess."
    assert len({m.start for m in partial(index, text, min_coverage=0.3, max_terms=1)}) == 1
    assert len(codes_of(partial(index, text, min_coverage=0.3, max_terms=8))) > 1


def test_only_the_codes_of_the_chosen_systems(index):
    text = "Lumbar canal stenosis; drainage by an open approach."
    both = codes_of(partial(index, text))
    assert "M48.06" in both and "0V900ZZ" in both
    cm = codes_of(partial(index, text, systems=frozenset({"ICD10CM"})))
    pcs = codes_of(partial(index, text, systems=frozenset({"ICD10PCS"})))
    assert "M48.06" in cm and all(not code.startswith("0V") for code in cm)
    assert "0V900ZZ" in pcs and all(code.startswith("0V") for code in pcs)


def test_the_note_cap_of_all_systems_or_of_each():
    from codesuggest.pipeline.components import limit_candidates, top_codes
    from codesuggest.pipeline.schema import Candidate

    scores = {("ICD10PCS", "0V900ZZ"): 0.9, ("ICD10PCS", "0VT00ZZ"): 0.8, ("ICD10CM", "I10"): 0.7, ("ICD10CM", "J18.9"): 0.6}
    assert top_codes(scores, 2) == {("ICD10PCS", "0V900ZZ"), ("ICD10PCS", "0VT00ZZ")}  # one system crowds out the other
    assert top_codes(scores, 1, per_system=True) == {("ICD10PCS", "0V900ZZ"), ("ICD10CM", "I10")}
    mentions = [["m1", tuple(Candidate(s, c, "", v) for (s, c), v in scores.items())]]
    limit_candidates(mentions, 1, per_system=True)
    assert [c.code for c in mentions[0][1]] == ["0V900ZZ", "I10"]


@pytest.mark.slow
def test_the_pipeline_matches_in_part_only_when_asked(cm_catalog, cm_analyzer, cm_data_dir):
    """Off by default; ``partial_factor`` turns it on through the mentions component's settings."""
    from codesuggest.pipeline.nlp import Analyzer

    text = "A 58-year-old woman with a history of depressive syndrome and lumbar canal stenosis."

    def codes(analyzer) -> set[str]:
        return {c.code for m in analyzer.analyze(text).mentions for c in m.candidates}

    partial = Analyzer.from_catalog(cm_catalog, cm_data_dir / "cache", mentions={"partial_factor": 0.75})
    assert "M48.06" not in codes(cm_analyzer)
    assert "M48.06" in codes(partial)
    assert "F32.9" in codes(cm_analyzer) & codes(partial)  # the exact matches stay
