"""The embedded default model: ranked codes from the code sets alone, with no labelled corpus.

:class:`DictionaryRanker` is a :class:`~.interface.NoteRanker` that scores each
candidate code the pipeline linked to a mention from evidence the pipeline
already measured, so ``codesuggest serve`` works before anyone has trained a
model. It is built (not trained) in well under a second from a
:class:`~codesuggest.codesets.CodeCatalog`.

How a code is scored in one note:

1. each supporting mention gives ``similarity x match x assertion``:

   - ``similarity``: the candidate's link similarity (1.0 for a whole term,
     less for a term found across a window of words, a filler-word variant or
     a nested mention);
   - ``match``: 1.0 when the note uses the code-set wording itself, 0.95 for
     an order-free or synonym match or one through an abbreviation ("MS" has
     several long forms);
   - ``assertion`` (:data:`ASSERTION_WEIGHTS`): present 1.0, historical 0.55
     (the code for "history of" is usually a Z code), family 0.3 (a family
     history code, not the condition), possible 0.15 (uncertain diagnoses are
     not coded in outpatient care), negated 0.03;
   - times 0.85 for a non-billable category code (the billable child should
     rank above it), and 0.93 for an "Other ..." code when the mention does
     not say "other" (a note that just says "pneumonia" is coded with the
     unspecified code J18.9, not J18.8 "Other pneumonia, ...");

2. the code's raw score is its best mention's value plus 0.05 for each
   further present mention (at most +0.15);
3. the raw score goes through a fixed monotone piecewise-linear map
   (:data:`CALIBRATION`) onto [0, 0.95]. The knots were set by judgment, not
   fitted: raw 1.0 (a present, exact, billable mention) maps to 0.85, raw
   0.8 to 0.6, a negated mention to about 0. These are *heuristic*
   confidences; a model trained on coded notes replaces them with calibrated
   ones.

``thresholds_`` are fixed, each system's ``review_threshold``
(:mod:`codesuggest.codesets.systems`): 0.6 for ICD-10-CM and CPT, 0.7 for
ICD-10-PCS (procedure wording matches PCS descriptions less precisely). A present mention linked at similarity 0.9 or more clears
them; a negated, uncertain, family or historical one never does.

When the trained :class:`~codesuggest.models.ranker.CodeRanker` supports
distant supervision from the code descriptions, it can be fitted on those and
replace this model as the default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from ..codesets.systems import review_thresholds
from .interface import RankedCode, top_per_system

ASSERTION_WEIGHTS: dict[str, float] = {
    "present": 1.0, "historical": 0.55, "family": 0.3, "possible": 0.15, "negated": 0.03,
}
# Labels that refine an older one take its weight unless given their own (models saved before them).
LABEL_FALLBACK: dict[str, str] = {"hypothetical": "possible", "resolved": "historical"}
MATCH_WEIGHTS: dict[str, float] = {"wording": 1.0, "term": 0.95, "abbreviation": 0.95}
NONBILLABLE_WEIGHT = 0.85
OTHER_WEIGHT = 0.93
EXTRA_MENTION_BONUS = 0.05
MAX_EXTRA_MENTIONS = 3
# raw score -> confidence, monotone (np.interp over these knots)
CALIBRATION: tuple[tuple[float, ...], tuple[float, ...]] = (
    (0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.15),
    (0.0, 0.01, 0.05, 0.2, 0.45, 0.6, 0.75, 0.85, 0.95),
)
_WORDS_RE = re.compile(r"[a-z0-9]+")
_OTHER_RE = re.compile(r"^other\b|\bother specified\b", re.IGNORECASE)


@lru_cache(maxsize=65536)
def _is_other(description: str) -> bool:
    return _OTHER_RE.search(description) is not None


@lru_cache(maxsize=65536)  # code-set wordings recur note after note
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORDS_RE.findall(text.lower()))


def calibrate(raw: float | np.ndarray) -> float | np.ndarray:
    return np.interp(raw, CALIBRATION[0], CALIBRATION[1])


class DictionaryRanker(BaseEstimator):
    """Scores pipeline candidates by link similarity, match type, mention count and assertion.

    ``fit(catalog=...)`` records the code-set versions and the non-billable codes; analyses
    and labels are accepted for the estimator interface and ignored.
    """

    def __init__(self, assertion_weights: dict[str, float] | None = None, thresholds: dict[str, float] | None = None):
        self.assertion_weights = assertion_weights
        self.thresholds = thresholds

    def fit(self, analyses: Sequence[Any] | None = None, labels: Any = None, *, catalog: Any = None) -> "DictionaryRanker":
        if catalog is None and not analyses:
            raise ValueError("DictionaryRanker.fit needs the catalog (or analyses to take code-set versions from)")
        if catalog is not None:
            self.code_set_versions_ = dict(catalog.versions)
            self.nonbillable_ = frozenset((c.system.value, c.code) for c in catalog if not c.billable)
        else:
            self.code_set_versions_ = dict(analyses[0].code_set_versions)
            self.nonbillable_ = frozenset()
        self.thresholds_ = {**review_thresholds(), **(self.thresholds or {})}
        self.assertion_weights_ = {**ASSERTION_WEIGHTS, **(self.assertion_weights or {})}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "thresholds_"):
            raise RuntimeError("DictionaryRanker is not fitted: call fit(catalog=...) first")

    def rank(self, analyses: Sequence[Any], top_k: int = 50) -> list[list[RankedCode]]:
        self._check_fitted()
        return [self._rank_one(analysis, top_k) for analysis in analyses]

    def _rank_one(self, analysis: Any, top_k: int) -> list[RankedCode]:
        # (system, code) -> [(value, mention index, assertion label, match type)]
        support: dict[tuple[str, str], list[tuple[float, int, str, str]]] = {}
        for index, mention in enumerate(analysis.mentions):
            label = mention.assertion.label
            weight = self.assertion_weights_.get(label, self.assertion_weights_.get(LABEL_FALLBACK.get(label, ""), 1.0))
            mention_words = _words(mention.text)
            for cand in mention.candidates:
                match = _match_type(mention_words, mention.expanded, cand.matched_term or cand.description)
                value = cand.similarity * MATCH_WEIGHTS[match] * weight
                if (cand.system, cand.code) in self.nonbillable_:
                    value *= NONBILLABLE_WEIGHT
                if "other" not in mention_words and _is_other(cand.description):
                    value *= OTHER_WEIGHT
                support.setdefault((cand.system, cand.code), []).append((value, index, label, match))
        keys = list(support)
        raw = []
        for items in support.values():
            items.sort(key=lambda item: (-item[0], item[1]))
            extra = min(sum(1 for item in items[1:] if item[2] == "present"), MAX_EXTRA_MENTIONS)
            raw.append(items[0][0] + EXTRA_MENTION_BONUS * extra)
        # one vectorised calibration per note (np.interp one scalar at a time was ~10 % of a request)
        probabilities = calibrate(np.array(raw, dtype=float)).tolist()
        order = top_per_system(sorted(range(len(keys)), key=lambda j: (-probabilities[j], keys[j])), keys, top_k)
        return [self._ranked(keys[j], probabilities[j], support[keys[j]]) for j in order]

    @staticmethod
    def _ranked(key: tuple[str, str], probability: float, items: list[tuple[float, int, str, str]]) -> RankedCode:
        """The code with its evidence and reason (built for the kept codes only)."""
        best = items[0]
        mentions = f"{len(items)} mentions" if len(items) > 1 else "1 mention"
        indexes = tuple(dict.fromkeys(item[1] for item in items))
        return RankedCode(key[0], key[1], float(probability), indexes, f"{best[3]} match, {best[2]}, {mentions}")


def _match_type(mention_words: tuple[str, ...], expanded: str | None, term: str) -> str:
    if expanded:
        return "abbreviation"
    return "wording" if mention_words == _words(term) else "term"


def build_default_ranker(catalog: Any) -> DictionaryRanker:
    return DictionaryRanker().fit(catalog=catalog)
