"""The note-level text classifier: word n-grams, optional character n-grams, k nearest notes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from codesuggest.models.note_classifier import NoteClassifier

CM = "ICD10CM"
LIVER, FEMUR = (CM, "C78.7"), (CM, "S72.90XA")
TEXTS = [f"case {i}: the patient had metastatic liver disease and was followed" for i in range(6)] + [
    f"case {i}: the patient had a fall and a femur fracture and was followed" for i in range(6)
]
LABELS = [{LIVER}] * 6 + [{FEMUR}] * 6


def _scores(clf: NoteClassifier, text: str) -> dict:
    return dict(zip(clf.codes_, clf.predict_proba([text])[0]))


def test_character_ngrams_score_an_inflection_the_words_never_saw():
    """'metastases' and 'hepatic' are no training words: word n-grams see nothing of the liver case in
    the note; the characters of 'metasta-' still tie it to the liver notes."""
    note = "metastases of hepatic origin"
    words = NoteClassifier(min_df=1).fit(TEXTS, LABELS)
    chars = NoteClassifier(min_df=1, char_ngram_max=4).fit(TEXTS, LABELS)
    assert _scores(words, note)[LIVER] == _scores(words, note)[FEMUR]
    assert _scores(chars, note)[LIVER] > _scores(chars, note)[FEMUR]


def test_character_ngrams_keep_unit_rows_for_the_neighbours():
    clf = NoteClassifier(min_df=1, char_ngram_max=4, n_neighbors=3).fit(TEXTS, LABELS)
    X = clf.transform(["metastatic liver disease", "femur fracture"])
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)), 1.0)
    knn = clf.knn_from_tfidf(X)
    liver, femur = clf.codes_.index(LIVER), clf.codes_.index(FEMUR)
    assert knn[0, liver] == pytest.approx(1.0) and knn[1, femur] == pytest.approx(1.0)


def test_classifier_saved_before_character_ngrams_loads_as_words_only():
    clf = NoteClassifier(min_df=1).fit(TEXTS, LABELS)
    state = dict(clf.__getstate__())
    state.pop("char_ngram_max")
    old = NoteClassifier.__new__(NoteClassifier)
    old.__setstate__(state)
    assert old.get_params()["char_ngram_max"] == 0
    assert np.array_equal(pickle.loads(pickle.dumps(old)).predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_dual_scores_equal_the_primal_weights():
    """Scoring through the training notes (dual coefficients) is the same ridge model as weights per
    feature: X (X_train^T a) == (X X_train^T) a. A classifier saved with weights per feature scores the same."""
    clf = NoteClassifier(min_df=1, char_ngram_max=4).fit(TEXTS, LABELS)
    notes = ["metastases of hepatic origin", "fracture of the femur after a fall", "nothing related"]
    X = clf.transform(notes)
    coef = np.asarray(clf.train_X_.T @ clf.dual_coef_, dtype=np.float32)
    primal = np.clip(np.asarray(X @ coef) + clf.intercept_, 0.0, 1.0)
    assert np.allclose(clf.predict_proba(notes), primal, atol=1e-5)
    state = dict(clf.__getstate__())
    state["coef_"] = coef
    state.pop("dual_coef_")
    old = NoteClassifier.__new__(NoteClassifier)
    old.__setstate__(state)
    assert np.allclose(old.predict_proba(notes), primal, atol=1e-6)


def test_wordwise_character_tfidf_is_the_parents_matrix():
    """Counting n-grams word by word (a cache of each word's columns) gives the library's own matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from codesuggest.models.note_classifier import WordwiseCharTfidf

    params = dict(analyzer="char_wb", ngram_range=(3, 4), min_df=1, sublinear_tf=True, dtype=np.float32)
    train = TEXTS + ["Ünïcode  words\tand\nTABS, punctuation: (a) b; a a a", "x", ""]
    notes = ["Metastatic LIVER liver disease; fall.", "", "a", "zzz qqq", "words\t\tand  TABS tabs"] + train
    ours = WordwiseCharTfidf(**params).fit(train)
    theirs = TfidfVectorizer(**params).fit(train)
    assert ours.vocabulary_ == theirs.vocabulary_
    for _ in range(2):  # the second time from the cache
        mine, reference = ours.transform(notes), theirs.transform(notes)
        assert mine.shape == reference.shape and abs(mine - reference).max() < 1e-6
    restored = pickle.loads(pickle.dumps(ours))
    assert "_columns" not in restored.__dict__
    assert abs(restored.transform(notes) - reference).max() < 1e-6
