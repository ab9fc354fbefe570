"""The fast candidate features and ranking loop give bit-for-bit what the straightforward code gave.

``_reference_*`` below is a frozen copy of the row-by-row implementation that the fast one
(column groups, memoised per-code facts, packed rows, no accumulator for classifier-only
candidates) replaced. Random notes exercise what the CodiEsp model does not: the group
classifier, codes outside ICD-10, candidates ranked beyond 20, ties, missing classifiers.
"""

from __future__ import annotations

import math
import pickle
import random
import struct
from collections import Counter, defaultdict

import numpy as np
import pytest

from codesuggest.codesets.systems import calibrated_systems
from codesuggest.models.features import (
    CM, FEATURE_NAMES, PCS, SOURCE_CLASSIFIER, SOURCE_DERIVED, SOURCE_DIRECT, SOURCE_HISTORY,
    CodeStats, NoteCandidates, _within_note_features, build_candidates, history_code, parent_codes,
)
from codesuggest.models.interface import RankedCode
from codesuggest.models.ranker import CodeRanker
from codesuggest.pipeline.schema import Assertion, Candidate, Mention, NoteAnalysis

CPT = "CPT"
POOL = [
    (CM, "I10"), (CM, "E11"), (CM, "E11.9"), (CM, "E11.65"), (CM, "S02.0XXA"), (CM, "S02.0"), (CM, "S02"),
    (CM, "C50.911"), (CM, "I21.4"), (CM, "I63.9"), (CM, "D12.6"), (CM, "F32.9"), (CM, "J18.9"), (CM, "N18.3"),
    (CM, "Z80.9"), (PCS, "BW03ZZZ"), (PCS, "BW03"), (PCS, "BW28ZZZ"), (PCS, "0DTJ4ZZ"), (PCS, "0DTJ"),
    (PCS, "3E0234Z"), (CPT, "99213"), (CPT, "71045"),
]
TERMS = ["", "", "hypertension", "diabetes", "fracture", "x-ray", "appendectomy"]


def _random_note(rng: random.Random) -> NoteAnalysis:
    text = " ".join(rng.choice(["word", "history", "mother", "no"]) for _ in range(rng.randint(0, 60)))
    mentions = []
    for _ in range(rng.choice([0, 1, 3, 8, 15])):
        keys = [rng.choice(POOL) for _ in range(rng.choice([1, 2, 5, 12, 25]))]  # duplicates, ranks beyond 20
        sims = sorted((rng.choice([1.0, 0.999, 0.9985, 0.5, 0.5, 0.0, rng.random()]) for _ in keys), reverse=True)
        start = rng.randint(0, max(len(text) - 1, 0))
        assertion = Assertion(*(rng.random() < 0.2 for _ in range(4)))
        mentions.append(Mention(
            text=text[start:start + 4], start=start, end=min(start + 4, len(text)),
            kind=rng.choice(["diagnosis", "procedure"]), section=rng.choice(["unknown", "past_medical_history"]),
            sentence_start=0, sentence_end=len(text), assertion=assertion,
            candidates=tuple(Candidate(s, c, c, sim, rng.choice(TERMS)) for (s, c), sim in zip(keys, sims)),
        ))
    return NoteAnalysis(text=text, mentions=tuple(mentions))


def _random_scores(rng: random.Random, n: int) -> np.ndarray:
    return np.asarray([rng.choice([0.0, 0.0, 0.25, 0.5, rng.random()]) for _ in range(n)], dtype=np.float32)


@pytest.fixture(scope="module")
def notes() -> list[NoteAnalysis]:
    rng = random.Random(11)
    return [_random_note(rng) for _ in range(80)]


@pytest.fixture(scope="module")
def stats(notes) -> CodeStats:
    rng = random.Random(5)
    labels = [{rng.choice(POOL) for _ in range(rng.randint(0, 4))} for _ in notes[:40]]
    return CodeStats.fit(notes[:40], labels)


@pytest.mark.parametrize("variant", ["none", "clf", "clf+knn", "knn only", "all", "top 0"])
def test_candidates_match_reference(notes, stats, variant):
    rng = random.Random(variant)
    clf_codes = sorted(rng.sample(POOL, 15))
    group_codes = sorted({(s, CodeStats.group_of(s, c)) for s, c in POOL})
    for note in notes:
        kwargs: dict = {}
        if variant != "none":
            kwargs.update(clf_codes=clf_codes, clf_top_n=0 if variant == "top 0" else rng.choice([1, 3, 30]))
        if variant in ("clf", "clf+knn", "all", "top 0"):
            kwargs["clf_probs"] = _random_scores(rng, len(clf_codes))
        if variant in ("clf+knn", "knn only", "all", "top 0"):
            kwargs["knn_scores"] = _random_scores(rng, len(clf_codes))
        if variant in ("all", "top 0"):
            kwargs.update(group_codes=group_codes, group_probs=_random_scores(rng, len(group_codes)),
                          group_top_n=0 if variant == "top 0" else 4)
        fast, reference = build_candidates(note, stats, **kwargs), _reference_build_candidates(note, stats, **kwargs)
        assert fast.keys == reference.keys
        assert fast.X.dtype == reference.X.dtype == np.float32 and fast.X.shape == reference.X.shape
        assert fast.X.tobytes() == reference.X.tobytes()
        assert fast.mention_indexes == reference.mention_indexes
        assert fast.terms == reference.terms


def test_ranked_codes_match_reference(notes):
    rng = random.Random(3)
    labels = [{rng.choice(POOL) for _ in range(rng.randint(1, 4))} for _ in notes]
    ranker = CodeRanker(n_folds=3, max_iter=20, min_samples_leaf=5, clf_top_n=5, group_top_n=3).fit(notes, labels)
    for top_k in (2, 50):
        assert ranker.rank(notes, top_k=top_k) == _reference_rank(ranker, notes, top_k)


def test_key_facts_memo_is_bounded_and_not_pickled(stats):
    unknown = (CM, "Q99.9")
    assert unknown not in stats.cand_count and unknown not in stats.code_count
    keys = [*stats.cand_count, unknown]
    for key, facts in zip(keys, stats.key_facts(keys)):
        assert facts.row == np.array(stats.key_features(key), dtype=np.float32).tobytes()
        assert facts.precision == stats.precision(key)
        assert facts.parents == tuple((key[0], parent) for parent in parent_codes(*key))
    assert unknown not in stats._key_memo and set(stats._key_memo) == set(stats.cand_count)
    restored = pickle.loads(pickle.dumps(stats))
    assert "_key_memo" not in vars(restored) and restored == stats


def test_packed_rows_round_like_numpy():
    rng = np.random.default_rng(0)
    low = rng.random(2_000).astype(np.float32)
    halfway = (low.astype(np.float64) + np.nextafter(low, np.float32(2)).astype(np.float64)) / 2  # ties to even
    values = np.concatenate([
        rng.random(20_000), rng.random(2_000) * 1e-40, rng.normal(size=2_000) * 1e30, halfway,
        [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3],
    ])
    packed = struct.pack(f"={len(values)}f", *values.tolist())
    assert packed == values.astype(np.float32).tobytes()


def test_matched_term_is_the_first_most_common():
    rng = random.Random(0)
    for _ in range(500):
        terms = [rng.choice("abcd") for _ in range(rng.randint(0, 6))]
        note = NoteCandidates([(CM, "I10")], np.zeros((1, len(FEATURE_NAMES)), np.float32), [()], [terms])
        assert note.matched_term(0) == (Counter(terms).most_common(1)[0][0] if terms else "")


# -- the reference: the straightforward implementation, frozen --------------------------------

def _reference_rank(ranker: CodeRanker, analyses, top_k):
    results = []
    for note, scores in ranker._scored(analyses):
        values = scores.tolist()
        order = sorted(range(len(values)), key=lambda j: (-values[j], note.keys[j]))
        kept, per_system = [], {}
        for j in order:
            system = note.keys[j][0]
            if per_system.get(system, 0) >= top_k:
                continue
            per_system[system] = per_system.get(system, 0) + 1
            terms = note.terms[j]
            term = Counter(terms).most_common(1)[0][0] if terms else ""
            reason = _reference_reason(note.X[j], term, ranker.feature_names_)
            kept.append(RankedCode(system, note.keys[j][1], values[j], note.mention_indexes[j], reason))
        results.append(kept)
    return results


def _reference_reason(f: np.ndarray, matched_term: str, names: tuple[str, ...] = FEATURE_NAMES) -> str:
    i = {name: k for k, name in enumerate(names)}
    parts = []
    src = int(f[i["source"]])
    n = int(f[i["n_mentions"]])
    if src == SOURCE_DIRECT:
        how = "exact" if f[i["n_exact"]] > 0 else f"similar ({f[i['max_sim']]:.2f})"
        term = f" to '{matched_term}'" if matched_term else ""
        parts.append(f"{how} match{term} in {n} mention{'s' if n != 1 else ''}")
    elif src == SOURCE_DERIVED:
        parts.append(f"coarser code of linked codes ({n} mention{'s' if n != 1 else ''})")
    elif src == SOURCE_HISTORY:
        parts.append("condition mentioned as family or past history")
    elif src == SOURCE_CLASSIFIER:
        parts.append("suggested by the note text classifier")
    flags = [name for name in ("negated", "possible", "family", "historical") if f[i[f"n_{name}"]] > 0]
    if flags:
        parts.append("mentions " + "/".join(flags))
    seen = int(round(math.expm1(f[i["wording_log_count"]]))) if "wording_log_count" in i and src == SOURCE_DIRECT else 0
    if seen:
        parts.append(f"the same words linked it in {seen} training note{'s' if seen != 1 else ''}, "
                     f"coded there at a rate of {f[i['wording_precision']]:.2f} (smoothed)")
    if f[i["clf_prob"]] >= 0.05:
        parts.append(f"text classifier p={f[i['clf_prob']]:.2f}")
    count = int(round(math.expm1(f[i["log_train_count"]])))
    parts.append(f"coded in {count} training notes" if count else "never coded in training")
    return "; ".join(parts)


class _Acc:
    def __init__(self, source: int):
        self.sims, self.mentions, self.ranks, self.terms, self.children = [], [], [], [], set()
        self.exact = self.top1 = self.kind_match = 0
        self.source, self.children_sim, self.prior_rank = source, 0.0, 50


def _reference_build_candidates(analysis, stats, clf_codes=None, clf_probs=None, clf_top_n=30, knn_scores=None,
                                group_codes=None, group_probs=None, group_top_n=10) -> NoteCandidates:
    accs = _reference_direct_and_derived(analysis, stats)
    clf_prob, clf_rank, knn = _reference_classifier_proposals(accs, clf_codes, clf_probs, clf_top_n, knn_scores)
    group_prob = _reference_group_proposals(accs, group_codes, group_probs, group_top_n)
    X = _reference_feature_matrix(analysis, stats, accs, clf_prob, clf_rank, knn, group_prob)
    return NoteCandidates(list(accs), X, [tuple(a.mentions) for a in accs.values()], [a.terms for a in accs.values()])


def _reference_direct_and_derived(analysis, stats):
    accs, history_src, precision = {}, defaultdict(list), {}
    for i, mention in enumerate(analysis.mentions):
        a = mention.assertion
        cands = mention.candidates
        keys = [(cand.system, cand.code) for cand in cands]
        for key in keys:
            if key not in precision:
                precision[key] = stats.precision(key)
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
            acc.exact += cand.similarity >= 0.999
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
            pacc = accs.get((system, parent))
            if pacc is None:
                pacc = accs[(system, parent)] = _Acc(SOURCE_DERIVED)
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


def _reference_columns(codes):
    position = {key: j for j, key in enumerate(codes)}
    system_columns, within = {}, np.zeros(len(codes), dtype=np.int64)
    for system in calibrated_systems():
        cols = np.asarray([j for j, (s, _) in enumerate(codes) if s == system], dtype=np.int64)
        if len(cols):
            system_columns[system] = cols
            within[cols] = np.arange(len(cols))
    return position, system_columns, within


def _reference_classifier_proposals(accs, clf_codes, clf_probs, clf_top_n, knn_scores):
    clf_prob, clf_rank, knn = {}, {}, {}
    if clf_codes is None or not len(clf_codes):
        return clf_prob, clf_rank, knn
    position, system_columns, within = _reference_columns(clf_codes)
    if knn_scores is not None:
        for j in np.flatnonzero(knn_scores > 0):
            knn[clf_codes[j]] = float(knn_scores[j])
            if clf_codes[j] not in accs:
                accs[clf_codes[j]] = _Acc(SOURCE_CLASSIFIER)
    if clf_probs is not None:
        for system, cols in system_columns.items():
            order = np.argsort(-clf_probs[cols], kind="stable")
            ranks = np.empty(len(order), dtype=np.int64)
            ranks[order] = np.arange(len(order))
            for j in order[:clf_top_n]:
                if clf_codes[cols[j]] not in accs:
                    accs[clf_codes[cols[j]]] = _Acc(SOURCE_CLASSIFIER)
            for key in accs:
                if key[0] == system:
                    col = position.get(key)
                    if col is not None:
                        clf_prob[key] = float(clf_probs[col])
                        clf_rank[key] = int(ranks[within[col]])
    return clf_prob, clf_rank, knn


def _reference_group_proposals(accs, group_codes, group_probs, group_top_n):
    group_prob = {}
    if group_codes is None or group_probs is None or not len(group_codes):
        return group_prob
    position, system_columns, _ = _reference_columns(group_codes)
    for cols in system_columns.values():
        for j in np.argsort(-group_probs[cols], kind="stable")[:group_top_n]:
            if group_codes[cols[j]] not in accs:
                accs[group_codes[cols[j]]] = _Acc(SOURCE_CLASSIFIER)
    for key in accs:
        col = position.get((key[0], CodeStats.group_of(*key)))
        if col is not None:
            group_prob[key] = float(group_probs[col])
    return group_prob


def _reference_feature_matrix(analysis, stats, accs, clf_prob, clf_rank, knn, group_prob):
    text_len = max(len(analysis.text), 1)
    facts = [(m.assertion.negated, m.assertion.possible, m.assertion.historical, m.assertion.family,
              not (m.assertion.negated or m.assertion.possible or m.assertion.family or m.assertion.historical),
              "history" in m.section, m.start) for m in analysis.mentions]
    n_notes = max(stats.n_notes, 1)
    rows = []
    for key, acc in accs.items():
        system, code = key
        is_cm = system == CM
        neg = poss = hist = fam = present = in_history = 0
        first = text_len
        for i in acc.mentions:
            fact = facts[i]
            neg, poss, hist, fam = neg + fact[0], poss + fact[1], hist + fact[2], fam + fact[3]
            present, in_history, first = present + fact[4], in_history + fact[5], min(first, fact[6])
        n_ment = len(acc.mentions)
        sims = acc.sims
        count = stats.code_count.get(key, 0)
        group = CodeStats.group_of(system, code)
        rows.append((
            not is_cm, acc.source, max(sims) if sims else 0.0, sum(sims) / len(sims) if sims else 0.0, n_ment,
            acc.exact, first / text_len, present, neg, poss, hist, fam, present / n_ment if n_ment else -1,
            min(acc.ranks) if sims else 20, acc.top1, acc.kind_match, len(code.replace(".", "")),
            math.log1p(count), count / n_notes, count > 0, math.log1p(stats.group_count.get((system, group), 0)),
            stats.prefix_rate(system, group), stats.precision(key), math.log1p(stats.cand_count.get(key, 0)),
            clf_prob.get(key, 0.0), min(clf_rank.get(key, 500), 500), key in clf_prob, len(acc.children),
            acc.children_sim, not is_cm and code[:1] == "B", not is_cm and code[:1] == "0", in_history, len(accs),
            is_cm and len(code) == 3, knn.get(key, 0.0), 0, 0, acc.prior_rank, 0, 0, group_prob.get(key, 0.0),
        ))
    X = np.array(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))
    _within_note_features(X)
    return X

