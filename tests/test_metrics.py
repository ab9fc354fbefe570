"""Evaluation metrics on small examples computed by hand, and the ``codesuggest evaluate`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from codesuggest.cli import app
from codesuggest.training.metrics import (
    average_precision,
    calibration,
    codiesp_map,
    evaluate,
    match_ranked,
    mean_average_precision,
    precision_recall_at_k,
    threshold_metrics,
)

DATA = Path(__file__).parent / "data" / "eval"
approx = pytest.approx

# One running example. Gold: n1 {A, B, C}, n2 {D}, n3 {E}; n3 gets no predictions.
GOLD = {"n1": {"A", "B", "C"}, "n2": {"D"}, "n3": {"E"}}
SCORED = {"n1": [("A", 0.9), ("X", 0.8), ("B", 0.4), ("Y", 0.3)], "n2": [("X", 0.7), ("D", 0.5)]}
RANKED = {note: [code for code, _ in pairs] for note, pairs in SCORED.items()}


# --- average precision and MAP -------------------------------------------------------


def test_average_precision_by_hand():
    # hits at ranks 1 and 3: (1/1 + 2/3) / 3 gold codes; C is never found
    assert average_precision(["A", "X", "B", "Y"], {"A", "B", "C"}) == approx(5 / 9)
    assert average_precision(["X", "D"], {"D"}) == approx(1 / 2)
    assert average_precision([], {"E"}) == 0.0  # no predictions
    assert average_precision(["A", "A", "B"], {"A", "B"}) == approx((1 + 2 / 3) / 2)  # a repeat is a miss
    with pytest.raises(ValueError):
        average_precision(["A"], set())


def test_map_counts_notes_without_predictions_as_zero():
    assert mean_average_precision(RANKED, GOLD) == approx((5 / 9 + 1 / 2 + 0) / 3)  # = 19/54
    assert mean_average_precision({}, GOLD) == 0.0
    assert mean_average_precision(RANKED, {}) == 0.0


def test_codiesp_official_map_averages_over_predicted_notes_only():
    # trectools 0.0.42: n3 (gold, no predictions) leaves the mean, so abstaining pays
    assert codiesp_map(RANKED, GOLD) == (approx((5 / 9 + 1 / 2) / 2), 2)
    # a predicted note without gold codes counts 0
    with_extra = {**RANKED, "n4": ["A"]}
    assert codiesp_map(with_extra, GOLD) == (approx((5 / 9 + 1 / 2 + 0) / 3), 3)
    # the ranking is cut at the depth (1000 in the official script)
    assert codiesp_map({"n1": ["X", "Y", "A"]}, {"n1": {"A"}}, depth=2) == (0.0, 1)
    assert codiesp_map({"n1": ["X", "Y", "A"]}, {"n1": {"A"}}) == (approx(1 / 3), 1)
    assert codiesp_map({}, GOLD) == (0.0, 0)


def test_pcs_prefix_matching_is_off_by_default():
    gold = {"BW03"}
    assert match_ranked(["BW03ZZZ", "BW03"], gold) == [None, "BW03"]
    assert average_precision(["BW03ZZZ", "BW03"], gold) == approx(1 / 2)
    # with the option, the 7-character code finds the prefix; the prefix itself is then a repeat
    assert match_ranked(["BW03ZZZ", "BW03"], gold, pcs_prefix_match=True) == ["BW03", None]
    assert average_precision(["BW03ZZZ", "BW03"], gold, pcs_prefix_match=True) == 1.0
    # an exact match is preferred over the prefix; one prediction finds one gold code
    assert match_ranked(["BW03ZZZ"], {"BW03", "BW03ZZZ"}, pcs_prefix_match=True) == ["BW03ZZZ"]
    assert average_precision(["BW03ZZZ"], {"BW03", "BW03ZZZ"}, pcs_prefix_match=True) == approx(1 / 2)
    # a prefix prediction never matches a full gold code
    assert match_ranked(["BW03"], {"BW03ZZZ"}, pcs_prefix_match=True) == [None]


# --- precision@k / recall@k ------------------------------------------------------------


def test_precision_and_recall_at_k_by_hand():
    precision, recall = precision_recall_at_k(RANKED, GOLD, ks=(1, 2, 5))
    # k=1: n1 hit (1/1), n2 miss, n3 nothing
    assert precision[1] == approx((1 + 0 + 0) / 3)
    assert recall[1] == approx((1 / 3 + 0 + 0) / 3)
    # k=2: n1 [A, X] one hit; n2 [X, D] one hit
    assert precision[2] == approx((1 / 2 + 1 / 2 + 0) / 3)
    assert recall[2] == approx((1 / 3 + 1 + 0) / 3)
    # k=5: P@k divides by k even with fewer predictions
    assert precision[5] == approx((2 / 5 + 1 / 5 + 0) / 3)
    assert recall[5] == approx((2 / 3 + 1 + 0) / 3)
    with pytest.raises(ValueError):
        precision_recall_at_k(RANKED, GOLD, ks=(0,))


# --- threshold metrics -------------------------------------------------------------------


def test_micro_and_macro_at_threshold_by_hand():
    micro, macro = threshold_metrics(SCORED, GOLD, 0.5)
    # made (score >= 0.5, so D at exactly 0.5 counts): n1 {A, X}, n2 {X, D}
    # TP A, D; FP X, X; FN B, C, E
    assert (micro["tp"], micro["fp"], micro["fn"]) == (2, 2, 3)
    assert micro["precision"] == approx(2 / 4)
    assert micro["recall"] == approx(2 / 5)
    assert micro["f1"] == approx(2 * 0.5 * 0.4 / 0.9)
    # labels A, B, C, D, E, X: A and D are perfect (P=R=F1=1), the other four score 0 (0/0 -> 0)
    assert macro == {"precision": approx(2 / 6), "recall": approx(2 / 6), "f1": approx(2 / 6), "labels": 6}

    micro, macro = threshold_metrics(SCORED, GOLD, 0.95)  # nothing made
    assert (micro["precision"], micro["recall"], micro["f1"], micro["fn"]) == (0.0, 0.0, 0.0, 5)
    assert macro["labels"] == 5 and macro["f1"] == 0.0

    micro, _ = threshold_metrics(SCORED, GOLD, 0.0)  # everything made: 3 TP, 3 FP
    assert (micro["tp"], micro["fp"], micro["fn"]) == (3, 3, 2)


def test_threshold_metrics_false_positives_on_notes_without_gold():
    micro, _ = threshold_metrics({"n9": [("A", 0.9)]}, {"n1": {"A"}}, 0.5)
    assert (micro["tp"], micro["fp"], micro["fn"]) == (0, 1, 1)
    micro, _ = threshold_metrics({"n9": [("A", 0.9)]}, {"n1": {"A"}}, 0.5, notes=["n1"])
    assert (micro["tp"], micro["fp"], micro["fn"]) == (0, 0, 1)


# --- calibration -----------------------------------------------------------------------------


def test_ece_and_reliability_bins_by_hand():
    scores = [0.05, 0.15, 0.15, 0.3, 0.95, 1.0]
    correct = [False, True, False, True, True, True]
    ece, bins = calibration(scores, correct, n_bins=10)
    # bin 0: conf .05 acc 0 (1); bin 1: conf .15 acc .5 (2); bin 3 (0.3 sits on the edge, goes up): conf .3 acc 1 (1);
    # bin 9 (holds 1.0): conf .975 acc 1 (2).  ECE = (1*.05 + 2*.35 + 1*.7 + 2*.025) / 6 = 0.25
    assert ece == approx(0.25)
    assert [b["count"] for b in bins] == [1, 2, 0, 1, 0, 0, 0, 0, 0, 2]
    assert bins[1] == {"lower": 0.1, "upper": 0.2, "confidence": approx(0.15), "accuracy": 0.5, "count": 2}
    assert bins[2] == {"lower": 0.2, "upper": 0.3, "confidence": None, "accuracy": None, "count": 0}
    assert bins[9]["confidence"] == approx(0.975) and bins[9]["accuracy"] == 1.0

    ece, bins = calibration(scores, correct, n_bins=2)
    # [0, .5): conf .1625 acc .5 (4); [.5, 1]: conf .975 acc 1 (2) -> (4*.3375 + 2*.025) / 6
    assert ece == approx(1.4 / 6)
    assert [b["count"] for b in bins] == [4, 2]


def test_ece_edge_cases():
    assert calibration([], [])[0] is None  # no bins: n/a, not a perfect 0
    assert calibration([0.7, 0.7], [True, True])[0] == approx(0.3)
    assert calibration([1.5, 0.2], [True, False]) == (None, [])  # not probabilities
    with pytest.raises(ValueError):
        calibration([0.5], [True, False])


# --- evaluate() -------------------------------------------------------------------------------

CM = {"A": "E11.22", "B": "I10", "C": "N44.8", "D": "R60.9", "E": "Z20.818", "X": "J45.909", "Y": "K21.9"}


def _frames():
    gold = [(n, CM[c], "ICD10CM") for n, codes in GOLD.items() for c in sorted(codes)] + [("n1", "BW03", "ICD10PCS")]
    pred = [(n, CM[c], "ICD10CM", s) for n, pairs in SCORED.items() for c, s in pairs]
    pred += [
        ("n1", CM["A"], "ICD10CM", 0.2),  # duplicate of a better-scored row: dropped
        ("zz", CM["A"], "ICD10CM", 0.9),  # a note without gold: dropped
        ("n1", "BW03ZZZ", "ICD10PCS", 0.6),
        ("n1", "BW03", "ICD10PCS", 0.4),
        ("n2", "0DTJ4ZZ", "ICD10PCS", 0.9),  # n2 has no PCS gold: a false positive
    ]
    pred_df = pd.DataFrame(pred[::-1], columns=["note_id", "code", "system", "score"])  # row order must not matter
    return pred_df, pd.DataFrame(gold, columns=["note_id", "code", "system"])


def test_evaluate_end_to_end_by_hand():
    pred_df, gold_df = _frames()
    report = evaluate(pred_df, gold_df, thresholds=0.5, ks=(1, 5))
    assert report.n_notes == 3 and report.dropped_predictions == 1 and report.duplicate_predictions == 1
    cm = report["ICD10CM"]
    assert (cm.n_notes, cm.n_gold, cm.n_predictions, cm.n_predicted_notes) == (3, 5, 6, 2)
    assert cm.map == approx(19 / 54)
    assert (cm.map_codiesp, cm.map_codiesp_notes) == (approx(19 / 36), 2)
    assert cm.precision_at_k == {1: approx(1 / 3), 5: approx(3 / 15)}
    assert cm.recall_at_k == {1: approx(1 / 9), 5: approx(5 / 9)}
    assert cm.micro["precision"] == approx(0.5) and cm.micro["recall"] == approx(0.4)
    assert cm.macro["f1"] == approx(1 / 3)
    # six predictions, one per bin: |1-.9| + |0-.8| + |1-.4| + |0-.3| + |0-.7| + |1-.5| = 3.0, / 6
    assert cm.ece == approx(0.5)

    pcs = report["ICD10PCS"]
    assert (pcs.n_notes, pcs.n_gold, pcs.n_predictions) == (1, 1, 3)
    assert pcs.map == approx(1 / 2)  # BW03 found at rank 2
    assert (pcs.map_codiesp, pcs.map_codiesp_notes) == (approx((1 / 2 + 0) / 2), 2)
    assert (pcs.micro["tp"], pcs.micro["fp"], pcs.micro["fn"]) == (0, 2, 1)

    prefix = evaluate(pred_df, gold_df, thresholds={"pcs": 0.5, "default": 0.3}, pcs_prefix_match=True)["ICD10PCS"]
    assert prefix.map == 1.0 and prefix.map_codiesp == approx(1 / 4)  # the official variant stays exact
    assert prefix.micro["precision"] == approx(1 / 2) and prefix.micro["recall"] == 1.0 and prefix.micro["f1"] == approx(2 / 3)

    data = json.loads(json.dumps(report.to_dict()))
    assert data["systems"]["ICD10CM"]["precision_at_k"]["1"] == approx(1 / 3)
    assert data["settings"]["thresholds"] == {"ICD10CM": 0.5, "ICD10PCS": 0.5}
    table = report.to_table()
    assert "MAP (CodiEsp official)" in table and "0.3519" in table and "ICD10PCS" in table


def test_evaluate_ties_keep_row_order():
    gold = pd.DataFrame([("n", "I10", "ICD10CM")], columns=["note_id", "code", "system"])
    first = pd.DataFrame([("n", "R51", "ICD10CM", 0.5), ("n", "I10", "ICD10CM", 0.5)], columns=["note_id", "code", "system", "score"])
    assert evaluate(first, gold)["ICD10CM"].map == approx(1 / 2)
    assert evaluate(first[::-1], gold)["ICD10CM"].map == 1.0


def test_evaluate_thresholds_and_unknown_systems():
    pred_df, gold_df = _frames()
    report = evaluate(pred_df, gold_df, thresholds={"ICD10CM": 0.85, "default": 0.1})
    assert report["ICD10CM"].threshold == 0.85 and report["ICD10PCS"].threshold == 0.1
    assert report["ICD10CM"].micro["tp"] == 1  # only A (0.9)
    with pytest.raises(ValueError, match="thresholds for systems without gold: CPT"):
        evaluate(pred_df, gold_df, thresholds={"CPT": 0.5})
    cpt = pd.concat([pred_df, pd.DataFrame([("n1", "99213", "CPT", 0.9)], columns=pred_df.columns)])
    assert any("systems without gold are not evaluated: CPT" in w for w in evaluate(cpt, gold_df).warnings)


# --- the command ------------------------------------------------------------------------------


def test_cli_evaluate(tmp_path):
    out = tmp_path / "report.json"
    args = ["evaluate", "--pred", str(DATA / "preds.tsv"), "--gold", str(DATA / "goldD.tsv"), "--gold", str(DATA / "goldP.tsv")]
    result = CliRunner().invoke(app, args + ["--threshold", "0.5", "--threshold", "ICD10PCS=0.3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "MAP" in result.output and "0.6667" in result.output
    report = json.loads(out.read_text())
    cm, pcs = report["systems"]["ICD10CM"], report["systems"]["ICD10PCS"]
    # gold_1: {R60.9, N44.8} ranked N44.8, E11.22, R60.9 -> (1 + 2/3)/2; gold_2: {I10} ranked K21.9, I10 -> 1/2
    assert cm["map"] == approx((5 / 6 + 1 / 2) / 2)
    assert cm["micro"]["precision"] == approx(1 / 2) and cm["micro"]["recall"] == approx(2 / 3)
    assert pcs["map"] == approx(1 / 2) and pcs["threshold"] == 0.3

    prefix = CliRunner().invoke(app, args + ["--pcs-prefix-match", "--json", str(out)])
    assert prefix.exit_code == 0 and json.loads(out.read_text())["systems"]["ICD10PCS"]["map"] == 1.0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--pred", "/nonexistent/preds.tsv"], "no such file"),
        (["--pred", str(DATA / "goldD.tsv")], "goldD.tsv:1: expected note_id<TAB>code<TAB>system<TAB>score"),
        (["--pred", str(DATA / "preds.tsv"), "--threshold", "ICD9=0.5"], "unknown code system"),
        (["--pred", str(DATA / "preds.tsv"), "--threshold", "high"], "--threshold 'high'"),
    ],
)
def test_cli_evaluate_user_errors(extra, message):
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(DATA / "goldD.tsv"), *extra])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


# --- against scikit-learn, where the definitions agree (see the metrics module docstring) ------


def _random_notes(seed: int, n_notes: int = 40, n_labels: int = 25):
    """Per note: gold codes and scored candidates (distinct random scores, so no ties)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = [f"C{i:02d}" for i in range(n_labels)]
    gold, scored = {}, {}
    for n in range(n_notes):
        note = f"n{n}"
        candidates = list(rng.choice(labels, size=int(rng.integers(2, 12)), replace=False))
        gold[note] = set(rng.choice(candidates, size=int(rng.integers(1, len(candidates))), replace=False))
        scores = rng.permutation(rng.random(len(candidates)))
        scored[note] = sorted(zip(candidates, scores.tolist()), key=lambda p: -p[1])
    return labels, gold, scored


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_scikit_learn_when_every_gold_code_is_ranked(seed):
    from sklearn.metrics import average_precision_score

    _, gold, scored = _random_notes(seed)
    for note, pairs in scored.items():
        y_true = [code in gold[note] for code, _ in pairs]
        y_score = [score for _, score in pairs]
        ours = average_precision([code for code, _ in pairs], gold[note])
        assert ours == approx(average_precision_score(y_true, y_score))


def test_average_precision_counts_unranked_gold_codes_where_scikit_learn_cannot():
    from sklearn.metrics import average_precision_score

    ranked, scores = ["A", "X", "B"], [0.9, 0.5, 0.2]
    gold = {"A", "B", "C"}  # C never ranked: scikit-learn does not know it exists
    sk = average_precision_score([c in gold for c in ranked], scores)
    assert sk == approx((1 + 2 / 3) / 2)
    assert average_precision(ranked, gold) == approx(sk * 2 / 3)


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_micro_and_macro_match_scikit_learn(threshold):
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    labels, gold, scored = _random_notes(7)
    micro, macro = threshold_metrics(scored, gold, threshold)
    notes = sorted(set(gold) | set(scored))
    used = sorted({c for n in notes for c in gold[n]} | {c for n in notes for c, s in scored[n] if s >= threshold})
    column = {code: j for j, code in enumerate(used)}
    y_true = np.zeros((len(notes), len(used)), dtype=int)
    y_pred = np.zeros_like(y_true)
    for i, note in enumerate(notes):
        for code in gold[note]:
            y_true[i, column[code]] = 1
        for code, score in scored[note]:
            if score >= threshold:
                y_pred[i, column[code]] = 1
    for average, ours in (("micro", micro), ("macro", macro)):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        assert (ours["precision"], ours["recall"], ours["f1"]) == (approx(p), approx(r), approx(f))
    assert macro["labels"] == len(used)


def test_reliability_bins_match_scikit_learn_off_the_bin_edges():
    import numpy as np
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    scores = rng.random(500)
    scores = scores[np.abs(scores * 10 - np.round(scores * 10)) > 1e-9]  # none on an edge
    correct = rng.random(len(scores)) < scores
    ece, bins = calibration(scores.tolist(), correct.tolist(), n_bins=10)
    accuracy, confidence = calibration_curve(correct, scores, n_bins=10, strategy="uniform")
    filled = [b for b in bins if b["count"]]
    assert [b["accuracy"] for b in filled] == approx(accuracy.tolist())
    assert [b["confidence"] for b in filled] == approx(confidence.tolist())
    counts = np.array([b["count"] for b in filled])
    assert ece == approx(float(np.sum(counts / counts.sum() * np.abs(accuracy - confidence))))


def test_a_score_on_a_bin_edge_goes_up_here_and_down_in_scikit_learn():
    from sklearn.calibration import calibration_curve

    _, bins = calibration([0.5, 0.5], [True, False], n_bins=2)
    assert [b["count"] for b in bins] == [0, 2]  # [0, .5) and [.5, 1]
    accuracy, confidence = calibration_curve([1, 0], [0.5, 0.5], n_bins=2)
    assert confidence.tolist() == [0.5] and len(accuracy) == 1  # one bin; scikit-learn's lower one
    assert calibration([0.5], [True], n_bins=2)[1][0]["count"] == 0


def test_oof_metrics_rank_each_notes_candidates_and_count_missed_gold_codes():
    import numpy as np

    from codesuggest.training.datasets import CodedNote
    from codesuggest.training.metrics import oof_average_precisions, oof_metrics

    class Fitted:  # what a fitted ranker exposes after cross-fitting
        oof_scores_ = {"ICD10CM": (np.array([0.9, 0.2, 0.6, 0.8, 0.1]), np.array([True, False, True, False, True]), np.array([0, 0, 0, 1, 1]))}
        thresholds_ = {"ICD10CM": 0.5}
        oof_candidate_recall_ = {"ICD10CM": 0.75}
        oof_ece_ = {"ICD10CM": 0.1234}  # measured on scores calibrated on the other folds, when fitting

    notes = [
        CodedNote("a", "t", (("ICD10CM", "I10"), ("ICD10CM", "E11.9"), ("ICD10CM", "J45.909")), "test"),  # 3 gold, 2 candidates
        CodedNote("b", "t", (("ICD10CM", "R60.9"),), "test"),
        CodedNote("c", "t", (), "test"),
    ]
    # note a ranks hit .9, hit .6, miss .2 with 3 gold: (1 + 1) / 3; note b ranks miss .8, hit .1: (1/2) / 1
    assert oof_average_precisions(Fitted(), notes) == {"ICD10CM": {0: approx(2 / 3), 1: approx(0.5)}}
    metrics = oof_metrics(Fitted(), notes)["ICD10CM"]
    # at .5: made .9 (hit), .6 (hit), .8 (miss) -> P 2/3; R 2/4 (4 gold codes)
    assert metrics["map"] == round((2 / 3 + 0.5) / 2, 4)
    assert (metrics["precision"], metrics["recall"], metrics["notes"]) == (round(2 / 3, 4), 0.5, 2)
    assert metrics["f1"] == round(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 4)
    assert metrics["ece"] == 0.1234  # not the calibration of these very scores, perfect by construction
    del Fitted.oof_ece_
    assert oof_metrics(Fitted(), notes)["ICD10CM"]["ece"] is None  # n/a, not 0
