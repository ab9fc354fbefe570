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
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..pipeline.schema import NoteAnalysis

__all__ = ["CM", "PCS", "FEATURE_NAMES", "CandidateRow", "CodeStats", "NoteCandidates", "build_candidates", "history_code", "parent_codes"]

CM = "ICD10CM"
PCS = "ICD10PCS"
SYSTEMS = (CM, PCS)
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


def history_code(code: str, family: bool) -> str | None:
    """The Z80-Z87 code for a CM condition mentioned as family or personal history (coarse map)."""
    letter, num = code[0], code[1:3]
    if family:
        if letter == "C":
            return "Z80.9"
        if letter == "I" and num in {"20", "21", "22", "23", "24", "25"}:
            return "Z82.49"
        if letter == "I" and num.startswith("6"):
            return "Z82.3"
        if letter == "E" and num in {"10", "11", "13"}:
            return "Z83.3"
        if letter == "F":
            return "Z81.8"
        return "Z84.89"
    if letter == "C":
        return "Z85.9"
    if letter == "I" and num in {"21", "22"}:
        return "I25.2"
    if letter == "I" and num.startswith("6"):
        return "Z86.73"
    if letter == "D" and num in {"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
                                 "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26",
                                 "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39",
                                 "40", "41", "42", "43", "44", "45", "46", "47", "48", "49"}:
        return "Z86.01"
    return "Z87.898"


@dataclass
class CodeStats:
    """What the training labels say about codes; fitted on training folds only."""

    n_notes: int = 0
    code_count: Counter = field(default_factory=Counter)  # (system, code) -> notes labelled with it
    group_count: Counter = field(default_factory=Counter)  # (system, group) -> labels in the group
    exact_group_use: Counter = field(default_factory=Counter)  # (system, group) -> labels that are the group itself
    cand_count: Counter = field(default_factory=Counter)  # (system, code) -> notes where it was a direct candidate
    cand_hits: Counter = field(default_factory=Counter)  # ... and a gold code
    cand_prior: float = 0.1

    @staticmethod
    def group_of(system: str, code: str) -> str:
        """The CM category (3 characters) or the PCS 4-character prefix: both are codes CodiEsp uses."""
        return code[:3] if system == CM else code[:4]

    @classmethod
    def fit(cls, analyses: list[NoteAnalysis], labels: list[set[tuple[str, str]]]) -> "CodeStats":
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
        return stats

    def precision(self, key: tuple[str, str], strength: float = 2.0) -> float:
        # .get, not [ ]: a Counter's missing key is a Python-level __missing__ call (hot path)
        return (self.cand_hits.get(key, 0) + strength * self.cand_prior) / (self.cand_count.get(key, 0) + strength)

    def prefix_rate(self, system: str, group: str) -> float:
        """Share of the labels under ``group`` that are the group itself (smoothed toward 0.5)."""
        key = (system, group)
        return (self.exact_group_use.get(key, 0) + 0.5) / (self.group_count.get(key, 0) + 1.0)


@dataclass
class CandidateRow:
    """One candidate code of a note: its feature vector and evidence."""

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
        terms = self.terms[j]
        term = Counter(terms).most_common(1)[0][0] if terms else ""
        system, code = self.keys[j]
        return CandidateRow(system, code, self.X[j], self.mention_indexes[j], term)


class _Acc:
    __slots__ = ("sims", "mentions", "exact", "ranks", "top1", "kind_match", "terms", "source", "children",
                 "children_sim", "prior_rank")

    def __init__(self, source: int):
        self.sims: list[float] = []
        self.mentions: list[int] = []
        self.exact = 0
        self.ranks: list[int] = []
        self.top1 = 0
        self.kind_match = 0
        self.terms: list[str] = []
        self.source = source
        self.children: set[str] = set()
        self.children_sim = 0.0
        self.prior_rank = 50


class _ColumnIndex:
    def __init__(self, codes: list[tuple[str, str]]):
        self.position = {key: j for j, key in enumerate(codes)}
        self.system_columns: dict[str, np.ndarray] = {}
        self.within = np.zeros(len(codes), dtype=np.int64)
        for system in SYSTEMS:
            cols = np.asarray([j for j, (s, _) in enumerate(codes) if s == system], dtype=np.int64)
            if len(cols):
                self.system_columns[system] = cols
                self.within[cols] = np.arange(len(cols))


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
) -> NoteCandidates:
    """Every candidate code of one note with its features (``FEATURE_NAMES`` columns)."""
    accs = _direct_and_derived(analysis, stats)
    clf_prob, clf_rank, knn = _classifier_proposals(accs, clf_codes, clf_probs, clf_top_n, knn_scores)
    group_prob = _group_proposals(accs, group_codes, group_probs, group_top_n)
    keys = list(accs)
    X = _feature_matrix(analysis, stats, accs, clf_prob, clf_rank, knn, group_prob)
    return NoteCandidates(keys, X, [tuple(acc.mentions) for acc in accs.values()], [acc.terms for acc in accs.values()])


def _direct_and_derived(analysis: NoteAnalysis, stats: CodeStats) -> dict[tuple[str, str], _Acc]:
    """The pipeline's codes (direct), their parents / prefixes (derived) and history codes."""
    accs: dict[tuple[str, str], _Acc] = {}
    history_src: dict[tuple[str, str], list[int]] = defaultdict(list)
    precision: dict[tuple[str, str], float] = {}
    for i, mention in enumerate(analysis.mentions):
        a = mention.assertion
        cands = mention.candidates
        keys = [(cand.system, cand.code) for cand in cands]
        for key in keys:
            if key not in precision:
                precision[key] = stats.precision(key)
        # how the mention's candidates compare by how often coders chose them in training
        by_prior = sorted(range(len(cands)), key=lambda r: (-precision[keys[r]], -cands[r].similarity, r))
        prior_rank = [0] * len(cands)
        for p, r in enumerate(by_prior):
            prior_rank[r] = p
        is_diagnosis = mention.kind == "diagnosis"
        for rank, (cand, key) in enumerate(zip(cands, keys)):
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = _Acc(SOURCE_DIRECT)
            acc.sims.append(float(cand.similarity))
            if not acc.mentions or acc.mentions[-1] != i:
                acc.mentions.append(i)
            acc.exact += cand.similarity >= EXACT
            acc.ranks.append(rank)
            acc.top1 += rank == 0
            acc.prior_rank = min(acc.prior_rank, prior_rank[rank])
            acc.kind_match += is_diagnosis == (cand.system == CM)
            if cand.matched_term:
                acc.terms.append(cand.matched_term)
            if cand.system == CM and rank == 0 and (a.family or a.historical):
                hist = history_code(cand.code, family=a.family)
                if hist:
                    history_src[(CM, hist)].append(i)
    for (system, code), acc in list(accs.items()):
        best = max(acc.sims)
        for parent in parent_codes(system, code):
            key = (system, parent)
            pacc = accs.get(key)
            if pacc is None:
                pacc = accs[key] = _Acc(SOURCE_DERIVED)
            if pacc.source == SOURCE_DERIVED:
                for m in acc.mentions:
                    if m not in pacc.mentions:
                        pacc.mentions.append(m)
            pacc.children.add(code)
            pacc.children_sim = max(pacc.children_sim, best)
    for key, idxs in history_src.items():
        if key not in accs:
            acc = accs[key] = _Acc(SOURCE_HISTORY)
            acc.mentions = sorted(set(idxs))
    return accs


def _classifier_proposals(accs, clf_codes, clf_probs, clf_top_n, knn_scores):
    """Add the text classifier's top codes and the neighbours' codes; their scores per candidate."""
    clf_prob: dict[tuple[str, str], float] = {}
    clf_rank: dict[tuple[str, str], int] = {}
    knn: dict[tuple[str, str], float] = {}
    if clf_codes is None or not len(clf_codes):
        return clf_prob, clf_rank, knn
    index = _column_index(clf_codes)
    if knn_scores is not None:
        for j in np.flatnonzero(knn_scores > 0):
            knn[clf_codes[j]] = float(knn_scores[j])
            if clf_codes[j] not in accs:
                accs[clf_codes[j]] = _Acc(SOURCE_CLASSIFIER)
    if clf_probs is not None:
        for system, cols in index.system_columns.items():
            probs = clf_probs[cols]
            order = np.argsort(-probs, kind="stable")
            ranks = np.empty(len(order), dtype=np.int64)
            ranks[order] = np.arange(len(order))
            for j in order[:clf_top_n]:
                key = clf_codes[cols[j]]
                if key not in accs:
                    accs[key] = _Acc(SOURCE_CLASSIFIER)
            for key in accs:
                if key[0] == system:
                    col = index.position.get(key)
                    if col is not None:
                        clf_prob[key] = float(clf_probs[col])
                        clf_rank[key] = int(ranks[index.within[col]])
    return clf_prob, clf_rank, knn


def _group_proposals(accs, group_codes, group_probs, group_top_n) -> dict[tuple[str, str], float]:
    """Add the group classifier's top categories / prefixes; each candidate's group probability."""
    group_prob: dict[tuple[str, str], float] = {}
    if group_codes is None or group_probs is None or not len(group_codes):
        return group_prob
    gindex = _column_index(group_codes)
    for system, cols in gindex.system_columns.items():
        probs = group_probs[cols]
        for j in np.argsort(-probs, kind="stable")[:group_top_n]:
            key = group_codes[cols[j]]
            if key not in accs:
                accs[key] = _Acc(SOURCE_CLASSIFIER)
    for key in accs:
        col = gindex.position.get((key[0], CodeStats.group_of(*key)))
        if col is not None:
            group_prob[key] = float(group_probs[col])
    return group_prob


def _feature_matrix(analysis, stats, accs, clf_prob, clf_rank, knn, group_prob) -> np.ndarray:
    """One row of ``FEATURE_NAMES`` per candidate (Python lists first: one array at the end)."""
    text_len = max(len(analysis.text), 1)
    facts = _mention_facts(analysis)
    n_cands = len(accs)
    n_notes = max(stats.n_notes, 1)
    code_count, group_count, cand_count = stats.code_count, stats.group_count, stats.cand_count
    rows = []
    for key, acc in accs.items():
        system, code = key
        is_cm = system == CM
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
            first = min(first, fact[6])
        n_ment = len(acc.mentions)
        sims = acc.sims
        count = code_count.get(key, 0)
        group = CodeStats.group_of(system, code)
        rows.append((
            not is_cm,                                                  # is_pcs
            acc.source,
            max(sims) if sims else 0.0,                                 # max_sim
            sum(sims) / len(sims) if sims else 0.0,                     # mean_sim
            n_ment,
            acc.exact,
            first / text_len,                                           # first_pos
            present, neg, poss, hist, fam,
            present / n_ment if n_ment else -1,                         # frac_asserted
            min(acc.ranks) if sims else 20,                             # best_cand_rank
            acc.top1,
            acc.kind_match,
            len(code.replace(".", "")),                                 # code_len
            math.log1p(count),                                          # log_train_count
            count / n_notes,                                            # train_rate
            count > 0,                                                  # seen
            math.log1p(group_count.get((system, group), 0)),            # log_group_count
            stats.prefix_rate(system, group),
            stats.precision(key),                                       # cand_precision
            math.log1p(cand_count.get(key, 0)),                         # log_cand_count
            clf_prob.get(key, 0.0),
            min(clf_rank.get(key, 500), 500),
            key in clf_prob,                                            # has_clf
            len(acc.children),
            acc.children_sim,
            not is_cm and code[:1] == "B",                              # pcs_section_b
            not is_cm and code[:1] == "0",                              # pcs_section_0
            in_history,                                                 # n_history_section
            n_cands,
            is_cm and len(code) == 3,                                   # is_category
            knn.get(key, 0.0),                                          # knn_score
            0, 0,                                                       # clf_note_rank, sim_note_rank: below
            acc.prior_rank,                                             # mention_prior_rank
            0, 0,                                                       # clf_rel, knn_rel: below
            group_prob.get(key, 0.0),
        ))
    X = np.array(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))
    _within_note_features(X)
    return X


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
