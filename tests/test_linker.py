"""Approximate search: our single-threaded query returns what scispacy's CandidateGenerator returns."""

from __future__ import annotations

import pytest

from codesuggest.codesets import Code, CodeCatalog, CodeSystem
from codesuggest.pipeline.linker import ApproximateMatcher, build_ann_index
from codesuggest.pipeline.terminology import TermIndex

TERMS = [
    ("D18.00", "Hemangioma unspecified site"), ("J18.9", "Pneumonia, unspecified organism"),
    ("E11.9", "Type 2 diabetes mellitus without complications"), ("N17.9", "Acute kidney failure, unspecified"),
    ("N18.30", "Chronic kidney disease, stage 3 unspecified"), ("I10", "Essential (primary) hypertension"),
    ("K35.80", "Unspecified acute appendicitis"), ("R50.9", "Fever, unspecified"),
]


@pytest.fixture(scope="module")
def matcher(tmp_path_factory) -> ApproximateMatcher:
    catalog = CodeCatalog([Code(CodeSystem.ICD10CM, c, d) for c, d in TERMS], {"ICD10CM": "test"})
    index = TermIndex.build(catalog)
    ann_dir = build_ann_index(index, tmp_path_factory.mktemp("ann") / "ann", progress=False)
    return ApproximateMatcher(index, str(ann_dir), min_similarity=0.3)


def test_nearest_terms_equals_the_candidate_generator(matcher):
    queries = ["hemangiomas", "pnemonia", "diabetis type two", "kidney failur acute", "qqqq", "hypertensoin"]
    expected = [
        sorted((c.concept_id, max(c.similarities)) for c in found if max(c.similarities) >= matcher.min_similarity)
        for found in matcher.generator(queries, matcher.k)
    ]
    assert matcher.nearest_terms(queries) == expected
    assert any(expected) and expected[4] == []  # something found, and nothing for a query sharing no 3-gram


def test_misspelt_word_finds_its_term(matcher):
    (hits,) = matcher.nearest_terms(["pnemonia"])
    assert hits and all(s >= matcher.min_similarity for _, s in hits)
    assert any("pneumonia" in key for key, _ in hits)


def test_index_cache_key_changes_with_the_curated_resources(monkeypatch):
    """An edited alias file must not reuse an index built from the old one."""
    from codesuggest.pipeline import resources

    before = resources.versions_key({"ICD10CM": "2026"})
    resources.resources_digest.cache_clear()
    monkeypatch.setattr(resources, "INDEX_RESOURCES", ("synonyms.tsv", "code_aliases.tsv"))
    try:
        assert resources.versions_key({"ICD10CM": "2026"}) != before
        assert resources.versions_key({"ICD10CM": "2026"}) == resources.versions_key({"ICD10CM": "2026"})
    finally:
        resources.resources_digest.cache_clear()


def test_approximate_search_is_opt_in(tmp_path, monkeypatch):
    """Off by default (no ANN index built or loaded); CODESUGGEST_APPROXIMATE_SEARCH turns it on."""
    from codesuggest.config import Settings
    from codesuggest.pipeline.nlp import Analyzer

    catalog = CodeCatalog([Code(CodeSystem.ICD10CM, c, d) for c, d in TERMS], {"ICD10CM": "test"})
    monkeypatch.delenv("CODESUGGEST_APPROXIMATE_SEARCH", raising=False)
    assert Settings().approximate_search is False
    default = Analyzer.from_catalog(catalog, tmp_path)
    assert dict(default.nlp.pipeline)["codesuggest_mentions"].approximate is None
    assert default.settings == {"approximate_search": False}
    assert not list(tmp_path.glob("ann-*"))
    monkeypatch.setenv("CODESUGGEST_APPROXIMATE_SEARCH", "1")
    assert Settings().approximate_search is True
    linked = Analyzer.from_catalog(catalog, tmp_path, approximate=Settings().approximate_search)
    assert dict(linked.nlp.pipeline)["codesuggest_mentions"].approximate is not None
    assert linked.settings == {"approximate_search": True}
    assert any(c.code == "J18.9" for m in linked.analyze("Pnemonia of the left lung.").mentions for c in m.candidates)


def test_exact_matching_stops_windows_no_term_can_fill():
    """A window grows while some term may still hold all its words; repeated words count once."""
    from codesuggest.pipeline.matcher import match_sentence, sentence_words

    catalog = CodeCatalog([Code(CodeSystem.ICD10CM, c, d) for c, d in TERMS], {"ICD10CM": "test"})
    index = TermIndex.build(catalog)
    assert index.longest_term_with["pneumonia"] == 2 and "zebra" not in index.longest_term_with

    def found(text: str) -> dict[str, set[str]]:
        mentions = match_sentence(sentence_words(text, 0, len(text), {}), index)
        return {text[m.start : m.end]: {code for _, code in m.codes} for m in mentions}

    assert found("acute kidney failure acute") == {"acute kidney failure acute": {"N17.9"}}
    assert found("zebra hypertension zebra") == {"hypertension": {"I10"}}
    assert "E11.9" in found("diabetes mellitus type 2")["diabetes mellitus type 2"]


def test_term_index_round_trips_through_its_cache_file(tmp_path):
    import gc

    from codesuggest.disk_cache import dump
    from codesuggest.pipeline.resources import load_term_index

    catalog = CodeCatalog([Code(CodeSystem.ICD10CM, c, d) for c, d in TERMS], {"ICD10CM": "test"})
    index = TermIndex.build(catalog)
    path = tmp_path / "terms-x.pickle"
    dump(index, path)
    assert [p.name for p in tmp_path.iterdir()] == ["terms-x.pickle"]  # no temporary file left
    loaded = load_term_index(str(path))
    assert loaded.terms == index.terms and loaded.by_rarest == index.by_rarest
    assert gc.isenabled()  # the collector is paused only while unpickling
