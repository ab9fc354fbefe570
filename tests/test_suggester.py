"""ModelSuggester: evidence spans point into the note, assertions lower confidence, settings filter systems."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from codesuggest.models.default import DictionaryRanker
from codesuggest.models.interface import RankedCode, top_per_system
from codesuggest.models.suggester import ModelSuggester, systems_for
from codesuggest.pipeline.schema import Assertion, Candidate, Mention, NoteAnalysis


@pytest.fixture(scope="module")
def suggester(cm_analyzer, cm_catalog) -> ModelSuggester:
    return ModelSuggester(cm_analyzer, DictionaryRanker().fit(catalog=cm_catalog), "test", catalog=cm_catalog)


def by_code(suggestions):
    return {s.code: s for s in suggestions}


def test_evidence_offsets_point_at_the_note(suggester):
    note = (
        "CHIEF COMPLAINT: shortness of breath.\n"
        "HISTORY OF PRESENT ILLNESS: 67 y/o with HTN and type 2 diabetes mellitus,\x0cpresents with pneumonia.\n"
        "ASSESSMENT AND PLAN: Pneumonia, start antibiotics. Hypertension, continue lisinopril.\n"
    )
    suggestions = suggester.suggest(note, top_k=50)
    assert suggestions
    spans = [e for s in suggestions for e in s.evidence]
    assert spans and all(e.text and note[e.start : e.end] == e.text for e in spans)
    pneumonia = by_code(suggestions)["J18.9"]
    assert {e.text for e in pneumonia.evidence} == {"pneumonia", "Pneumonia"}
    assert {e.section for e in pneumonia.evidence} >= {"assessment_plan"}
    assert pneumonia.description == "Pneumonia, unspecified organism"


def test_htn_suggests_i10(suggester):
    note = "Assessment: HTN, well controlled on lisinopril."
    top = suggester.suggest(note, top_k=5)
    i10 = by_code(top)["I10"]
    assert top[0].code == "I10"
    assert not i10.needs_review and i10.confidence >= suggester.ranker.thresholds_["ICD10CM"]
    assert [(e.text, e.assertion) for e in i10.evidence] == [("HTN", "present")]
    assert i10.description == "Essential (primary) hypertension"
    assert i10.reason


def test_negated_mention_is_not_confident(suggester):
    present = by_code(suggester.suggest("Patient has pneumonia.", top_k=50))["J18.9"]
    negated = by_code(suggester.suggest("Patient denies pneumonia.", top_k=50)).get("J18.9")
    if negated is not None:  # listed at most for review, never as a confident code
        assert negated.needs_review and negated.confidence < 0.1
        assert [e.assertion for e in negated.evidence] == ["negated"]
        assert negated.confidence < present.confidence
    assert not present.needs_review


@pytest.mark.parametrize("similarity", [1.0, 0.9, 0.7])
def test_dictionary_ranker_orders_assertions(cm_catalog, similarity):
    """present > historical > family > possible > negated; only present clears the threshold."""
    ranker = DictionaryRanker().fit(catalog=cm_catalog)
    order = ["present", "historical", "family", "possible", "negated"]
    scores = []
    for label in order:
        assertion = Assertion(**({} if label == "present" else {label: True}))
        mention = Mention(
            text="pneumonia", start=0, end=9, kind="diagnosis", section="unknown", sentence_start=0, sentence_end=9,
            assertion=assertion, candidates=(Candidate("ICD10CM", "J18.9", "Pneumonia", similarity, "pneumonia"),),
        )
        (ranked,) = ranker.rank([NoteAnalysis(text="pneumonia", mentions=(mention,))])
        assert ranked[0].code == "J18.9" and ranked[0].mention_indexes == (0,)
        scores.append(ranked[0].score)
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert all(score < ranker.thresholds_["ICD10CM"] for score in scores[1:])
    assert (scores[0] >= ranker.thresholds_["ICD10CM"]) == (similarity >= 0.9)


def test_dictionary_ranker_weighs_new_labels_as_the_flags_they_refine(cm_catalog):
    """hypothetical scores as possible and resolved as historical, also in a ranker fitted before they existed."""
    ranker = DictionaryRanker().fit(catalog=cm_catalog)

    def score(**flags: bool) -> float:
        mention = Mention(
            text="pneumonia", start=0, end=9, kind="diagnosis", section="unknown", sentence_start=0, sentence_end=9,
            assertion=Assertion(**flags), candidates=(Candidate("ICD10CM", "J18.9", "Pneumonia", 1.0, "pneumonia"),),
        )
        return ranker.rank([NoteAnalysis(text="pneumonia", mentions=(mention,))])[0][0].score

    assert "hypothetical" not in ranker.assertion_weights_ and "resolved" not in ranker.assertion_weights_
    assert score(possible=True, hypothetical=True) == score(possible=True) < score()
    assert score(historical=True, resolved=True) == score(historical=True) < score()


# -- settings, thresholds and the review band, with stand-ins for the pipeline and the ranker --


def _analysis(text: str) -> NoteAnalysis:
    mention = Mention(
        text="thing", start=text.index("thing"), end=text.index("thing") + 5, kind="procedure", section="unknown",
        sentence_start=0, sentence_end=len(text), assertion=Assertion(),
        candidates=(Candidate("CPT", "99213", "Office visit (candidate wording)", 1.0),),
    )
    return NoteAnalysis(text=text, mentions=(mention,), code_set_versions={"ICD10CM": "x"})


class FakeAnalyzer:
    code_set_versions = {"ICD10CM": "x"}

    def analyze_many(self, texts):
        return (_analysis(t) for t in texts)


class FakeRanker:
    thresholds_ = {"ICD10CM": 0.5, "ICD10PCS": 0.5, "CPT": 0.5}
    code_set_versions_ = {"ICD10CM": "x"}

    def rank(self, analyses, top_k=50):
        codes = [
            RankedCode("ICD10PCS", "0DTJ4ZZ", 0.9, (0,)),
            RankedCode("CPT", "99213", 0.8, (0,)),
            RankedCode("ICD10CM", "I10", 0.55, (0,)),
            RankedCode("ICD10CM", "E11.9", 0.3, (0,)),
        ]
        kept = top_per_system(range(len(codes)), [(c.system, c.code) for c in codes], top_k)
        return [[codes[j] for j in kept] for _ in analyses]


@pytest.mark.parametrize(
    "setting, systems",
    [(None, {"ICD10PCS", "CPT", "ICD10CM"}), ("outpatient", {"CPT", "ICD10CM"}), ("inpatient", {"ICD10PCS", "ICD10CM"})],
)
def test_setting_selects_systems(setting, systems):
    fake = ModelSuggester(FakeAnalyzer(), FakeRanker(), "fake")
    suggestions = fake.suggest("one thing", setting=setting, top_k=2)
    assert {s.system for s in suggestions} == systems
    # top_k is per system: the procedure codes ranked first do not crowd out the diagnoses
    assert [s.code for s in suggestions if s.system == "ICD10CM"] == ["I10", "E11.9"]
    assert len(suggestions) == len(systems) + 1


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="unknown setting"):
        systems_for("hospice")


def test_review_band_and_thresholds():
    banded = by_code(ModelSuggester(FakeAnalyzer(), FakeRanker(), "fake", review_band=0.6).suggest("one thing"))
    assert banded["I10"].needs_review and not banded["99213"].needs_review
    assert banded["E11.9"].needs_review  # below the ranker's threshold
    open_band = by_code(ModelSuggester(FakeAnalyzer(), FakeRanker(), "fake", review_band=0.0).suggest("one thing"))
    assert not open_band["I10"].needs_review and open_band["E11.9"].needs_review


def test_description_falls_back_to_the_candidate_and_suggest_many_matches_suggest():
    fake = ModelSuggester(
        FakeAnalyzer(), FakeRanker(), "fake", catalog=SimpleNamespace(get=lambda system, code: None), billable_only=False
    )
    one = fake.suggest("one thing")
    assert by_code(one)["99213"].description == "Office visit (candidate wording)"
    assert by_code(one)["99213"].evidence[0].text == "thing"
    assert fake.suggest_many(["one thing", "other thing"]) == [one, fake.suggest("other thing")]


def test_dictionary_ranker_prefers_unspecified_over_other_and_billable_over_category(cm_catalog):
    ranker = DictionaryRanker().fit(catalog=cm_catalog)
    candidates = tuple(
        Candidate("ICD10CM", code, cm_catalog.get("ICD10CM", code).description, 0.9, "Pneumonia")
        for code in ("J18", "J18.8", "J18.9")
    )
    mention = Mention(
        text="Pneumonia", start=0, end=9, kind="diagnosis", section="unknown", sentence_start=0, sentence_end=9,
        candidates=candidates,
    )
    (ranked,) = ranker.rank([NoteAnalysis(text="Pneumonia", mentions=(mention,))])
    assert [r.code for r in ranked] == ["J18.9", "J18.8", "J18"]
