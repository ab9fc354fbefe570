"""Train the code ranker on CodiEsp train, rank CodiEsp dev, print MAP, unseen-code MAP, ECE and speed.

    .venv/bin/python benchmarks/train_eval_codiesp.py \
        --codiesp ../shared/data/codiesp --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz \
        --cache-dir /tmp/cs-cache [--params '{"reranker": "logreg"}'] [--pred benchmarks/out/dev_pred.tsv] [--approximate]

"Unseen MAP": per dev note with at least one gold code of the system that is
never coded in train, the AP of the note's full ranking against those unseen
gold codes only (seen gold codes in the ranking count as misses), averaged.
Thresholds are the ranker's own (chosen on train folds); nothing is tuned on dev.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.pipeline.resources import ensure_term_index
from codesuggest.training.datasets import load_codiesp
from codesuggest.training.metrics import evaluate, mean_average_precision, oof_metrics
from codesuggest.training.predictions import write_predictions
from codesuggest.training.train import predict_rows, train_model

SYSTEMS = ("ICD10CM", "ICD10PCS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--pcs-file", type=Path, default=Path("../shared/data/codesets/icd10pcs-codes-2026.txt.gz"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cs-cache"))
    parser.add_argument("--params", default="{}", help="CodeRanker parameters as JSON")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--pred", type=Path, help="write the dev predictions TSV here")
    parser.add_argument("--approximate", action="store_true", help="with the approximate (ANN) linker (off by default)")
    args = parser.parse_args()
    params = {"random_state": 0, **json.loads(args.params)}

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
    index_path = ensure_term_index(catalog, args.cache_dir)
    del catalog
    analyzer = Analyzer.from_index(index_path, approximate=args.approximate)
    train = load_codiesp(args.codiesp / "train")
    dev = load_codiesp(args.codiesp / "dev")

    start = time.perf_counter()
    ranker = train_model([train], analyzer, params, progress=True)
    train_seconds = time.perf_counter() - start

    analyzer.analyze(dev[0].text)  # warm-up
    start = time.perf_counter()
    rows = predict_rows(ranker, analyzer, dev, top_k=args.top_k)
    predict_seconds = time.perf_counter() - start
    if args.pred:
        args.pred.parent.mkdir(parents=True, exist_ok=True)
        write_predictions(rows, args.pred)

    pred = pd.DataFrame(rows, columns=["note_id", "code", "system", "score"])
    gold = pd.DataFrame([(n.note_id, c, s) for n in dev for s, c in n.codes], columns=["note_id", "code", "system"])
    report = evaluate(pred, gold, ranker.thresholds_, note_ids=[n.note_id for n in dev])
    seen = {pair for n in train for pair in n.codes}

    print(f"params: {json.dumps(params, sort_keys=True)}")
    print(f"train: {len(train)} notes, {train_seconds:.1f} s ({ranker.training_summary_})")
    print(f"dev: {len(dev)} notes, {len(dev) / predict_seconds:.1f} notes/s incl. pipeline (top_k={args.top_k})")
    for system in SYSTEMS:
        m = report[system]
        rankings: dict[str, list[str]] = {}
        for note_id, code, sys_, _ in rows:
            if sys_ == system:
                rankings.setdefault(note_id, []).append(code)
        unseen_gold = {n.note_id: {c for s, c in n.codes if s == system and (s, c) not in seen} for n in dev}
        unseen_gold = {k: v for k, v in unseen_gold.items() if v}
        unseen_map = mean_average_precision(rankings, unseen_gold)
        print(
            f"{system}: MAP {m.map:.4f} (CodiEsp official {m.map_codiesp:.4f}); unseen-code MAP {unseen_map:.4f} "
            f"over {len(unseen_gold)} notes; ECE {m.ece:.4f}; threshold {m.threshold:.3f} -> micro P/R/F1 "
            f"{m.micro['precision']:.3f}/{m.micro['recall']:.3f}/{m.micro['f1']:.3f}; R@20 {m.recall_at_k[20]:.3f}"
        )
    print(f"OOF candidate recall on train: {ranker.oof_candidate_recall_}")
    oof = oof_metrics(ranker, train)  # what to choose settings by: train folds, not dev
    print("OOF MAP on train (5 folds): " + ", ".join(f"{s} {m['map']:.4f}" for s, m in oof.items()))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
