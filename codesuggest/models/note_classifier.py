"""A note-level multi-label text classifier: TF-IDF word n-grams + one-vs-rest ridge regression.

It proposes frequent codes that the mention linker misses (machine-translated
wording, codes implied by the whole case) and gives the re-ranker a
text-based probability for every code it knows. Only codes with at least
``min_count`` training notes get a classifier; the rest are left to the
pipeline's evidence.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

__all__ = ["NoteClassifier", "WordsAndCharacters", "WordwiseCharTfidf"]


class NoteClassifier(BaseEstimator):
    """``fit(texts, labels)``; ``predict_proba(texts)`` -> (n_notes, n_codes) scores in [0, 1] over ``codes_``.

    ``labels`` are sets of ``(system, code)`` pairs; ``codes_`` lists the
    pairs that got a classifier (at least ``min_count`` positive notes).
    ``char_ngram_max`` > 0 adds character 3..``char_ngram_max``-grams inside words to the word
    n-grams: inflections and compounds of one word ("metastasis", "metastatic") share most of them.
    """

    def __init__(self, min_count: int = 2, alpha: float = 1.0, ngram_max: int = 2, min_df: int = 2,
                 max_features: int = 20_000, n_neighbors: int = 10, char_ngram_max: int = 0, random_state: int = 0):
        self.min_count = min_count
        self.alpha = alpha
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.n_neighbors = n_neighbors
        self.char_ngram_max = char_ngram_max
        self.random_state = random_state

    def __setstate__(self, state: dict) -> None:
        """Classifiers saved before ``char_ngram_max`` existed had word n-grams only."""
        super().__setstate__({"char_ngram_max": 0, **state})

    def fit(self, texts: list[str], labels: list[set[tuple[str, str]]]) -> "NoteClassifier":
        counts = Counter(code for codes in labels for code in codes)
        self.codes_ = sorted(code for code, n in counts.items() if n >= self.min_count)
        self.vectorizer_ = self._new_vectorizer()
        X = self.vectorizer_.fit_transform(texts)
        Y = np.zeros((len(labels), len(self.codes_)), dtype=np.float64)
        column = {code: j for j, code in enumerate(self.codes_)}
        for i, codes in enumerate(labels):
            for code in codes:
                j = column.get(code)
                if j is not None:
                    Y[i, j] = 1.0
        # Ridge regression on 0/1 targets in its dual form: one n_notes x n_notes solve for all codes
        # (n_notes is small next to the vocabulary); with an intercept per code (centred targets).
        # A note's scores are its similarities to the training notes times the dual coefficients:
        # the same products as the k-NN's, and n_notes x n_codes numbers kept instead of
        # n_features x n_codes (the model file: BENCHMARKS "Ranking").
        Xd = X.astype(np.float64)
        K = np.asarray((Xd @ Xd.T).todense())
        mean = Y.mean(axis=0)
        self.dual_coef_ = np.linalg.solve(K + self.alpha * np.eye(K.shape[0]), Y - mean).astype(np.float32)
        self.intercept_ = mean.astype(np.float32)
        self.train_X_ = X
        self.train_Y_ = sparse.csr_matrix(Y.astype(np.float32))
        return self

    def _new_vectorizer(self):
        words = TfidfVectorizer(
            ngram_range=(1, self.ngram_max), min_df=self.min_df, max_features=self.max_features,
            sublinear_tf=True, lowercase=True, dtype=np.float32,
        )
        if not self.char_ngram_max:
            return words
        chars = WordwiseCharTfidf(
            analyzer="char_wb", ngram_range=(3, self.char_ngram_max), min_df=self.min_df, max_features=self.max_features,
            sublinear_tf=True, lowercase=True, dtype=np.float32,
        )
        return WordsAndCharacters(words, chars)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        """The notes' TF-IDF vectors (what ``similarities`` and the scores start from: compute them once)."""
        check_is_fitted(self, "codes_")
        return self.vectorizer_.transform(texts)

    def similarities(self, X: sparse.csr_matrix) -> np.ndarray:
        """(n_notes, n_training_notes) cosines of the TF-IDF vectors (rows are unit vectors)."""
        # training rows times the notes' vectors made dense: a sparse-dense product is a tenth of the
        # cost of the sparse-sparse one, and converting the training matrix is avoided
        return np.asarray((self.train_X_ @ X.T.toarray()).T, dtype=np.float32)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Per note and code (columns in ``codes_`` order), the classifier's probability (not calibrated)."""
        return self.proba_from_tfidf(self.transform(texts))

    def proba_from_tfidf(self, X: sparse.csr_matrix, sims: np.ndarray | None = None) -> np.ndarray:
        """``sims``: ``similarities(X)`` when already computed."""
        if not self.codes_:
            return np.zeros((X.shape[0], 0), dtype=np.float32)
        if hasattr(self, "dual_coef_"):
            scores = (self.similarities(X) if sims is None else sims) @ self.dual_coef_ + self.intercept_
        else:  # saved before the dual form: weights per feature
            scores = np.asarray(X @ self.coef_, dtype=np.float32) + self.intercept_
        return np.clip(scores, 0.0, 1.0)

    def knn_from_tfidf(self, X: sparse.csr_matrix, sims: np.ndarray | None = None) -> np.ndarray:
        """Per note and code, the similarity-weighted share of its ``n_neighbors`` nearest training notes
        coded with it (``sims``: ``similarities(X)`` when already computed)."""
        sims = self.similarities(X) if sims is None else sims
        k = min(self.n_neighbors, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.zeros_like(sims)
        rows = np.arange(sims.shape[0])[:, None]
        weights[rows, top] = sims[rows, top]
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        return np.asarray((sparse.csr_matrix(weights) @ self.train_Y_).toarray(), dtype=np.float32)


class WordwiseCharTfidf(TfidfVectorizer):
    """``TfidfVectorizer(analyzer="char_wb")`` whose ``transform`` counts n-grams word by word.

    ``char_wb`` n-grams never cross a word boundary, so a text's counts are the sum of its words'
    counts: each distinct word's n-gram columns are found once and kept, and a note costs a lookup
    per distinct word instead of one per n-gram (the ranker's speed with it: BENCHMARKS "Ranking").
    Fitting is the parent's; the result of ``transform`` is the same matrix.
    """

    _MAX_CACHED_WORDS = 200_000  # bounds the memory a long-running service gives the cache

    def transform(self, raw_documents) -> sparse.csr_matrix:
        check_is_fitted(self, "vocabulary_")
        if self.analyzer != "char_wb":
            return super().transform(raw_documents)
        return self._tfidf.transform(self._counts(raw_documents), copy=False)

    def _counts(self, texts) -> sparse.csr_matrix:
        texts = list(texts)
        columns = self._word_columns()
        parts: list[np.ndarray] = []  # each distinct word's columns (one per n-gram, repeats kept)
        counts: list[int] = []
        rows: list[int] = []
        for i, text in enumerate(texts):
            for word, count in Counter(text.lower().split()).items():
                cols = columns.get(word)
                if cols is None:
                    cols = self._columns_of(word)
                    if len(columns) < self._MAX_CACHED_WORDS:
                        columns[word] = cols
                parts.append(cols)
                counts.append(count)
                rows.append(i)
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        matrix = sparse.coo_matrix(
            (np.repeat(np.asarray(counts, dtype=self.dtype), lengths),
             (np.repeat(np.asarray(rows, dtype=np.int64), lengths), np.concatenate(parts) if parts else np.zeros(0, np.int64))),
            shape=(len(texts), len(self.vocabulary_)),
        ).tocsr()  # duplicates summed
        matrix.sort_indices()
        return matrix

    def _word_columns(self) -> dict[str, np.ndarray]:
        """The cache word -> its n-grams' columns (made on first use; not pickled)."""
        if "_columns" not in self.__dict__:
            self._columns, self._analyze = {}, self.build_analyzer()
        return self._columns

    def _columns_of(self, word: str) -> np.ndarray:
        vocabulary = self.vocabulary_
        return np.asarray([vocabulary[g] for g in self._analyze(word) if g in vocabulary], dtype=np.int64)

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_columns", None)  # the cache and its analyzer: rebuilt as notes come
        state.pop("_analyze", None)
        return state


class WordsAndCharacters:
    """Two vectorizers side by side, each row scaled back to unit length (the k-NN uses cosines):
    what a ``FeatureUnion`` then a ``Normalizer`` in a ``Pipeline`` do, without their per-call
    dispatch, which the service pays on every note it ranks alone."""

    def __init__(self, words: TfidfVectorizer, chars: TfidfVectorizer):
        self.words = words
        self.chars = chars

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self._joined(self.words.fit_transform(texts), self.chars.fit_transform(texts))

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return self._joined(self.words.transform(texts), self.chars.transform(texts))

    @staticmethod
    def _joined(words: sparse.csr_matrix, chars: sparse.csr_matrix) -> sparse.csr_matrix:
        return normalize(sparse.hstack([words, chars], format="csr"), copy=False)
