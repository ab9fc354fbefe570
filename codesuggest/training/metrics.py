"""Evaluation of ranked code suggestions against gold codes, per code system.

Inputs are two DataFrames with normalised codes (what
:mod:`codesuggest.training.predictions` reads): predictions ``note_id, code,
system, score`` and gold ``note_id, code, system``.

Conventions
-----------
- **Ranking.** Within a note and system, codes go by descending score; ties
  keep the row order (the file order). The same code predicted twice for a
  note counts once, at its best rank; the repeat is dropped (it neither hits
  nor misses) and counted in the report.
- **Evaluated notes.** The notes of the gold frame (all systems), plus any
  ``note_ids`` given. Predictions for other notes are dropped and counted.
  Pass the D and P gold files together so that notes without P codes are
  known, and P predictions on them count as false positives.
- **Matching.** A predicted code matches a gold code when both are equal
  (after normalisation). A 4-character ICD-10-PCS gold prefix (CodiEsp has
  many) is therefore matched only by the prediction of that same prefix.
  With ``pcs_prefix_match=True``, a 7-character PCS prediction also matches a
  4-character gold prefix it starts with; each gold code is found at most
  once (by its first matching prediction; later ones are misses). The official
  CodiEsp script compares lower-cased strings, so it has no prefix matching;
  this is off by default.
- **MAP** (``map``): over the notes with at least one gold code of the system,
  the mean of the average precision of each note's ranking, AP = (1/|gold|)
  * sum over the gold codes found of the precision at the rank where each is
  found. A note without predictions scores 0. No depth cut.
- **CodiEsp's official MAP** (``map_codiesp``). The official script
  (TeMU-BSC/codiesp-evaluation-script, ``codiespD_P_evaluation.py``) calls
  ``trectools`` 0.0.42 ``TrecEval.get_map(trec_eval=False)``: the ranking is
  the file order (scores ignored), cut at depth 1000, and the mean is taken
  over the notes *that have predictions* (``len(run.topics())``); a gold note
  without predictions is left out of the mean, so abstaining on hard notes
  raises the score, while a note with predictions but no gold code counts
  0. AP's denominator is the note's number of gold codes, as above. The
  script also drops predicted codes missing from its list of valid codes
  before ranking; here every code is already validated, and no code-set
  list is applied, and the ranking is by score as everywhere here (files
  from :func:`~codesuggest.training.predictions.write_predictions` are in
  that order, so the two agree). Reported for comparison with published
  CodiEsp results; ``map`` is the target.
- **precision@k / recall@k**: per note with gold codes, (gold codes found in
  the top k) / k and / |gold|, averaged over those notes (P@k divides by k
  even when fewer than k codes are predicted, as trec_eval does).
- **Decision threshold.** A prediction is "made" when ``score >= threshold``
  (per-system thresholds allowed). Micro precision, recall and F1 from the
  summed TP, FP, FN over all evaluated notes. Macro: per code (every code in
  the gold or among the predictions made), precision, recall and F1 with 0
  for 0/0 (scikit-learn's ``average="macro", zero_division=0``), then the
  unweighted mean of each; macro F1 is the mean of per-code F1s.
- **Calibration.** Every (deduplicated) prediction is a probability that the
  code is right: scores fall into ``n_bins`` equal-width bins on [0, 1]
  (bin i holds ``i/n <= score < (i+1)/n``, the last bin includes 1.0);
  ECE = sum over bins of (count / N) * |accuracy - mean confidence|. When a
  score lies outside [0, 1], ECE is ``None``.
- **Out-of-fold metrics** (:func:`oof_metrics`, saved with a trained model):
  the same definitions on the ranker's cross-fitted candidate scores; a gold
  code that never became a candidate is a miss (it counts in AP's denominator
  and in recall), and ECE is over the candidate rows.

Against scikit-learn (``tests/test_metrics.py`` checks each agreement)
---------------------------------------------------------------------
- ``average_precision_score(y_true, y_score)`` on one note's ranked candidates
  equals :func:`average_precision` when every gold code is ranked and no two
  scores tie. They differ when gold codes are missing from the ranking
  (scikit-learn knows only the positives it is given: ours = its AP * found /
  |gold|), on tied scores (scikit-learn takes a tie as one threshold; here ties
  keep their order), and with ``pcs_prefix_match``.
- ``precision_recall_fscore_support`` on the notes-by-codes indicator
  matrices (``zero_division=0``) gives the micro and macro figures of
  :func:`threshold_metrics` when its labels are the codes in the gold or among
  the predictions made (the labels here). Not with ``pcs_prefix_match``: a
  prediction that finds a gold prefix is a hit of the prefix's label.
- ``calibration_curve(y, p, n_bins, strategy="uniform")`` returns the accuracy
  and mean confidence of the non-empty bins of :func:`calibration`, except for
  a score that lies exactly on an inner bin edge: scikit-learn puts it in the
  lower bin (``(i-1)/n < p <= i/n``), here it goes to the upper one.
- precision@k and recall@k have no scikit-learn counterpart for per-note
  rankings of different lengths (``top_k_accuracy_score`` is a single-label
  metric).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..codesets.records import CodeSystem

__all__ = [
    "DEFAULT_KS",
    "EvaluationReport",
    "SystemMetrics",
    "average_precision",
    "calibration",
    "codiesp_map",
    "evaluate",
    "average_precision_of_hits",
    "match_ranked",
    "mean_average_precision",
    "oof_average_precisions",
    "oof_metrics",
    "precision_recall_at_k",
    "precision_recall_f1",
    "threshold_metrics",
]

DEFAULT_KS = (1, 5, 10, 20)
CODIESP_DEPTH = 1000
_PCS = "ICD10PCS"

Rankings = Mapping[str, Sequence[str]]  # note_id -> codes, best first
Gold = Mapping[str, Collection[str]]  # note_id -> gold codes (notes with at least one)


# ---------------------------------------------------------------------------
# Ranking metrics on plain Python data


def match_ranked(ranked: Sequence[str], gold: Collection[str], *, pcs_prefix_match: bool = False) -> list[str | None]:
    """For each ranked code, the gold code it finds, or ``None``; each gold code is found once."""
    remaining = set(gold)
    found: list[str | None] = []
    for code in ranked:
        if code in remaining:
            hit: str | None = code
        elif pcs_prefix_match and len(code) == 7 and code[:4] in remaining:
            hit = code[:4]
        else:
            hit = None
        if hit is not None:
            remaining.discard(hit)
        found.append(hit)
    return found


def average_precision_of_hits(hits: Iterable[bool], n_gold: int) -> float:
    """AP of a ranking given as hit flags, best first: the sum of the precision at each hit's
    rank over ``n_gold`` (the gold codes never ranked count as misses)."""
    if n_gold < 1:
        raise ValueError("average precision needs at least one gold code")
    found = 0
    total = 0.0
    for rank, hit in enumerate(hits, start=1):
        if hit:
            found += 1
            total += found / rank
    return total / n_gold


def average_precision(ranked: Sequence[str], gold: Collection[str], *, pcs_prefix_match: bool = False) -> float:
    """Mean over the gold codes of the precision at the rank where each is found (0 if never)."""
    if not gold:
        raise ValueError("average precision needs at least one gold code")
    hits = match_ranked(ranked, gold, pcs_prefix_match=pcs_prefix_match)
    return average_precision_of_hits((h is not None for h in hits), len(set(gold)))


def mean_average_precision(rankings: Rankings, gold: Gold, *, pcs_prefix_match: bool = False) -> float:
    """MAP over the notes of ``gold`` (a note missing from ``rankings`` scores 0)."""
    notes = [n for n, codes in gold.items() if codes]
    if not notes:
        return 0.0
    return sum(average_precision(rankings.get(n, ()), gold[n], pcs_prefix_match=pcs_prefix_match) for n in notes) / len(notes)


def codiesp_map(rankings: Rankings, gold: Gold, *, depth: int = CODIESP_DEPTH) -> tuple[float, int]:
    """CodiEsp's official MAP (trectools 0.0.42): mean over the notes with predictions; and their number.

    Exact matching only; rankings are cut at ``depth``; a predicted note
    without gold codes scores 0; a gold note without predictions is ignored.
    """
    notes = [n for n, codes in rankings.items() if len(codes)]
    if not notes:
        return 0.0, 0
    total = sum(average_precision(list(rankings[n])[:depth], gold[n]) for n in notes if gold.get(n))
    return total / len(notes), len(notes)


def precision_recall_at_k(
    rankings: Rankings, gold: Gold, ks: Iterable[int] = DEFAULT_KS, *, pcs_prefix_match: bool = False
) -> tuple[dict[int, float], dict[int, float]]:
    """Mean precision@k and recall@k over the notes of ``gold``."""
    ks = sorted(set(int(k) for k in ks))
    if any(k < 1 for k in ks):
        raise ValueError("k must be at least 1")
    notes = [n for n, codes in gold.items() if codes]
    precision = {k: 0.0 for k in ks}
    recall = {k: 0.0 for k in ks}
    if not notes:
        return precision, recall
    for note in notes:
        hits = match_ranked(rankings.get(note, ()), gold[note], pcs_prefix_match=pcs_prefix_match)
        n_gold = len(set(gold[note]))
        for k in ks:
            found = sum(h is not None for h in hits[:k])
            precision[k] += found / k
            recall[k] += found / n_gold
    return {k: v / len(notes) for k, v in precision.items()}, {k: v / len(notes) for k, v in recall.items()}


def threshold_metrics(
    scored: Mapping[str, Sequence[tuple[str, float]]],
    gold: Gold,
    threshold: float,
    *,
    notes: Iterable[str] | None = None,
    pcs_prefix_match: bool = False,
) -> tuple[dict[str, float], dict[str, float]]:
    """Micro and macro precision, recall and F1 of the predictions with ``score >= threshold``.

    ``scored`` maps a note to its ``(code, score)`` pairs, best first;
    ``notes`` (default: every note of ``scored`` or ``gold``) are the notes
    evaluated.
    """
    notes = set(scored) | set(gold) if notes is None else set(notes)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for note in notes:
        made = [code for code, score in scored.get(note, ()) if score >= threshold]
        note_gold = set(gold.get(note, ()))
        hits = match_ranked(made, note_gold, pcs_prefix_match=pcs_prefix_match)
        for code, hit in zip(made, hits):
            if hit is None:
                fp[code] += 1
            else:
                tp[hit] += 1
        for code in note_gold - {h for h in hits if h is not None}:
            fn[code] += 1
    n_tp, n_fp, n_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    p, r, f = precision_recall_f1(n_tp, n_fp, n_fn)
    micro = {"precision": p, "recall": r, "f1": f, "tp": n_tp, "fp": n_fp, "fn": n_fn}
    labels = set(tp) | set(fp) | set(fn)
    per_label = [precision_recall_f1(tp[label], fp[label], fn[label]) for label in labels]
    if per_label:
        mp, mr, mf = (sum(values) / len(per_label) for values in zip(*per_label))
    else:
        mp = mr = mf = 0.0
    macro = {"precision": mp, "recall": mr, "f1": mf, "labels": len(labels)}
    return micro, macro


def calibration(scores: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> tuple[float | None, list[dict[str, Any]]]:
    """Expected calibration error and the reliability-diagram data of equal-width bins on [0, 1].

    Returns ``(ece, bins)``; each bin is ``{"lower", "upper", "confidence",
    "accuracy", "count"}`` (confidence and accuracy ``None`` when empty).
    ``ece`` is ``None`` (and ``bins`` empty) when a score lies outside [0, 1],
    and ``None`` when there are no scores (no bin to measure: not a perfect 0).
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    scores_arr = np.asarray(scores, dtype=float)
    correct_arr = np.asarray(correct, dtype=float)
    if scores_arr.shape != correct_arr.shape:
        raise ValueError("scores and correct differ in length")
    if scores_arr.size and (np.nanmin(scores_arr) < 0.0 or np.nanmax(scores_arr) > 1.0 or np.isnan(scores_arr).any()):
        return None, []
    inner_edges = np.array([i / n_bins for i in range(1, n_bins)])
    index = np.searchsorted(inner_edges, scores_arr, side="right")
    bins = []
    ece = 0.0
    total = scores_arr.size
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        confidence = float(scores_arr[mask].mean()) if count else None
        accuracy = float(correct_arr[mask].mean()) if count else None
        if count:
            ece += count / total * abs(accuracy - confidence)
        bins.append({"lower": b / n_bins, "upper": (b + 1) / n_bins, "confidence": confidence, "accuracy": accuracy, "count": count})
    return (float(ece) if total else None), bins


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; 0 for 0/0 (scikit-learn's ``zero_division=0``)."""
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return p, r, _f1(p, r)


def oof_average_precisions(ranker: Any, notes: Sequence[Any]) -> dict[str, dict[int, float]]:
    """Per system, note index -> the note's out-of-fold AP (notes with a gold code of the system):
    its candidates ranked by their cross-fitted score (ties in row order)."""
    out: dict[str, dict[int, float]] = {}
    for system, (scores, correct, note_of) in sorted(getattr(ranker, "oof_scores_", {}).items()):
        scores = np.asarray(scores, dtype=float)
        correct = np.asarray(correct, dtype=bool)
        note_of = np.asarray(note_of)
        aps = {}
        for i, note in enumerate(notes):
            n_gold = len(note.codes_of(system))
            if n_gold:
                mask = note_of == i
                hits = correct[mask][np.argsort(-scores[mask], kind="stable")]
                aps[i] = average_precision_of_hits(hits.tolist(), n_gold)
        out[system] = aps
    return out


def oof_metrics(ranker: Any, notes: Sequence[Any], n_bins: int = 10) -> dict[str, Any]:
    """Out-of-fold quality from a fitted ranker's cross-fitting (``oof_scores_``: per system the
    candidate rows' scores, whether each is a gold code, and its note's index in ``notes``;
    ``thresholds_``; ``oof_candidate_recall_``), as saved with a trained model.

    Per system: ``map`` over the notes with a gold code of the system, micro ``precision`` /
    ``recall`` / ``f1`` at the ranker's threshold, ``ece`` over the candidate rows calibrated on the
    other folds (``oof_ece_``; None, shown as n/a, without it or with no bin), ``candidate_recall``, ``threshold`` and the number of ``notes`` with a gold code; rounded to
    4 decimals."""
    out: dict[str, Any] = {}
    note_aps = oof_average_precisions(ranker, notes)
    for system, (scores, correct, _) in sorted(getattr(ranker, "oof_scores_", {}).items()):
        scores = np.asarray(scores, dtype=float)
        correct = np.asarray(correct, dtype=bool)
        gold_counts = np.array([len(note.codes_of(system)) for note in notes])
        aps = list(note_aps[system].values())
        threshold = float(ranker.thresholds_.get(system, 0.5))
        chosen = scores >= threshold
        tp = int(np.sum(chosen & correct))
        precision, recall, f1 = precision_recall_f1(tp, int(chosen.sum()) - tp, int(gold_counts.sum()) - tp)
        # over scores calibrated on the other folds (the model's calibrator is fit on these very scores, on which
        # isotonic calibration is perfect by construction); None (n/a) for a model without it or with no bin
        ece = getattr(ranker, "oof_ece_", {}).get(system)
        out[system] = {
            "map": round(float(np.mean(aps)) if aps else 0.0, 4),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "ece": None if ece is None else round(ece, 4),
            "candidate_recall": round(float(getattr(ranker, "oof_candidate_recall_", {}).get(system, 0.0)), 4),
            "threshold": round(threshold, 4),
            "notes": len(aps),
        }
    return out


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


# ---------------------------------------------------------------------------
# The report


@dataclass(slots=True)
class SystemMetrics:
    """Every metric of one code system."""

    system: str
    threshold: float
    n_notes: int  # notes with at least one gold code of the system
    n_gold: int
    n_predictions: int
    n_predicted_notes: int
    map: float
    map_codiesp: float
    map_codiesp_notes: int
    precision_at_k: dict[int, float]
    recall_at_k: dict[int, float]
    micro: dict[str, float]
    macro: dict[str, float]
    ece: float | None
    reliability: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["precision_at_k"] = {str(k): v for k, v in self.precision_at_k.items()}
        data["recall_at_k"] = {str(k): v for k, v in self.recall_at_k.items()}
        return data


@dataclass(slots=True)
class EvaluationReport:
    """Per-system metrics and how the evaluation was set up."""

    systems: dict[str, SystemMetrics]
    settings: dict[str, Any]
    n_notes: int
    dropped_predictions: int = 0  # rows for notes that are not evaluated
    duplicate_predictions: int = 0
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, system: str) -> SystemMetrics:
        return self.systems[system]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "settings": dict(self.settings),
            "n_notes": self.n_notes,
            "dropped_predictions": self.dropped_predictions,
            "duplicate_predictions": self.duplicate_predictions,
            "warnings": list(self.warnings),
            "systems": {name: metrics.to_dict() for name, metrics in self.systems.items()},
        }

    def to_table(self) -> str:
        """A text table, one column per system, for the screen."""
        names = list(self.systems)
        rows: list[tuple[str, list[str]]] = []

        def add(label: str, getter, fmt: str = "{:.4f}") -> None:
            cells = []
            for name in names:
                value = getter(self.systems[name])
                cells.append(("n/a" if label.startswith("ECE") else "-") if value is None else fmt.format(value))
            rows.append((label, cells))

        add("notes with gold", lambda m: m.n_notes, "{:d}")
        add("gold codes", lambda m: m.n_gold, "{:d}")
        add("predictions", lambda m: m.n_predictions, "{:d}")
        add("MAP", lambda m: m.map)
        add("MAP (CodiEsp official)", lambda m: m.map_codiesp)
        add("  notes it averages", lambda m: m.map_codiesp_notes, "{:d}")
        for k in self.settings.get("ks", DEFAULT_KS):
            add(f"P@{k}", lambda m, k=k: m.precision_at_k.get(k))
        for k in self.settings.get("ks", DEFAULT_KS):
            add(f"R@{k}", lambda m, k=k: m.recall_at_k.get(k))
        add("threshold", lambda m: m.threshold, "{:g}")
        for part in ("precision", "recall", "f1"):
            add(f"micro {part}", lambda m, part=part: m.micro[part])
        for part in ("precision", "recall", "f1"):
            add(f"macro {part}", lambda m, part=part: m.macro[part])
        add(f"ECE ({self.settings.get('n_bins', 10)} bins)", lambda m: m.ece)

        width = max(len(label) for label, _ in rows)
        col = max([10] + [len(n) for n in names])
        lines = [f"{'metric':<{width}}  " + "  ".join(f"{n:>{col}}" for n in names)]
        lines.append("-" * len(lines[0]))
        for label, cells in rows:
            lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>{col}}" for c in cells))
        footer = [f"{self.n_notes} notes evaluated"]
        if self.dropped_predictions:
            footer.append(f"{self.dropped_predictions} predictions for notes without gold dropped")
        if self.duplicate_predictions:
            footer.append(f"{self.duplicate_predictions} duplicate predictions dropped")
        lines.append("; ".join(footer))
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# evaluate()


def evaluate(
    pred_df: pd.DataFrame,
    gold_df: pd.DataFrame,
    thresholds: float | Mapping[str, float] = 0.5,
    ks: Iterable[int] = DEFAULT_KS,
    *,
    n_bins: int = 10,
    pcs_prefix_match: bool = False,
    note_ids: Iterable[str] | None = None,
) -> EvaluationReport:
    """Evaluate predictions against gold codes, per code system of the gold (see the module docstring).

    ``thresholds`` is one decision threshold or a mapping system -> threshold
    (systems not in the mapping use 0.5; a ``"default"`` key changes that).
    """
    _require_columns(pred_df, ["note_id", "code", "system", "score"], "predictions")
    _require_columns(gold_df, ["note_id", "code", "system"], "gold")
    ks = tuple(sorted(set(int(k) for k in ks)))
    if not ks or ks[0] < 1:
        raise ValueError("ks must be positive integers")
    warnings: list[str] = []

    gold = gold_df[["note_id", "code", "system"]].astype(str).drop_duplicates()
    universe = set(gold["note_id"]) | set(map(str, note_ids or ()))

    pred = pred_df[["note_id", "code", "system", "score"]].copy()
    pred = pred.astype({"note_id": str, "code": str, "system": str, "score": float})
    if pred["score"].isna().any():
        raise ValueError("predictions contain NaN scores")
    in_universe = pred["note_id"].isin(universe)
    dropped = int((~in_universe).sum())
    if dropped:
        n = pred.loc[~in_universe, "note_id"].nunique()
        warnings.append(f"dropped {dropped} prediction rows for {n} note(s) absent from the gold")
    pred = pred[in_universe]
    pred["_row"] = np.arange(len(pred))
    pred = pred.sort_values(["system", "note_id", "score", "_row"], ascending=[True, True, False, True], kind="mergesort")
    before = len(pred)
    pred = pred.drop_duplicates(["note_id", "system", "code"], keep="first")
    duplicates = before - len(pred)

    systems = sorted(gold["system"].unique())
    extra = sorted(set(pred["system"]) - set(systems))
    if extra:
        warnings.append(f"predictions for systems without gold are not evaluated: {', '.join(extra)}")

    settings = {
        "thresholds": _threshold_map(thresholds, systems),
        "ks": list(ks),
        "n_bins": n_bins,
        "pcs_prefix_match": pcs_prefix_match,
        "codiesp_depth": CODIESP_DEPTH,
    }
    results = {}
    for system in systems:
        threshold = settings["thresholds"][system]
        prefix = pcs_prefix_match and system == _PCS
        sys_gold: dict[str, set[str]] = {}
        for note, code in gold.loc[gold["system"] == system, ["note_id", "code"]].itertuples(index=False, name=None):
            sys_gold.setdefault(note, set()).add(code)
        sys_pred = pred[pred["system"] == system]
        scored: dict[str, list[tuple[str, float]]] = {}
        for note, code, score in sys_pred[["note_id", "code", "score"]].itertuples(index=False, name=None):
            scored.setdefault(note, []).append((code, score))
        rankings = {note: [code for code, _ in pairs] for note, pairs in scored.items()}

        p_at, r_at = precision_recall_at_k(rankings, sys_gold, ks, pcs_prefix_match=prefix)
        micro, macro = threshold_metrics(scored, sys_gold, threshold, notes=universe, pcs_prefix_match=prefix)
        official, official_notes = codiesp_map(rankings, sys_gold)
        confidences: list[float] = []
        correct: list[bool] = []
        for note, pairs in scored.items():
            hits = match_ranked([c for c, _ in pairs], sys_gold.get(note, ()), pcs_prefix_match=prefix)
            confidences.extend(score for _, score in pairs)
            correct.extend(h is not None for h in hits)
        ece, bins = calibration(confidences, correct, n_bins)
        if ece is None and confidences:
            warnings.append(f"{system}: scores outside [0, 1], no calibration metrics")
        results[system] = SystemMetrics(
            system=system,
            threshold=threshold,
            n_notes=len(sys_gold),
            n_gold=sum(len(c) for c in sys_gold.values()),
            n_predictions=len(sys_pred),
            n_predicted_notes=len(scored),
            map=mean_average_precision(rankings, sys_gold, pcs_prefix_match=prefix),
            map_codiesp=official,
            map_codiesp_notes=official_notes,
            precision_at_k=p_at,
            recall_at_k=r_at,
            micro=micro,
            macro=macro,
            ece=ece,
            reliability=bins,
        )
    return EvaluationReport(
        systems=results,
        settings=settings,
        n_notes=len(universe),
        dropped_predictions=dropped,
        duplicate_predictions=duplicates,
        warnings=warnings,
    )


def _threshold_map(thresholds: float | Mapping[str, float], systems: Sequence[str]) -> dict[str, float]:
    if isinstance(thresholds, Mapping):
        thresholds = {k if k == "default" else CodeSystem.parse(k).value: v for k, v in thresholds.items()}
        default = float(thresholds.get("default", 0.5))
        unknown = set(thresholds) - set(systems) - {"default"}
        if unknown:
            raise ValueError(f"thresholds for systems without gold: {', '.join(sorted(unknown))}")
        values = {s: float(thresholds.get(s, default)) for s in systems}
    else:
        values = {s: float(thresholds) for s in systems}
    for system, value in values.items():
        if math.isnan(value):
            raise ValueError(f"threshold for {system} is NaN")
    return values


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {', '.join(missing)}")
