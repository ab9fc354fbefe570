"""The trained code ranker: candidates + features -> a re-ranker -> calibrated scores per code.

>>> ranker = CodeRanker(random_state=0).fit(analyses, labels)     # labels: sets of (system, code)
>>> ranker.rank(new_analyses, top_k=50)                            # list[list[RankedCode]]

Training (all on the training notes; nothing is tuned on dev):

1. The notes are split into ``n_folds`` folds. For each fold, the code statistics
   (:class:`~codesuggest.models.features.CodeStats`) and the note classifier
   (:class:`~codesuggest.models.note_classifier.NoteClassifier`) are fitted on the
   other folds, and the fold's candidates get their features from those: the
   re-ranker learns from features as they look on unseen notes (a code's training
   frequency is not leaked into its own label).
2. The re-ranker (a name in ``RERANKERS``: scikit-learn's gradient boosting on
   per-candidate log-loss by default; LightGBM's LambdaMART over each note's list
   per system, LightGBM on log-loss, or logistic regression) is cross-fitted on
   those rows with the same folds; its out-of-fold scores fit one isotonic (or
   Platt) calibrator per system, and the per-system decision threshold is the one
   that maximises micro F1 on them (gold codes that never became candidates count
   as misses).
3. The final re-ranker is fitted on all rows; statistics and classifier on all notes.

At ranking time, a code whose every supporting mention is negated or hypothetical
(and that has no other support) is capped at ``negated_cap`` times its system's
threshold, so it never becomes a confident suggestion; family / past mentions point to
Z80-Z87 history codes (candidates of their own) and their condition codes are capped
the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from ..codesets.systems import calibrated_systems
from ..pipeline.schema import NoteAnalysis
from .features import (
    FEATURE_NAMES, SOURCE_CLASSIFIER, extra_feature_names, SOURCE_DERIVED, SOURCE_DIRECT, SOURCE_HISTORY, CodeStats,
    NoteCandidates, build_candidates, feature_index,
)
from .interface import RankedCode, top_per_system
from .note_classifier import NoteClassifier

__all__ = ["CodeRanker"]

_SRC = feature_index("source")
_NPRESENT = feature_index("n_present")
_NMENT = feature_index("n_mentions")
_CLF = feature_index("clf_prob")
_COUNT = feature_index("log_train_count")
_MAXSIM = feature_index("max_sim")
_CHILDSIM = feature_index("children_max_sim")
_NEXACT = feature_index("n_exact")
_NNEG = feature_index("n_negated")
_NPOSS = feature_index("n_possible")
_NFAM = feature_index("n_family")
_NHIST = feature_index("n_historical")
_FLAGS = (("negated", _NNEG), ("possible", _NPOSS), ("family", _NFAM), ("historical", _NHIST))


class CodeRanker(BaseEstimator):
    """Ranks ICD-10-CM / ICD-10-PCS codes for notes from their :class:`NoteAnalysis`.

    Parameters
    ----------
    n_folds : cross-fitting folds for features, calibration and thresholds.
    clf_min_count : a code needs this many training notes to get a text classifier.
    clf_top_n : classifier codes added as candidates per note and system.
    clf_alpha : ridge penalty of the text classifier.
    group_top_n : top categories / PCS prefixes of a second classifier (over those groups) added as
        candidates per note and system (-1: no group classifier feature either).
    n_neighbors : codes of this many most similar training notes become candidates (0: off).
    use_classifier : False leaves the text classifier out (pipeline evidence only).
    per_system : one re-ranker per code system instead of one shared model.
    reranker : a name in ``RERANKERS``: ``"hgb"`` (HistGradientBoostingClassifier, log-loss per candidate),
        ``"lambdarank"`` (LightGBM LambdaMART, one ranked list per note and system), ``"lgbm-binary"``
        (LightGBM, log-loss) or ``"logreg"``.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf : trees, shrinkage, leaves per tree and
        samples per leaf of the boosted re-rankers.
    max_features : the share of the features each split of the boosted re-rankers may choose from
        (1.0: all; models saved before the parameter used all).
    clf_char_ngram_max : the text classifier adds character 3..n-grams inside words (0: word n-grams
        only; models saved before the parameter have none).
    lgbm_params : further LightGBM parameters (dict) for the LightGBM re-rankers.
    extra_features : comma-separated groups of ``features.EXTRA_FEATURES`` appended to the features
        (``""``: none; models saved before the parameter have none).
    row_weight : the re-rankers' weight of a candidate row: ``"none"`` (all alike: notes with many
        candidates, and ICD-10-CM with three times PCS's, weigh the most), ``"group"`` (each note's list per
        system weighs the same, as MAP counts it), ``"sqrt"`` (between the two: 1 / sqrt(list length)) or
        ``"system"`` (each code system's rows weigh the same in all).
    calibration : ``"isotonic"`` or ``"sigmoid"`` (Platt).
    negated_cap : unsupported negated/hypothetical/family codes score at most this times the threshold.
    n_threads : OpenMP / BLAS threads while fitting and scoring (None: the library default); one thread
        is the fastest on a shared 2-core machine, where OpenMP threads otherwise spin against other jobs.
    random_state : seed of every random step (folds, classifier, re-ranker).
    """

    def __init__(
        self,
        n_folds: int = 5,
        # clf_min_count 1 (was 2), clf_char_ngram_max 4 (was 0), max_features 0.5 (was 1.0), together:
        # out-of-fold MAP D +0.0046 (paired s.e. 0.0013, 3 seeds), P +0.0047 (0.0024); BENCHMARKS "Ranking"
        clf_min_count: int = 1,
        clf_top_n: int = 50,
        clf_alpha: float = 1.0,
        clf_char_ngram_max: int = 4,
        n_neighbors: int = 10,
        group_top_n: int = -1,
        per_system: bool = False,
        use_classifier: bool = True,
        reranker: str = "hgb",
        max_iter: int = 100,  # 100 x 0.05, leaves >= 50: out-of-fold MAP 0.594 / 0.506 (150 x 0.1, >= 20: 0.589 / 0.503)
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 50,
        max_features: float = 0.5,
        calibration: str = "isotonic",
        negated_cap: float = 0.5,
        n_threads: int | None = 1,
        lgbm_params: dict | None = None,
        # hier: out-of-fold MAP D +0.0023 (paired s.e. 0.0009, 3 seeds), P +0.0002; same ranking speed.
        # desc (on hier; titles for every code a title is known of): D +0.0042 (0.0014), P +0.0076 (0.0022)
        # wording (on hier,desc): D +0.0169 (0.0019), P +0.0048 (0.0023); BENCHMARKS "Ranking"
        extra_features: str = "hier,desc,wording",
        row_weight: str = "none",
        random_state: int = 0,
    ):
        self.n_folds = n_folds
        self.clf_min_count = clf_min_count
        self.clf_top_n = clf_top_n
        self.clf_alpha = clf_alpha
        self.clf_char_ngram_max = clf_char_ngram_max
        self.n_neighbors = n_neighbors
        self.group_top_n = group_top_n
        self.per_system = per_system
        self.use_classifier = use_classifier
        self.reranker = reranker
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.calibration = calibration
        self.negated_cap = negated_cap
        self.n_threads = n_threads
        self.lgbm_params = lgbm_params
        self.extra_features = extra_features
        self.row_weight = row_weight
        self.random_state = random_state

    # parameters added after models were first saved, with the value that reproduces those models
    _LATER_PARAMS = {"lgbm_params": None, "extra_features": "", "clf_char_ngram_max": 0, "max_features": 1.0,
                     "row_weight": "none"}

    def __setstate__(self, state: dict) -> None:
        """Unpickle a model saved before a parameter existed with that parameter's old behaviour
        (``get_params`` and ``clone`` need every parameter as an attribute)."""
        super().__setstate__({**self._LATER_PARAMS, **state})

    # -- fitting -------------------------------------------------------------------------
    def fit(
        self, analyses: Sequence[NoteAnalysis], labels: Sequence[set[tuple[str, str]]], *, progress: Callable[[str], None] | None = None
    ) -> "CodeRanker":
        """``progress``: a callable given a short description before each of the :meth:`fit_steps` steps
        (the CLI shows them: fitting takes a minute on 500 notes)."""
        with _thread_limit(self.n_threads):
            return self._fit(analyses, labels, progress or (lambda step: None))

    def fit_steps(self) -> int:
        """How many times ``fit`` calls its ``progress`` callable."""
        return 2 * self.n_folds + 2

    def _fit(self, analyses: Sequence[NoteAnalysis], labels: Sequence[set[tuple[str, str]]], progress: Callable[[str], None]) -> "CodeRanker":
        analyses = list(analyses)
        labels = [set((str(s), str(c)) for s, c in codes) for codes in labels]
        if len(analyses) != len(labels):
            raise ValueError(f"{len(analyses)} analyses but {len(labels)} label sets")
        if len(analyses) < max(self.n_folds, 2):
            raise ValueError(f"need at least {max(self.n_folds, 2)} notes to fit, got {len(analyses)}")
        if not all(isinstance(a, NoteAnalysis) for a in analyses):
            raise TypeError("analyses must be NoteAnalysis objects")
        if self.reranker not in RERANKERS:
            raise ValueError(f"reranker must be one of {sorted(RERANKERS)}, not {self.reranker!r}")
        extra_feature_names(self._extra_groups())  # unknown groups raise
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(f"calibration must be 'isotonic' or 'sigmoid', not {self.calibration!r}")
        if self.row_weight not in _ROW_WEIGHTS:
            raise ValueError(f"row_weight must be one of {list(_ROW_WEIGHTS)}, not {self.row_weight!r}")

        folds = list(KFold(self.n_folds, shuffle=True, random_state=self.random_state).split(np.arange(len(analyses))))
        X_parts, y_parts, fold_of, sys_of, note_of = [], [], [], [], []
        for k, (train_idx, held_idx) in enumerate(folds):
            progress(f"fold {k + 1}/{len(folds)}: note classifiers and candidate features")
            stats, clf = self._fit_sources([analyses[i] for i in train_idx], [labels[i] for i in train_idx])
            held = [analyses[i] for i in held_idx]
            for i, note in zip(held_idx, self._candidates(held, stats, clf)):
                X_parts.append(note.X)
                y_parts.extend(key in labels[i] for key in note.keys)
                fold_of.extend([k] * len(note))
                sys_of.extend(note.systems)
                note_of.extend([i] * len(note))
        X = np.vstack(X_parts).astype(np.float32)
        y = np.asarray(y_parts, dtype=bool)
        fold_of = np.asarray(fold_of)
        sys_of = np.asarray(sys_of)
        note_of = np.asarray(note_of)

        oof = np.zeros(len(y), dtype=np.float64)
        system_ids, system_of = np.unique(sys_of, return_inverse=True)
        groups = note_of * len(system_ids) + system_of  # ranking groups: (note, system)
        for k in range(len(folds)):
            progress(f"fold {k + 1}/{len(folds)}: re-ranker")
            mask = fold_of == k
            model = self._fit_reranker(X[~mask], y[~mask], sys_of[~mask], groups[~mask])
            oof[mask] = self._raw_scores(model, X[mask], sys_of[mask])
        progress(f"re-ranker on all {len(analyses)} notes, calibration")
        self.reranker_ = self._fit_reranker(X, y, sys_of, groups)

        self.calibrators_ = {}
        self.thresholds_ = {}
        self.oof_scores_ = {}
        self.oof_ece_ = {}
        for system in calibrated_systems():
            mask = sys_of == system
            if not mask.any() or y[mask].all() or not y[mask].any():
                continue
            calibrator = self._new_calibrator().fit(oof[mask], y[mask])
            self.calibrators_[system] = calibrator
            calibrated = self._calibrate(calibrator, oof[mask])
            n_gold = sum(1 for codes in labels for s, _ in codes if s == system)
            self.thresholds_[system] = _best_f1_threshold(calibrated, y[mask], n_gold)
            self.oof_scores_[system] = (calibrated, y[mask], note_of[mask])
            self.oof_ece_[system] = self._cross_fitted_ece(oof[mask], y[mask], fold_of[mask])
        self.oof_candidate_recall_ = {
            system: float(y[sys_of == system].sum()) / max(1, sum(1 for codes in labels for s, _ in codes if s == system))
            for system in calibrated_systems()
        }

        progress(f"note classifiers on all {len(analyses)} notes")
        self.stats_, self.classifier_ = self._fit_sources(analyses, labels)
        self.code_set_versions_ = dict(analyses[0].code_set_versions) if analyses else {}
        self.feature_names_ = FEATURE_NAMES + extra_feature_names(self._extra_groups())
        self.n_training_notes_ = len(analyses)
        return self

    def _cross_fitted_ece(self, raw: np.ndarray, y: np.ndarray, fold_of: np.ndarray, n_bins: int = 10) -> float | None:
        """Expected calibration error of scores calibrated by a calibrator fit on the other folds.

        The calibrator in the model is fit on all the out-of-fold scores: measured on those same scores,
        isotonic calibration is perfect by construction (ECE 0), which says nothing. ``None`` (n/a) when
        no fold can be calibrated from the others."""
        calibrated = np.full(len(raw), np.nan)
        for k in np.unique(fold_of):
            rest = fold_of != k
            if y[rest].any() and not y[rest].all():
                calibrated[~rest] = self._calibrate(self._new_calibrator().fit(raw[rest], y[rest]), raw[~rest])
        known = ~np.isnan(calibrated)
        if not known.any():
            return None
        scores, correct = calibrated[known], y[known].astype(float)
        bins = np.minimum((scores * n_bins).astype(int), n_bins - 1)
        return float(sum(
            abs(scores[bins == b].mean() - correct[bins == b].mean()) * np.sum(bins == b) / len(scores)
            for b in range(n_bins) if np.any(bins == b)
        ))

    def _fit_sources(self, analyses, labels) -> tuple[CodeStats, tuple[NoteClassifier, NoteClassifier] | None]:
        """Code statistics, the code-level classifier and one over CM categories / PCS 4-character prefixes."""
        stats = CodeStats.fit(analyses, labels, wordings="wording" in self._extra_groups())
        clf = None
        if self.use_classifier:
            texts = [a.text for a in analyses]
            codes = self._new_classifier(n_neighbors=max(self.n_neighbors, 1)).fit(texts, labels)
            groups = None  # fitted only when its proposals are asked for (``group_top_n >= 0``)
            if self.group_top_n >= 0:
                groups = self._new_classifier().fit(
                    texts, [{(s, CodeStats.group_of(s, c)) for s, c in codes_} for codes_ in labels])
            clf = (codes, groups)
        return stats, clf

    def _new_classifier(self, **params) -> NoteClassifier:
        return NoteClassifier(min_count=self.clf_min_count, alpha=self.clf_alpha, char_ngram_max=self.clf_char_ngram_max,
                              random_state=self.random_state, **params)

    def _candidates(self, analyses, stats: CodeStats, clf: NoteClassifier | None) -> list[NoteCandidates]:
        probs = knn = codes = gprobs = gcodes = None
        extra = self._extra_groups()
        if clf is not None and clf[0].codes_:
            texts = [a.text for a in analyses]
            tfidf = clf[0].transform(texts)
            sims = clf[0].similarities(tfidf)
            probs = clf[0].proba_from_tfidf(tfidf, sims)
            knn = clf[0].knn_from_tfidf(tfidf, sims) if self.n_neighbors else None
            codes = clf[0].codes_
            if self.group_top_n >= 0 and clf[1] is not None and clf[1].codes_:
                gprobs, gcodes = clf[1].predict_proba(texts), clf[1].codes_
        return [
            build_candidates(a, stats, codes, probs[i] if probs is not None else None, self.clf_top_n,
                             knn[i] if knn is not None else None, gcodes,
                             gprobs[i] if gprobs is not None else None, max(self.group_top_n, 0), extra)
            for i, a in enumerate(analyses)
        ]

    def _extra_groups(self) -> tuple[str, ...]:
        spec = self.extra_features
        return tuple(g.strip() for g in spec.split(",") if g.strip())

    def _fit_reranker(self, X: np.ndarray, y: np.ndarray, systems: np.ndarray, groups: np.ndarray):
        """One model over all systems, or (``per_system``) a dict system -> model. ``groups`` (one id per
        row: its note and system) matters to the ranking objectives only."""
        weights = _row_weights(groups, systems, self.row_weight)
        if not self.per_system:
            return _fit_one(self._new_reranker(), X, y, groups, weights)
        models = {}
        for system in calibrated_systems():
            mask = systems == system
            if mask.any() and y[mask].any() and not y[mask].all():
                models[system] = _fit_one(self._new_reranker(), X[mask], y[mask], groups[mask],
                                          None if weights is None else weights[mask])
        return models

    @staticmethod
    def _raw_scores(model, X: np.ndarray, systems: np.ndarray) -> np.ndarray:
        if not isinstance(model, dict):
            return model.predict_proba(X)[:, 1]
        raw = np.zeros(len(X), dtype=np.float64)
        for system, sub in model.items():
            mask = systems == system
            if mask.any():
                raw[mask] = sub.predict_proba(X[mask])[:, 1]
        return raw

    def _new_reranker(self):
        return RERANKERS[self.reranker](self)

    def _new_calibrator(self):
        if self.calibration == "isotonic":
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        return _Platt(self.random_state)

    @staticmethod
    def _calibrate(calibrator, raw: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(calibrator.predict(raw), dtype=np.float64), 0.0, 1.0)

    # -- scoring -------------------------------------------------------------------------
    def _scored(self, analyses: Sequence[NoteAnalysis]) -> list[tuple[NoteCandidates, np.ndarray]]:
        """Each note's candidates with their calibrated, capped scores (one array per note)."""
        check_is_fitted(self, "reranker_")
        with _thread_limit(self.n_threads):
            per_note = self._candidates(list(analyses), self.stats_, self.classifier_)
            if not per_note:
                return []
            X = np.vstack([note.X for note in per_note]).astype(np.float32, copy=False)
            systems = np.asarray([system for note in per_note for system in note.systems])
            scores = self._scores(X, systems) if len(X) else np.zeros(0)
        bounds = np.cumsum([0] + [len(note) for note in per_note])
        return [(note, scores[bounds[i] : bounds[i + 1]]) for i, note in enumerate(per_note)]

    def _scores(self, X: np.ndarray, systems: np.ndarray) -> np.ndarray:
        raw = self._raw_scores(self.reranker_, X, systems)
        scores = np.zeros(len(X), dtype=np.float64)
        caps = np.ones(len(X), dtype=np.float64)
        for system in set(systems.tolist()):
            mask = systems == system
            calibrator = self.calibrators_.get(system)
            scores[mask] = self._calibrate(calibrator, raw[mask]) if calibrator is not None else raw[mask]
            caps[mask] = self.negated_cap * self.thresholds_.get(system, 0.5)
        # tie-break equal calibrated scores (isotonic steps) by the raw score, without changing calibration
        scores = scores + 1e-6 * raw
        # a code whose every supporting mention is negated, hypothetical, family or past history
        unsupported = (X[:, _NMENT] != 0) & (X[:, _NPRESENT] == 0) & (X[:, _SRC].astype(int) != SOURCE_HISTORY)
        scores = np.where(unsupported, np.minimum(scores, caps), scores)
        return np.clip(scores, 0.0, 1.0)

    def rank(self, analyses: Sequence[NoteAnalysis], top_k: int = 50) -> list[list[RankedCode]]:
        """Per note, the ``top_k`` best codes of each system merged by score, best first."""
        results = []
        wording = self._wording_columns()
        for note, scores in self._scored(analyses):
            values = scores.tolist()
            keys = note.keys
            # best score first, then by code: sorting (-score, key, j) tuples is sorting j by (-score, key)
            order = sorted(zip([-v for v in values], keys, range(len(keys))))
            chosen = top_per_system((j for _, _, j in order), keys, top_k)
            rows = note.X[chosen].tolist()  # one conversion for the kept rows (a row at a time costs more)
            results.append([
                RankedCode(*keys[j], values[j], note.mention_indexes[j], self._reason(f, note.matched_term(j), wording))
                for j, f in zip(chosen, rows)
            ])
        return results

    def _wording_columns(self) -> tuple[int, int] | None:
        """Where ``wording_precision`` and ``wording_log_count`` are in a row (None: not features of this model)."""
        names = getattr(self, "feature_names_", ())
        if "wording_log_count" not in names:
            return None
        return names.index("wording_precision"), names.index("wording_log_count")

    def _reason(self, f: list[float], matched_term: str, wording: tuple[int, int] | None = None) -> str:
        """The candidate's features ``f`` (one row as Python floats: indexing a NumPy row costs more) in words;
        ``wording``: the columns of :meth:`_wording_columns`."""
        parts = []
        src = int(f[_SRC])
        n = int(f[_NMENT])
        if src == SOURCE_DIRECT:
            how = "exact" if f[_NEXACT] > 0 else f"similar ({f[_MAXSIM]:.2f})"
            term = f" to '{matched_term}'" if matched_term else ""
            parts.append(f"{how} match{term} in {n} mention{'s' if n != 1 else ''}")
        elif src == SOURCE_DERIVED:
            parts.append(f"coarser code of linked codes ({n} mention{'s' if n != 1 else ''})")
        elif src == SOURCE_HISTORY:
            parts.append("condition mentioned as family or past history")
        elif src == SOURCE_CLASSIFIER:
            parts.append("suggested by the note text classifier")
        flags = [name for name, idx in _FLAGS if f[idx] > 0]
        if flags:
            parts.append("mentions " + "/".join(flags))
        if wording is not None and src == SOURCE_DIRECT:
            seen = _notes(f[wording[1]])
            if seen:
                parts.append(f"the same words linked it in {seen} training note{'s' if seen != 1 else ''}, "
                             f"coded there at a rate of {f[wording[0]]:.2f} (smoothed)")
        if f[_CLF] >= 0.05:
            parts.append(f"text classifier p={f[_CLF]:.2f}")
        count = _notes(f[_COUNT])
        parts.append(f"coded in {count} training notes" if count else "never coded in training")
        return "; ".join(parts)


def _notes(log_count: float) -> int:
    """A count of notes back from its ``log1p`` feature column."""
    return int(round(math.expm1(log_count)))


def _hgb(ranker: CodeRanker) -> HistGradientBoostingClassifier:
    """Gradient boosting on per-candidate log-loss (scikit-learn)."""
    return HistGradientBoostingClassifier(
        max_iter=ranker.max_iter, learning_rate=ranker.learning_rate, max_leaf_nodes=ranker.max_leaf_nodes,
        min_samples_leaf=ranker.min_samples_leaf, early_stopping=False, random_state=ranker.random_state,
        max_features=ranker.max_features, categorical_features=[feature_index("source")],
    )


def _logreg(ranker: CodeRanker):
    """Logistic regression; a feature unknown for a candidate (NaN: the ``desc`` group's, for codes without a
    title) counts as 0, which the boosted re-rankers need not do (they route missing values themselves)."""
    return make_pipeline(SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True), StandardScaler(),
                         LogisticRegression(C=1.0, max_iter=1000, random_state=ranker.random_state))


def _lambdarank(ranker: CodeRanker) -> "_GroupRanker":
    """LambdaMART (LightGBM): gradient boosting on a listwise objective, one list per note and system."""
    return _GroupRanker(ranker, objective="lambdarank")


def _lgbm_binary(ranker: CodeRanker) -> "_GroupRanker":
    """LightGBM on per-candidate log-loss: the library without the ranking objective (for comparisons)."""
    return _GroupRanker(ranker, objective="binary")


# reranker name -> factory of an unfitted model with ``fit(X, y)`` (or ``fit(X, y, groups)``) and ``predict_proba``
RERANKERS = {"hgb": _hgb, "logreg": _logreg, "lambdarank": _lambdarank, "lgbm-binary": _lgbm_binary}


_ROW_WEIGHTS = ("none", "group", "sqrt", "system")


def _row_weights(groups: np.ndarray, systems: np.ndarray, kind: str) -> np.ndarray | None:
    """Per row, 1 / the size of its list (``group``: its note and system; ``system``: all its system's rows),
    or 1 / its square root (``sqrt``), scaled to a mean of 1; ``None`` for ``none`` (unweighted)."""
    if kind == "none":
        return None
    _, inverse, sizes = np.unique(systems if kind == "system" else groups, return_inverse=True, return_counts=True)
    weights = 1.0 / sizes[inverse].astype(np.float64) ** (0.5 if kind == "sqrt" else 1.0)
    return weights / weights.mean()


def _fit_one(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None):
    if isinstance(model, _GroupRanker):
        return model.fit(X, y, groups, weights)
    if weights is None:
        return model.fit(X, y)
    if hasattr(model, "steps"):  # a Pipeline: the weights go to its last step
        return model.fit(X, y, **{f"{model.steps[-1][0]}__sample_weight": weights})
    return model.fit(X, y, sample_weight=weights)


class _GroupRanker:
    """A LightGBM booster behind ``fit(X, y, groups)`` / ``predict_proba``; its scores are the logistic
    of the booster's raw output (the calibrators map them to probabilities: isotonic is rank-based).

    LightGBM is imported when one is made, so a model without one never needs it."""

    def __init__(self, ranker: CodeRanker, objective: str):
        self.objective = objective
        self.params = {
            "objective": objective, "learning_rate": ranker.learning_rate, "num_leaves": ranker.max_leaf_nodes,
            "min_child_samples": ranker.min_samples_leaf,
            "feature_fraction_bynode": ranker.max_features, "seed": ranker.random_state, "deterministic": True,
            "num_threads": ranker.n_threads or 0, "verbosity": -1, **dict(ranker.lgbm_params or {}),
        }
        if objective == "lambdarank":
            self.params.setdefault("lambdarank_truncation_level", 100)  # MAP reads the whole list (top_k 100)
        self.num_boost_round = ranker.max_iter

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None) -> "_GroupRanker":
        import lightgbm

        order = np.argsort(groups, kind="stable")  # LightGBM wants each group's rows together
        _, sizes = np.unique(groups[order], return_counts=True)
        data = lightgbm.Dataset(
            X[order], label=y[order].astype(np.float32), group=sizes if self.objective != "binary" else None,
            weight=None if weights is None else weights[order],
            categorical_feature=[feature_index("source")], free_raw_data=True,
            params={"max_bin": 255, "verbosity": -1},
        )
        self.booster_ = lightgbm.train(self.params, data, num_boost_round=self.num_boost_round)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = self.booster_.predict(X, raw_score=True, num_threads=self.params["num_threads"])
        p = 1.0 / (1.0 + np.exp(-np.asarray(raw, dtype=np.float64)))
        return np.column_stack([1.0 - p, p])


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's BLAS / OpenMP thread pools, found once: ``threadpool_limits()`` scans the
    loaded libraries on every call (about 2 ms, per request in the service)."""
    return ThreadpoolController()


def _thread_limit(n_threads: int | None) -> AbstractContextManager:
    return nullcontext() if n_threads is None else _threadpools().limit(limits=n_threads)


class _Platt:
    """Platt scaling on the logit of the raw score."""

    def __init__(self, random_state: int):
        self.random_state = random_state

    def fit(self, raw: np.ndarray, y: np.ndarray) -> "_Platt":
        self.model_ = LogisticRegression(C=1e6, random_state=self.random_state).fit(_logit(raw)[:, None], y)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _best_f1_threshold(scores: np.ndarray, y: np.ndarray, n_gold: int) -> float:
    """The score threshold that maximises micro F1; gold codes never scored count as misses."""
    if n_gold == 0 or len(scores) == 0:
        return 0.5
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    tp = np.cumsum(y[order])
    made = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (made + n_gold)
    # only cut between distinct scores
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, f1, -1)
    best = int(np.argmax(f1))
    return float(s[best])
