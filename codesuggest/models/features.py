"""Candidate codes of a note and the features the re-ranker scores them on.

A note's candidates come from four sources:

- ``direct``: codes the pipeline linked to a mention (with the mentions as evidence);
- ``derived``: the ICD-10-CM category / parent of a direct code, and the 4-character
  ICD-10-PCS prefix of a direct code (CodiEsp codes about half of its procedures as
  prefixes); their evidence is that of the codes under them;
- ``classifier``: the top codes of the note-level text classifier;
- ``history``: a Z80-Z87 history code for a condition mentioned only as family or past history.

:class:`CodeStats` holds what the training labels say about codes (how often seen,
how often a pipeline candidate turned out right, how often a prefix is used instead
of a full code); it is fitted on the training folds only, like everything else.
"""

from __future__ import annotations

import math
import re
import struct
import threading
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np

from ..codesets.systems import calibrated_systems
from ..guidelines.history import history_code
from ..pipeline.normalize import content_words, content_words_at
from ..pipeline.schema import Candidate, Mention, NoteAnalysis

__all__ = ["CM", "PCS", "FEATURE_NAMES", "EXTRA_FEATURES", "extra_feature_names", "CandidateRow", "CodeStats", "NoteCandidates", "build_candidates", "history_code", "parent_codes"]

CM = "ICD10CM"
PCS = "ICD10PCS"
EXACT = 0.999

SOURCE_DIRECT, SOURCE_DERIVED, SOURCE_CLASSIFIER, SOURCE_HISTORY = 0, 1, 2, 3

FEATURE_NAMES = (
    "is_pcs", "source", "max_sim", "mean_sim", "n_mentions", "n_exact", "first_pos", "n_present",
    "n_negated", "n_possible", "n_historical", "n_family", "frac_asserted", "best_cand_rank", "n_top1",
    "kind_match", "code_len", "log_train_count", "train_rate", "seen", "log_group_count", "prefix_rate",
    "cand_precision", "log_cand_count", "clf_prob", "clf_rank", "has_clf", "n_children", "children_max_sim",
    "pcs_section_b", "pcs_section_0", "n_history_section", "n_note_candidates", "is_category",
    "knn_score", "clf_note_rank", "sim_note_rank", "mention_prior_rank", "clf_rel", "knn_rel", "group_prob",
)
_F = {name: i for i, name in enumerate(FEATURE_NAMES)}

# Optional evidence columns, appended after FEATURE_NAMES by group (``build_candidates(extra=...)``):
# the ranker's ``extra_features`` names the groups, so models without them keep their matrix.
EXTRA_FEATURES = {
    # codes labelled together in training notes: P(code | anchor) over the note's anchors (codes a
    # mention matched exactly as its first candidate, and the text classifier's top codes)
    "cooc": ("cooc_max", "cooc_sum", "cooc_n"),
    # the code hierarchy: other codes with evidence in the same CM category / PCS 4-character prefix
    "hier": ("n_siblings", "siblings_max_sim", "parent_exact"),
    # where the evidence is: the first sentence, the last mention's place, distinct sentences
    "where": ("n_first_sentence", "last_pos", "n_sentences"),
    # how many distinct wordings support the code
    "distinct": ("n_distinct_texts",),
    # how often the labels near the code are coarse: the share of labels under the code's first 3 / first
    # character that are a CM category / PCS 4-character prefix (prefix_rate is per category / prefix,
    # unknown for groups never labelled)
    "prefix": ("coarse_rate_3", "coarse_rate_1"),
    # how much of the code's own title the note says, which needs no training label of the code: the share
    # of the title's content words in the note and in the sentences of the supporting mentions, and the
    # title words the note lacks (how many; their summed IDF over the training notes). The title is the
    # linking candidate's; for a code no mention linked (classifier proposals, coarser codes), the one a
    # training note's candidate gave, if any. NaN where there is no title (and title_cov_sent of a code
    # without supporting mentions).
    "desc": ("title_cov_note", "title_cov_sent", "title_n_missing", "title_missing_idf"),
    # whether the note gives the detail a full ICD-10-PCS code names beyond its 4-character prefix (CodiEsp
    # codes about half of its procedures as the prefix): for a full code, its title's tail words (approach,
    # device, qualifier: after the first comma / "with" / "using" / "via") and how many the note lacks; for
    # a prefix, over its linked full codes: the fewest title words one lacks, the best title coverage and how
    # many have every title word in the note. NaN where it does not apply.
    "stop": ("pcs_tail_n", "pcs_tail_missing", "children_min_missing", "children_max_cov", "children_n_covered"),
    # how often training coders chose the code when a mention with the same wording linked it (smoothed
    # toward the code's own cand_precision), the best over the code's mentions, and in how many training
    # notes that wording linked it (log): in CodiEsp, "pain" linked to R52 is mostly coded so, "chest pain"
    # linked to R52 almost never (its code is R07.9).
    # NaN for codes no mention linked directly.
    "wording": ("wording_precision", "wording_log_count"),
}


def extra_feature_names(groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [g for g in groups if g not in EXTRA_FEATURES]
    if unknown:
        raise ValueError(f"unknown extra feature group(s) {unknown}; known: {sorted(EXTRA_FEATURES)}")
    return tuple(name for g in groups for name in EXTRA_FEATURES[g])

# The matrix is filled a group of columns at a time: what depends on the code alone (memoised per
# code), on the note's evidence for it, on the classifiers' scores, and on the note as a whole.
_KEY_FEATURES = ("is_pcs", "code_len", "log_train_count", "train_rate", "seen", "log_group_count", "prefix_rate",
                "cand_precision", "log_cand_count", "pcs_section_b", "pcs_section_0", "is_category")
_EVIDENCE_FEATURES = ("source", "max_sim", "mean_sim", "n_mentions", "n_exact", "first_pos", "n_present",
                      "n_negated", "n_possible", "n_historical", "n_family", "frac_asserted", "best_cand_rank",
                      "n_top1", "kind_match", "n_children", "children_max_sim", "n_history_section",
                      "mention_prior_rank")
_CLASSIFIER_FEATURES = ("clf_prob", "clf_rank", "has_clf", "knn_score", "group_prob")
_NOTE_FEATURES = ("n_note_candidates", "clf_note_rank", "sim_note_rank", "clf_rel", "knn_rel")
assert sorted(_KEY_FEATURES + _EVIDENCE_FEATURES + _CLASSIFIER_FEATURES + _NOTE_FEATURES) == sorted(FEATURE_NAMES)
_KEY_COLUMNS = [_F[name] for name in _KEY_FEATURES]
_EVIDENCE_COLUMNS = [_F[name] for name in _EVIDENCE_FEATURES]
# Rows are packed as float32 by ``struct`` (C's double-to-float cast: NumPy's rounding; every value
# here is far inside float32's range) and a note's rows read as one buffer: ``np.array`` over
# Python tuples converts element by element, at 20-30 ns each.
_KEY_ROW = struct.Struct(f"={len(_KEY_FEATURES)}f")
_EVIDENCE_ROW = struct.Struct(f"={len(_EVIDENCE_FEATURES)}f")
_UNRANKED = 500  # the clf_rank of a code the text classifier does not score
_NO_CAND_RANK, _NO_PRIOR_RANK = 20, 50  # best_cand_rank, mention_prior_rank of a code no mention linked
# the evidence columns of a code only a classifier proposed (no mentions, no linked children)
_NO_EVIDENCE = np.array(
    (SOURCE_CLASSIFIER, 0.0, 0.0, 0, 0, 1.0, 0, 0, 0, 0, 0, -1, _NO_CAND_RANK, 0, 0, 0, 0.0, 0, _NO_PRIOR_RANK),
    dtype=np.float32,
)


def parent_codes(system: str, code: str) -> list[str]:
    """Coarser codes a coder may use instead: CM category and parent levels, the PCS 4-character prefix."""
    if system == CM:
        compact = code.replace(".", "")
        out = []
        for n in range(len(compact) - 1, 2, -1):
            part = compact[:n]
            out.append(part if n <= 3 else f"{part[:3]}.{part[3:]}")
        return out
    if system == PCS and len(code) == 7:
        return [code[:4]]
    return []


class Cooccurrence:
    """P(code | anchor) over training labels, for anchors labelled in at least ``min_count`` notes: a sparse
    matrix with one row per anchor and one column per co-labelled code or its CM category / PCS prefix
    (so a coarser candidate gets credit too)."""

    def __init__(self, labels: list[set[tuple[str, str]]], counts: Counter, min_count: int = 2):
        from scipy.sparse import csr_matrix

        pairs: Counter = Counter()
        for codes in labels:
            with_groups = set(codes) | {(s, CodeStats.group_of(s, c)) for s, c in codes}
            for anchor in codes:
                if counts[anchor] >= min_count:
                    pairs.update((anchor, other) for other in with_groups if other != anchor)
        self.rows = {a: i for i, a in enumerate(sorted({a for a, _ in pairs}))}
        self.columns = {o: j for j, o in enumerate(sorted({o for _, o in pairs}))}
        data = [k / counts[a] for (a, _), k in pairs.items()]
        ij = ([self.rows[a] for a, _ in pairs], [self.columns[o] for _, o in pairs])
        self.matrix = csr_matrix((np.asarray(data, dtype=np.float32), ij), shape=(len(self.rows), len(self.columns)))

    def columns_for(self, anchors, keys: list[tuple[str, str]]) -> np.ndarray:
        """(len(keys), 3): max and sum of P(key | anchor) over ``anchors``, and how many anchors have the key."""
        out = np.zeros((len(keys), 3), dtype=np.float32)
        rows = [self.rows[a] for a in anchors if a in self.rows]
        if not rows:
            return out
        cols = np.fromiter((self.columns.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        found = np.flatnonzero(cols >= 0)
        if not len(found):
            return out
        p = self.matrix[rows][:, cols[found]].toarray()
        out[found, 0] = p.max(axis=0)
        out[found, 1] = p.sum(axis=0)
        out[found, 2] = (p > 0).sum(axis=0)
        return out


class KeyFacts(NamedTuple):
    """What a candidate code brings to any note, given the code statistics."""

    row: bytes  # its _KEY_FEATURES, packed as float32 (see _KEY_ROW)
    precision: float  # CodeStats.precision
    parents: tuple[tuple[str, str], ...]  # parent_codes, as keys
    group: tuple[str, str]  # (system, CodeStats.group_of)


@dataclass
class CodeStats:
    """What the training labels say about codes; fitted on training folds only (read-only once fitted)."""

    n_notes: int = 0
    code_count: Counter = field(default_factory=Counter)  # (system, code) -> notes labelled with it
    group_count: Counter = field(default_factory=Counter)  # (system, group) -> labels in the group
    exact_group_use: Counter = field(default_factory=Counter)  # (system, group) -> labels that are the group itself
    cand_count: Counter = field(default_factory=Counter)  # (system, code) -> notes where it was a direct candidate
    cand_hits: Counter = field(default_factory=Counter)  # ... and a gold code
    cand_prior: float = 0.1
    cooc: "Cooccurrence | None" = field(default=None, compare=False)  # derived from the labels
    word_df: Counter = field(default_factory=Counter)  # content word -> training notes that have it
    titles: dict = field(default_factory=dict)  # (system, code) labelled in training -> its title, from a candidate
    # (mention text in lower case, system, code) -> [training notes where that wording linked the code, of
    # which the code was gold]
    wording_use: dict = field(default_factory=dict)
    # (system, first 1 or 3 characters) -> [coarse labels, labels] (derived from the labels)
    coarse_use: dict = field(default_factory=dict, compare=False)

    @staticmethod
    def group_of(system: str, code: str) -> str:
        """The CM category (3 characters) or the PCS 4-character prefix: both are codes CodiEsp uses."""
        return code[:3] if system == CM else code[:4]

    @classmethod
    def fit(cls, analyses: list[NoteAnalysis], labels: list[set[tuple[str, str]]], wordings: bool = True) -> "CodeStats":
        """``wordings``: count ``wording_use`` (the table the ``wording`` features read; False leaves it empty)."""
        stats = cls(n_notes=len(labels))
        for codes in labels:
            for system, code in codes:
                stats.code_count[(system, code)] += 1
                group = cls.group_of(system, code)
                stats.group_count[(system, group)] += 1
                if code.replace(".", "") == group:
                    stats.exact_group_use[(system, group)] += 1
        hits = total = 0
        for analysis, codes in zip(analyses, labels):
            keys = set(analysis.candidates())
            keys |= {(system, parent) for system, code in list(keys) for parent in parent_codes(system, code)}
            for key in keys:
                stats.cand_count[key] += 1
                total += 1
                if key in codes:
                    stats.cand_hits[key] += 1
                    hits += 1
        stats.cand_prior = (hits + 1) / (total + 10)
        for analysis, codes in zip(analyses, labels) if wordings else ():
            pairs = {(wording_of(m), c.system, c.code) for m in analysis.mentions for c in m.candidates}
            for pair in pairs:
                use = stats.wording_use.setdefault(pair, [0, 0])
                use[0] += 1
                use[1] += pair[1:] in codes
        stats.cooc = Cooccurrence(labels, stats.code_count)
        for analysis in analyses:
            stats.word_df.update(note_words(analysis))
            for mention in analysis.mentions:
                for cand in mention.candidates:
                    key = (cand.system, cand.code)
                    if key in stats.code_count and key not in stats.titles:
                        stats.titles[key] = cand.description
        for codes in labels:
            for system, code in codes:
                coarse = code.replace(".", "") == cls.group_of(system, code)
                for n in (1, 3):
                    use = stats.coarse_use.setdefault((system, code[:n]), [0, 0])
                    use[0] += coarse
                    use[1] += 1
        return stats

    @cached_property
    def idf(self) -> tuple[dict[str, float], float]:
        """(word -> log((notes + 1) / (notes with the word + 1)), the value of a word no training note has).
        Derived at run time and never pickled, like the key memo."""
        df = getattr(self, "word_df", None) or {}  # statistics pickled before it have none
        top = math.log(self.n_notes + 1)
        return {w: top - math.log(k + 1) for w, k in df.items()}, top

    def idf_of_ids(self, n_vocab: int) -> np.ndarray:
        """``idf`` of each word of ``_TITLE_VOCAB`` by id, for at least ``n_vocab`` ids (extended as the
        vocabulary grows; derived at run time, never pickled)."""
        cached = self.__dict__.get("_idf_ids")
        if cached is None or len(cached) < n_vocab:
            table, unknown = self.idf
            done = 0 if cached is None else len(cached)
            new = np.asarray([table.get(w, unknown) for w in _TITLE_WORDS[done:]], dtype=np.float64)
            cached = self.__dict__["_idf_ids"] = new if cached is None else np.concatenate([cached, new])
        return cached

    def precision(self, key: tuple[str, str], strength: float = 2.0) -> float:
        # .get, not [ ]: a Counter's missing key is a Python-level __missing__ call (hot path)
        return (self.cand_hits.get(key, 0) + strength * self.cand_prior) / (self.cand_count.get(key, 0) + strength)

    def prefix_rate(self, system: str, group: str) -> float:
        """Share of the labels under ``group`` that are the group itself (smoothed toward 0.5)."""
        key = (system, group)
        return (self.exact_group_use.get(key, 0) + 0.5) / (self.group_count.get(key, 0) + 1.0)

    def key_facts(self, keys: list[tuple[str, str]]) -> list[KeyFacts]:
        """The :class:`KeyFacts` of each key.

        Memoised for the codes these statistics know (all but a few percent of a note's
        candidates), so the memo is bounded by the fitted counts; other codes are computed
        on every call. The memo is derived at run time and never pickled: models saved
        before it existed load and score the same.
        """
        memo = self._key_memo
        return [memo.get(key) or self._new_key_facts(key) for key in keys]

    @cached_property
    def _key_memo(self) -> dict[tuple[str, str], KeyFacts]:
        return {}

    def _new_key_facts(self, key: tuple[str, str]) -> KeyFacts:
        system, code = key
        facts = KeyFacts(
            _KEY_ROW.pack(*self.key_features(key)),
            self.precision(key),
            tuple((system, parent) for parent in parent_codes(system, code)),
            (system, self.group_of(system, code)),
        )
        if key in self.cand_count or key in self.code_count:
            self._key_memo[key] = facts
        return facts

    def key_features(self, key: tuple[str, str]) -> tuple[float, ...]:
        """A candidate's features that depend on its code alone, in ``_KEY_FEATURES`` order."""
        system, code = key
        is_cm = system == CM
        count = self.code_count.get(key, 0)
        group = self.group_of(system, code)
        return (
            not is_cm,                                                  # is_pcs
            len(code.replace(".", "")),                                 # code_len
            math.log1p(count),                                          # log_train_count
            count / max(self.n_notes, 1),                               # train_rate
            count > 0,                                                  # seen
            math.log1p(self.group_count.get((system, group), 0)),       # log_group_count
            self.prefix_rate(system, group),
            self.precision(key),                                        # cand_precision
            math.log1p(self.cand_count.get(key, 0)),                    # log_cand_count
            not is_cm and code[:1] == "B",                              # pcs_section_b
            not is_cm and code[:1] == "0",                              # pcs_section_0
            is_cm and len(code) == 3,                                   # is_category
        )

    def __getstate__(self) -> dict:
        """The fitted counts, without the run-time memo."""
        state = self.__dict__.copy()
        state.pop("_key_memo", None)
        state.pop("idf", None)
        state.pop("_idf_ids", None)
        return state


@dataclass
class CandidateRow:
    """One candidate code of a note: its feature vector and evidence (for inspecting candidates;
    the ranker reads the matrix)."""

    system: str
    code: str
    features: np.ndarray
    mention_indexes: tuple[int, ...]
    matched_term: str = ""


@dataclass
class NoteCandidates:
    """Every candidate code of one note: ``X`` holds one row of ``FEATURE_NAMES`` features per key.

    One matrix per note rather than one array per candidate: a note has a few hundred
    candidates, and the re-ranker scores them all at once.
    """

    keys: list[tuple[str, str]]
    X: np.ndarray
    mention_indexes: list[tuple[int, ...]]
    terms: list[list[str]]

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[CandidateRow]:
        return (self.row(j) for j in range(len(self.keys)))

    @property
    def systems(self) -> list[str]:
        return [system for system, _ in self.keys]

    def row(self, j: int) -> CandidateRow:
        system, code = self.keys[j]
        return CandidateRow(system, code, self.X[j], self.mention_indexes[j], self.matched_term(j))

    def matched_term(self, j: int) -> str:
        """The code-set wording that matched candidate ``j`` most often (the first of equals), or ``""``."""
        terms = self.terms[j]
        if len(terms) < 2:  # most candidates (a Counter would cost more than the rest of a ranked code)
            return terms[0] if terms else ""
        return Counter(terms).most_common(1)[0][0]


class _Acc:
    """What a note's mentions say about one candidate code (direct, derived or history)."""

    __slots__ = ("source", "sims", "mentions", "exact", "best_rank", "top1", "kind_match", "terms", "n_children",
                 "children_sim", "prior_rank", "description")

    def __init__(self, source: int, best_rank: int = _NO_CAND_RANK):
        self.source = source
        self.sims: list[float] = []
        self.mentions: tuple[int, ...] = ()  # a tuple: what NoteCandidates keeps
        self.exact = 0
        self.best_rank = best_rank  # a direct code's best place among a mention's candidates
        self.top1 = 0
        self.kind_match = 0
        self.terms: list[str] = []
        self.n_children = 0
        self.children_sim = 0.0
        self.prior_rank = _NO_PRIOR_RANK
        self.description = ""  # the code's title, from the candidate that linked it (direct codes only)


class _ColumnIndex:
    """Where each code is among a classifier's columns, and which columns belong to each system."""

    def __init__(self, codes: list[tuple[str, str]]):
        self.position = {key: j for j, key in enumerate(codes)}
        self.system_columns: dict[str, np.ndarray] = {}
        for system in calibrated_systems():
            cols = np.asarray([j for j, (s, _) in enumerate(codes) if s == system], dtype=np.int64)
            if len(cols):
                self.system_columns[system] = cols

    def columns(self, keys: list[tuple[str, str]]) -> np.ndarray:
        """Each key's column, or -1."""
        position = self.position
        return np.fromiter((position.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))


_INDEX_CACHE: dict[int, tuple[list, _ColumnIndex]] = {}


def _column_index(codes: list[tuple[str, str]]) -> _ColumnIndex:
    """Column positions of a classifier's codes (cached per code list object)."""
    cached = _INDEX_CACHE.get(id(codes))
    if cached is None or cached[0] is not codes:
        if len(_INDEX_CACHE) > 16:
            _INDEX_CACHE.clear()
        cached = _INDEX_CACHE[id(codes)] = (codes, _ColumnIndex(codes))
    return cached[1]


def _mention_facts(analysis: NoteAnalysis) -> list[tuple[int, int, int, int, int, int, int]]:
    """Per mention: negated, possible, historical, family, plainly present, in a history section, start."""
    facts = []
    for m in analysis.mentions:
        a = m.assertion
        present = not (a.negated or a.possible or a.family or a.historical)
        facts.append((a.negated, a.possible, a.historical, a.family, present, "history" in m.section, m.start))
    return facts


def build_candidates(
    analysis: NoteAnalysis,
    stats: CodeStats,
    clf_codes: list[tuple[str, str]] | None = None,
    clf_probs: np.ndarray | None = None,
    clf_top_n: int = 30,
    knn_scores: np.ndarray | None = None,
    group_codes: list[tuple[str, str]] | None = None,
    group_probs: np.ndarray | None = None,
    group_top_n: int = 10,
    extra: tuple[str, ...] = (),
) -> NoteCandidates:
    """Every candidate code of one note with its features (``FEATURE_NAMES`` columns).

    The rows are the codes with evidence in the note (direct, derived, history), then the
    codes only the classifiers proposed (about a third of a note's candidates: their
    evidence columns are constants, so they get no accumulator).
    """
    accs = _direct_and_derived(analysis, stats)
    proposed: dict[tuple[str, str], None] = {}  # an ordered set
    clf_ranks = _classifier_proposals(accs, proposed, clf_codes, clf_probs, clf_top_n, knn_scores)
    n_with_clf = len(accs) + len(proposed)
    _group_proposals(accs, proposed, group_codes, group_probs, group_top_n)
    keys = [*accs, *proposed]
    facts = stats.key_facts(keys)
    X = _feature_matrix(analysis, stats, keys, accs, facts)
    if clf_codes is not None and len(clf_codes):
        _classifier_columns(X, keys, n_with_clf, _column_index(clf_codes), clf_probs, clf_ranks, knn_scores)
    if group_codes is not None and group_probs is not None and len(group_codes):
        _group_column(X, keys, _column_index(group_codes), group_probs)
    _within_note_features(X)
    if extra:
        X = np.hstack([X, _extra_columns(analysis, stats, keys, accs, facts, X, extra, clf_codes, clf_probs)])
    mention_indexes = [acc.mentions for acc in accs.values()] + [()] * len(proposed)
    terms = [acc.terms for acc in accs.values()] + [[] for _ in proposed]
    return NoteCandidates(keys, X, mention_indexes, terms)


def _direct_and_derived(analysis: NoteAnalysis, stats: CodeStats) -> dict[tuple[str, str], _Acc]:
    """The pipeline's codes (direct), their parents / prefixes (derived) and history codes."""
    accs: dict[tuple[str, str], _Acc] = {}
    parents_of: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}  # per direct code
    history_src: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, mention in enumerate(analysis.mentions):
        a = mention.assertion
        cands = mention.candidates
        keys = [(cand.system, cand.code) for cand in cands]
        facts = stats.key_facts(keys)
        prior_rank = _prior_ranks(cands, [fact.precision for fact in facts])
        is_diagnosis = mention.kind == "diagnosis"
        for rank, (cand, key) in enumerate(zip(cands, keys)):
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = _Acc(SOURCE_DIRECT, rank)
                acc.description = cand.description
                parents_of[key] = facts[rank].parents
            elif rank < acc.best_rank:
                acc.best_rank = rank
            acc.sims.append(float(cand.similarity))
            if not acc.mentions or acc.mentions[-1] != i:
                acc.mentions += (i,)
            acc.exact += cand.similarity >= EXACT
            acc.top1 += rank == 0
            if prior_rank[rank] < acc.prior_rank:  # min(), without a builtin call per candidate (12% of this)
                acc.prior_rank = prior_rank[rank]
            acc.kind_match += is_diagnosis == (cand.system == CM)
            if cand.matched_term:
                acc.terms.append(cand.matched_term)
            if cand.system == CM and rank == 0 and (a.family or a.historical):
                hist = history_code(cand.code, family=a.family)
                if hist:
                    history_src[(CM, hist)].append(i)
    for key, parents in parents_of.items():
        if not parents:
            continue
        acc = accs[key]
        best = max(acc.sims)
        for parent in parents:
            pacc = accs.get(parent)
            if pacc is None:
                pacc = accs[parent] = _Acc(SOURCE_DERIVED)
            if pacc.source == SOURCE_DERIVED:
                for m in acc.mentions:
                    if m not in pacc.mentions:
                        pacc.mentions += (m,)
            pacc.n_children += 1  # each child is a distinct code: a count is the size of their set
            if best > pacc.children_sim:  # max(), likewise
                pacc.children_sim = best
    for key, idxs in history_src.items():
        if key not in accs:
            acc = accs[key] = _Acc(SOURCE_HISTORY)
            acc.mentions = tuple(sorted(set(idxs)))
    return accs


def _prior_ranks(cands: tuple[Candidate, ...], precisions: list[float]) -> list[int]:
    """Each of a mention's candidates' place by how often coders chose it in training (then by similarity)."""
    by_prior = sorted((-p, -cand.similarity, r) for r, (p, cand) in enumerate(zip(precisions, cands)))
    ranks = [0] * len(by_prior)
    for p, (_, _, r) in enumerate(by_prior):
        ranks[r] = p
    return ranks


def _classifier_proposals(
    accs: dict[tuple[str, str], _Acc],
    proposed: dict[tuple[str, str], None],
    clf_codes: list[tuple[str, str]] | None,
    clf_probs: np.ndarray | None,
    clf_top_n: int,
    knn_scores: np.ndarray | None,
) -> np.ndarray | None:
    """Add the text classifier's top codes and the neighbours' codes to ``proposed`` (unless they have evidence).

    Returns each classifier column's rank within its system (-1 outside the calibrated systems), or None without scores.
    """
    if clf_codes is None or not len(clf_codes):
        return None
    if knn_scores is not None:
        for j in np.flatnonzero(knn_scores > 0).tolist():
            if clf_codes[j] not in accs:
                proposed[clf_codes[j]] = None
    if clf_probs is None:
        return None
    return _propose_top(accs, proposed, clf_codes, clf_probs, clf_top_n)


def _group_proposals(
    accs: dict[tuple[str, str], _Acc],
    proposed: dict[tuple[str, str], None],
    group_codes: list[tuple[str, str]] | None,
    group_probs: np.ndarray | None,
    group_top_n: int,
) -> None:
    """Add the group classifier's top categories / prefixes to ``proposed`` (unless they have evidence)."""
    if group_codes is None or group_probs is None or not len(group_codes):
        return
    _propose_top(accs, proposed, group_codes, group_probs, group_top_n)


def _propose_top(
    accs: dict[tuple[str, str], _Acc],
    proposed: dict[tuple[str, str], None],
    codes: list[tuple[str, str]],
    probs: np.ndarray,
    top_n: int,
) -> np.ndarray:
    """Add each system's ``top_n`` codes by ``probs`` to ``proposed`` (unless they have evidence);
    returns each column's rank within its system (-1 outside the calibrated systems)."""
    ranks = np.full(len(codes), -1, dtype=np.int64)
    for cols in _column_index(codes).system_columns.values():
        order = np.argsort(-probs[cols], kind="stable")
        ranks[cols[order]] = np.arange(len(order))
        for j in cols[order[:top_n]].tolist():
            if codes[j] not in accs:
                proposed[codes[j]] = None
    return ranks


def _feature_matrix(analysis: NoteAnalysis, stats: CodeStats, keys: list[tuple[str, str]],
                    accs: dict[tuple[str, str], _Acc], facts: list[KeyFacts] | None = None) -> np.ndarray:
    """The features of the code alone and of the note's evidence; the classifiers' columns as if unscored.

    ``keys`` are those of ``accs`` then the proposed codes, whose evidence columns are constants.
    """
    X = np.zeros((len(keys), len(FEATURE_NAMES)), dtype=np.float32)
    X[:, _F["clf_rank"]] = _UNRANKED
    facts = stats.key_facts(keys) if facts is None else facts
    X[:, _KEY_COLUMNS] = _rows(b"".join([fact.row for fact in facts]), len(_KEY_FEATURES))
    X[: len(accs), _EVIDENCE_COLUMNS] = _evidence_rows(analysis, accs)
    X[len(accs):, _EVIDENCE_COLUMNS] = _NO_EVIDENCE
    X[:, _F["n_note_candidates"]] = len(keys)
    return X


def _evidence_rows(analysis: NoteAnalysis, accs: dict[tuple[str, str], _Acc]) -> np.ndarray:
    """The ``_EVIDENCE_FEATURES`` of each accumulated code (packed row by row: see ``_EVIDENCE_ROW``)."""
    text_len = max(len(analysis.text), 1)
    facts = _mention_facts(analysis)
    rows = bytearray(_EVIDENCE_ROW.size * len(accs))
    for k, acc in enumerate(accs.values()):
        neg = poss = hist = fam = present = in_history = 0
        first = text_len
        for i in acc.mentions:
            fact = facts[i]
            neg += fact[0]
            poss += fact[1]
            hist += fact[2]
            fam += fact[3]
            present += fact[4]
            in_history += fact[5]
            if fact[6] < first:  # min(), without a builtin call (a tenth of this loop)
                first = fact[6]
        n_ment = len(acc.mentions)
        sims = acc.sims
        _EVIDENCE_ROW.pack_into(
            rows, k * _EVIDENCE_ROW.size,
            acc.source,
            max(sims) if sims else 0.0,                                 # max_sim
            sum(sims) / len(sims) if sims else 0.0,                     # mean_sim
            n_ment,
            acc.exact,
            first / text_len,                                           # first_pos
            present, neg, poss, hist, fam,
            present / n_ment if n_ment else -1,                         # frac_asserted
            acc.best_rank,                                              # best_cand_rank
            acc.top1,
            acc.kind_match,
            acc.n_children,
            acc.children_sim,
            in_history,                                                 # n_history_section
            acc.prior_rank,                                             # mention_prior_rank
        )
    return _rows(rows, len(_EVIDENCE_FEATURES))


def _extra_columns(analysis: NoteAnalysis, stats: CodeStats, keys: list[tuple[str, str]],
                   accs: dict[tuple[str, str], _Acc], facts: list[KeyFacts], X: np.ndarray, groups: tuple[str, ...],
                   clf_codes: list[tuple[str, str]] | None, clf_probs: np.ndarray | None) -> np.ndarray:
    """The ``EXTRA_FEATURES`` columns of ``groups``, in that order (rows as ``keys``; ``X``: their
    ``FEATURE_NAMES`` columns, ``facts``: their key facts)."""
    parts = []
    titles = None  # _title_columns, for desc and stop
    for group in groups:
        if group == "cooc":
            parts.append(_cooc_columns(stats, keys, accs, clf_codes, clf_probs))
        elif group == "hier":
            parts.append(_hierarchy_columns(keys, facts, X))
        elif group == "where":
            parts.append(_where_columns(analysis, len(keys), accs))
        elif group == "prefix":
            use = getattr(stats, "coarse_use", {})
            rates = {}
            col = np.zeros((len(keys), 2), dtype=np.float32)
            for j, (system, code) in enumerate(keys):
                for k, n in enumerate((3, 1)):
                    key = (system, code[:n])
                    rate = rates.get(key)
                    if rate is None:
                        coarse, total = use.get(key, (0, 0))
                        rate = rates[key] = (coarse + 0.5) / (total + 1.0)
                    col[j, k] = rate
            parts.append(col)
        elif group == "desc":
            if titles is None:
                titles = _title_columns(analysis, stats, keys, accs, "stop" in groups)
            parts.append(titles[:, :4])
        elif group == "stop":
            if titles is None:
                titles = _title_columns(analysis, stats, keys, accs, True)
            parts.append(_stop_columns(keys, titles))
        elif group == "wording":
            parts.append(_wording_columns(analysis, stats, keys, accs, facts))
        elif group == "distinct":
            text_ids: dict[str, int] = {}
            ids = np.fromiter((text_ids.setdefault(m.text.lower(), len(text_ids)) for m in analysis.mentions),
                              dtype=np.int64, count=len(analysis.mentions))
            row_of, mention_of = _support(accs)
            col = np.zeros((len(keys), 1), dtype=np.float32)
            if len(row_of):
                col[:, 0] = _count_distinct(row_of, ids[mention_of], len(keys))
            parts.append(col)
        else:
            raise ValueError(f"unknown extra feature group {group!r}")
    return np.hstack(parts) if parts else np.zeros((len(keys), 0), dtype=np.float32)


def wording_of(mention: Mention) -> str:
    """What makes two mentions "the same words" for the ``wording`` features (and their table)."""
    return mention.text.lower()


def _wording_columns(analysis: NoteAnalysis, stats: CodeStats, keys: list[tuple[str, str]],
                     accs: dict[tuple[str, str], _Acc], facts: list[KeyFacts]) -> np.ndarray:
    """The ``wording`` group (see ``EXTRA_FEATURES``); ``facts``: the keys' (their ``precision`` is the prior)."""
    use = getattr(stats, "wording_use", None) or {}  # statistics pickled before it have none
    get = use.get
    out = np.full((len(keys), 2), np.nan, dtype=np.float32)
    texts = [wording_of(m) for m in analysis.mentions]
    for j, (key, acc) in enumerate(accs.items()):
        if acc.source != SOURCE_DIRECT:
            continue
        prior = facts[j].precision
        best, most = -1.0, 0
        system, code = key
        for i in acc.mentions:
            found = get((texts[i], system, code))
            if found is None:  # a wording never seen in training: the code's own precision
                value = prior
            else:
                value = (found[1] + 2.0 * prior) / (found[0] + 2.0)
                if found[0] > most:
                    most = found[0]
            if value > best:
                best = value
        out[j, 0] = best
        out[j, 1] = math.log1p(most)
    return out


_N_CLF_ANCHORS = 5  # the text classifier's top codes taken as co-occurrence anchors


def _cooc_columns(stats: CodeStats, keys, accs, clf_codes, clf_probs) -> np.ndarray:
    """cooc_max / cooc_sum: the largest / summed P(code | anchor) over the note's anchors other than the
    code itself; cooc_n: how many anchors were labelled with it at all."""
    cooc = getattr(stats, "cooc", None)  # statistics pickled before it have none
    if cooc is None:
        return np.zeros((len(keys), 3), dtype=np.float32)
    anchors = {key for key, acc in accs.items() if acc.source == SOURCE_DIRECT and acc.top1 and acc.exact}
    if clf_codes is not None and clf_probs is not None and len(clf_codes):
        top = np.argpartition(-clf_probs, _N_CLF_ANCHORS)[:_N_CLF_ANCHORS] if len(clf_probs) > _N_CLF_ANCHORS else \
            np.arange(len(clf_probs))
        for j in top.tolist():
            anchors.add(clf_codes[j])
    return cooc.columns_for(anchors, keys)


def _hierarchy_columns(keys: list[tuple[str, str]], facts: list[KeyFacts], X: np.ndarray) -> np.ndarray:
    """n_siblings: other direct codes in the code's CM category / PCS prefix; siblings_max_sim: their best
    similarity; parent_exact: a coarser code of this one matched a mention exactly."""
    out = np.zeros((len(keys), 3), dtype=np.float32)
    direct = X[:, _F["source"]] == SOURCE_DIRECT
    if not direct.any():
        return out
    group_ids: dict[tuple[str, str], int] = {}
    gid = np.fromiter((group_ids.setdefault(fact.group, len(group_ids)) for fact in facts), dtype=np.int64,
                      count=len(keys))
    sims = X[:, _F["max_sim"]]
    rows = np.flatnonzero(direct)
    n_groups = len(group_ids)
    count = np.bincount(gid[rows], minlength=n_groups)
    # each group's best direct row and the best similarity of the others
    order = rows[np.lexsort((-sims[rows], gid[rows]))]
    first = np.r_[True, gid[order][1:] != gid[order][:-1]]
    best_row = np.full(n_groups, -1)
    best_row[gid[order[first]]] = order[first]
    best = np.zeros(n_groups, dtype=np.float32)
    best[gid[order[first]]] = sims[order[first]]
    second = np.zeros(n_groups, dtype=np.float32)
    after_first = np.r_[False, first[:-1]] & ~first  # the second row of a group
    second[gid[order[after_first]]] = sims[order[after_first]]
    n = count[gid] - direct
    is_best = best_row[gid] == np.arange(len(keys))
    out[:, 0] = n
    out[:, 1] = np.where(n > 0, np.where(is_best, second[gid], best[gid]), 0.0)
    exact = {keys[j] for j in np.flatnonzero(direct & (X[:, _F["n_exact"]] > 0)).tolist()}
    if exact:
        out[:, 2] = [not exact.isdisjoint(fact.parents) for fact in facts]
    return out


def _support(accs: dict[tuple[str, str], _Acc]) -> tuple[np.ndarray, np.ndarray]:
    """(row, mention) index pairs: each accumulated code's supporting mentions, flattened."""
    lengths = [len(acc.mentions) for acc in accs.values()]
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    mention_of = np.fromiter((i for acc in accs.values() for i in acc.mentions), dtype=np.int64, count=len(row_of))
    return row_of, mention_of


def _count_distinct(row_of: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """Per row, the number of distinct ``values`` (non-negative) among its pairs."""
    pairs = np.unique(row_of * (int(values.max()) + 1) + values)
    return np.bincount(pairs // (int(values.max()) + 1), minlength=n_rows)


def _where_columns(analysis: NoteAnalysis, n_rows: int, accs: dict[tuple[str, str], _Acc]) -> np.ndarray:
    """n_first_sentence: supporting mentions in the note's first sentence; last_pos: the last one's place
    (0-1); n_sentences: distinct sentences with a supporting mention."""
    out = np.zeros((n_rows, 3), dtype=np.float32)
    mentions = analysis.mentions
    row_of, mention_of = _support(accs)
    if not len(row_of):
        return out
    starts = np.fromiter((m.start for m in mentions), dtype=np.int64, count=len(mentions))
    sentences = np.fromiter((m.sentence_start for m in mentions), dtype=np.int64, count=len(mentions))
    first_end = min(m.sentence_end for m in mentions)
    out[:, 0] = np.bincount(row_of, weights=starts[mention_of] < first_end, minlength=n_rows)
    # row_of is sorted and every accumulated code has a mention: one segment per row of accs
    bounds = np.flatnonzero(np.r_[True, row_of[1:] != row_of[:-1]])
    out[row_of[bounds], 1] = np.maximum.reduceat(starts[mention_of], bounds) / max(len(analysis.text), 1)
    out[:, 2] = _count_distinct(row_of, sentences[mention_of], n_rows)
    return out


def note_words(analysis: NoteAnalysis) -> set[str]:
    """The note's content words as the term index reads them (stemmed, synonyms applied), with the long
    forms of its abbreviations."""
    words = set(content_words_at(analysis.text)[0])
    for m in analysis.mentions:
        if m.expanded:
            words.update(content_words(m.expanded))
    return words


@lru_cache(maxsize=100_000)
def title_words(description: str) -> frozenset[str]:
    """The content words of a code's title (filler such as "unspecified" and "other" dropped)."""
    return frozenset(content_words(description))


@lru_cache(maxsize=20_000)
def _expanded_words(expanded: str) -> tuple[str, ...]:
    return tuple(content_words(expanded))


def _title_columns(analysis: NoteAnalysis, stats: CodeStats, keys: list[tuple[str, str]],
                   accs: dict[tuple[str, str], _Acc], tails: bool = False) -> np.ndarray:
    """title_cov_note / title_cov_sent: the share of the code's title words in the note / in the sentences of
    its supporting mentions; title_n_missing / title_missing_idf: the title words the note lacks and their
    summed IDF. The title is the linking candidate's, else ``stats.titles``'; NaN without one (and
    title_cov_sent without supporting mentions). Then two columns for full ICD-10-PCS codes (NaN for
    others, and for all without ``tails``): the title's tail words (see ``pcs_tail_words``) and how many
    the note lacks.

    Vectorised over (row, title word) pairs, words as ids of ``_TITLE_VOCAB``: a Python loop with set
    operations per candidate cost a quarter of the ranker's time."""
    out = np.full((len(keys), 6), np.nan, dtype=np.float32)
    known = getattr(stats, "titles", None) or {}  # statistics pickled before it have none
    accs_list = list(accs.values())
    n_accs = len(accs_list)
    rows: list[int] = []
    descriptions: list[str] = []
    for j, key in enumerate(keys):
        description = accs_list[j].description if j < n_accs else ""
        if not description:
            description = known.get(key, "")
        if description:
            rows.append(j)
            descriptions.append(description)
    if not rows:
        return out
    id_arrays = [_title_ids(d) for d in descriptions]
    lengths = np.fromiter(map(len, id_arrays), dtype=np.int64, count=len(id_arrays))
    keep = lengths > 0
    if not keep.all():
        rows = [r for r, k in zip(rows, keep.tolist()) if k]
        descriptions = [d for d, k in zip(descriptions, keep.tolist()) if k]
        id_arrays = [ids for ids, k in zip(id_arrays, keep.tolist()) if k]
        lengths = lengths[keep]
        if not rows:
            return out
    vocab = _TITLE_VOCAB
    n_vocab = len(vocab)
    ids = np.concatenate(id_arrays)
    pair_row = np.repeat(np.arange(len(rows)), lengths)  # index into rows

    words, starts = content_words_at(analysis.text)
    mentions = analysis.mentions
    get = vocab.get
    word_ids = np.fromiter((get(w, -1) for w in words), dtype=np.int64, count=len(words))
    in_note = np.zeros(n_vocab, dtype=bool)
    in_note[word_ids[word_ids >= 0]] = True
    for m in mentions:
        if m.expanded:
            in_note[_vocab_ids(_expanded_words(m.expanded))] = True
    missing = ~in_note[ids]
    n_missing = np.bincount(pair_row, weights=missing, minlength=len(rows))
    idf_missing = np.bincount(pair_row, weights=np.where(missing, stats.idf_of_ids(n_vocab)[ids], 0.0),
                              minlength=len(rows))
    cov_sent = _sentence_coverage(analysis, accs_list, rows, ids, pair_row, word_ids, starts, n_vocab)

    r = np.asarray(rows)
    out[r, 0] = 1 - n_missing / lengths
    out[r, 1] = cov_sent / lengths
    out[r, 2] = n_missing
    out[r, 3] = idf_missing
    if tails:
        note_words_ = {w for w in words} | {w for m in mentions if m.expanded for w in _expanded_words(m.expanded)}
        for j, description in zip(rows, descriptions):
            system, code = keys[j]
            if system == PCS and len(code) == 7:
                tail = pcs_tail_words(description)
                out[j, 4:] = (len(tail), len(tail - note_words_))
    return out


_TITLE_VOCAB: dict[str, int] = {}  # every title word seen so far -> an id (bounded by the code sets' words)
_TITLE_WORDS: list[str] = []  # id -> word
_VOCAB_LOCK = threading.Lock()  # the service ranks on several threads


@lru_cache(maxsize=100_000)
def _title_ids(description: str) -> np.ndarray:
    """The ids of a title's content words (new words get new ids)."""
    words = sorted(title_words(description))
    if any(w not in _TITLE_VOCAB for w in words):
        with _VOCAB_LOCK:
            for w in words:
                if w not in _TITLE_VOCAB:
                    _TITLE_WORDS.append(w)
                    _TITLE_VOCAB[w] = len(_TITLE_WORDS) - 1
    return np.asarray([_TITLE_VOCAB[w] for w in words], dtype=np.int64)


def _vocab_ids(words) -> np.ndarray:
    """The ids of the words that some title has (others can match no title word)."""
    found = [_TITLE_VOCAB.get(w, -1) for w in words]
    return np.asarray([i for i in found if i >= 0], dtype=np.int64)


def _sentence_coverage(analysis: NoteAnalysis, accs_list: list[_Acc], rows: list[int], ids: np.ndarray,
                       pair_row: np.ndarray, word_ids: np.ndarray, starts: list[int], n_vocab: int) -> np.ndarray:
    """Per row of ``rows``: how many of its title words (``ids``, one pair per word) are in the sentences of
    its supporting mentions; NaN for rows without supporting mentions. Rows with the same mentions share
    one set of sentence words (a group), and the pairs are matched against each group's words at once."""
    mentions = analysis.mentions
    group_of: dict[tuple[int, ...], int] = {}
    row_group = np.full(len(rows), -1, dtype=np.int64)
    n_accs = len(accs_list)
    for k, j in enumerate(rows):
        if j < n_accs and accs_list[j].mentions:
            row_group[k] = group_of.setdefault(accs_list[j].mentions, len(group_of))
    if not group_of:
        return np.full(len(rows), np.nan)
    sentence_ids: dict[int, np.ndarray] = {}  # sentence start -> ids of its words (and its mentions' long forms)
    for m in mentions:
        found = sentence_ids.get(m.sentence_start)
        if found is None:
            found = word_ids[bisect_left(starts, m.sentence_start):bisect_left(starts, m.sentence_end)]
            found = found[found >= 0]
        if m.expanded:
            found = np.concatenate([found, _vocab_ids(_expanded_words(m.expanded))])
        sentence_ids[m.sentence_start] = found
    group_keys = []
    for mention_indexes, g in group_of.items():
        sentences = {mentions[i].sentence_start for i in mention_indexes}
        group_keys.extend(g * n_vocab + sentence_ids[s] for s in sentences)
    near = np.unique(np.concatenate(group_keys)) if group_keys else np.zeros(0, dtype=np.int64)
    pair_group = row_group[pair_row]
    pair_keys = pair_group * n_vocab + ids
    hit = (pair_group >= 0) & np.isin(pair_keys, near, assume_unique=False)
    counts = np.bincount(pair_row, weights=hit, minlength=len(rows))
    return np.where(row_group >= 0, counts, np.nan)


_PAREN_RE = re.compile(r"\s*(\([^)]*\)|\[[^\]]*\])")
_PCS_TAIL_RE = re.compile(r",.*$|\s+(?:with|using|via)\s+.*$", re.IGNORECASE)  # as the term index cuts it


@lru_cache(maxsize=50_000)
def pcs_tail_words(description: str) -> frozenset[str]:
    """The title words of an ICD-10-PCS code after its operation and body part: what the first comma or
    "with" / "using" / "via" starts ("Drainage of Pleural Cavity with Drainage Device, Open Approach" ->
    drainage device open approach, less the words the core already has)."""
    core = _PCS_TAIL_RE.sub("", _PAREN_RE.sub("", description))
    return title_words(description) - title_words(core)


def _stop_columns(keys: list[tuple[str, str]], titles: np.ndarray) -> np.ndarray:
    """The ``stop`` group from ``_title_columns``' output: a full PCS code's tail columns, and for a PCS
    4-character prefix the aggregates over its full codes that have a title."""
    out = np.full((len(keys), 5), np.nan, dtype=np.float32)
    out[:, :2] = titles[:, 4:6]
    children: dict[str, list[int]] = {}
    prefixes: list[tuple[int, str]] = []
    for j, (system, code) in enumerate(keys):
        if system != PCS:
            continue
        if len(code) == 7 and not np.isnan(titles[j, 0]):
            children.setdefault(code[:4], []).append(j)
        elif len(code) == 4:
            prefixes.append((j, code))
    for j, code in prefixes:
        rows = children.get(code)
        if rows:
            cov = titles[rows, 0]
            out[j, 2:] = (titles[rows, 2].min(), cov.max(), float((cov >= 1.0).sum()))
    return out


def _rows(packed: bytes | bytearray, width: int) -> np.ndarray:
    """Packed float32 rows as a (rows, width) matrix."""
    return np.frombuffer(packed, dtype=np.float32).reshape(-1, width)


def _classifier_columns(
    X: np.ndarray,
    keys: list[tuple[str, str]],
    n_with_clf: int,
    index: _ColumnIndex,
    clf_probs: np.ndarray | None,
    clf_ranks: np.ndarray | None,
    knn_scores: np.ndarray | None,
) -> None:
    """The text classifier's and the neighbours' scores of each candidate (in place).

    Only the first ``n_with_clf`` rows (the candidates known before the group classifier's
    proposals) get the text classifier's columns.
    """
    cols = index.columns(keys)
    found = cols >= 0
    col = np.where(found, cols, 0)
    if clf_probs is not None:
        rank = np.where(found, clf_ranks[col], -1)
        rank[n_with_clf:] = -1
        has_clf = rank >= 0
        X[:, _F["clf_prob"]] = np.where(has_clf, clf_probs[col], 0.0)
        X[:, _F["clf_rank"]] = np.where(has_clf, np.minimum(rank, _UNRANKED), _UNRANKED)
        X[:, _F["has_clf"]] = has_clf
    if knn_scores is not None:
        knn = knn_scores[col]
        X[:, _F["knn_score"]] = np.where(found & (knn > 0), knn, 0.0)


def _group_column(X: np.ndarray, keys: list[tuple[str, str]], index: _ColumnIndex, group_probs: np.ndarray) -> None:
    """The group classifier's probability of each candidate's category / prefix (in place)."""
    cols = index.columns([(system, CodeStats.group_of(system, code)) for system, code in keys])
    X[:, _F["group_prob"]] = np.where(cols >= 0, group_probs[np.maximum(cols, 0)], 0.0)


def _within_note_features(X: np.ndarray) -> None:
    """Scores relative to the note's best and within-note ranks, per system (in place)."""
    is_pcs = X[:, _F["is_pcs"]] > 0
    for mask in (~is_pcs, is_pcs):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        for name, source in (("clf_rel", "clf_prob"), ("knn_rel", "knn_score")):
            values = X[idx, _F[source]]
            top = values.max()
            X[idx, _F[name]] = values / top if top > 0 else 0.0
        for name, source in (("clf_note_rank", "clf_prob"), ("sim_note_rank", "max_sim")):
            order = np.argsort(-X[idx, _F[source]], kind="stable")
            ranks = np.empty(len(idx), dtype=np.float32)
            ranks[order] = np.minimum(np.arange(len(idx)), 200)
            X[idx, _F[name]] = ranks


def feature_index(name: str) -> int:
    return _F[name]
