"""The embedded default model (DictionaryRanker: code sets only, no training data) on CodiEsp dev.

    .venv/bin/python benchmarks/default_model_eval.py --codiesp ../shared/data/codiesp \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz --cache-dir /tmp/cs-cache

Prints MAP (``training.metrics.evaluate``, top_k 100), the CodiEsp official MAP, micro
P/R/F1 at the model's fixed thresholds, recall@20, ECE and speed, per system. The
default model is what ``codesuggest serve`` builds when no model has been trained.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.models.default import build_default_ranker
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.pipeline.resources import ensure_term_index
from codesuggest.training.datasets import load_codiesp
from codesuggest.training.metrics import evaluate
from codesuggest.training.train import predict_rows

SYSTEMS = ("ICD10CM", "ICD10PCS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--pcs-file", type=Path, default=Path("../shared/data/codesets/icd10pcs-codes-2026.txt.gz"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cs-cache"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--top-k", type=int, default=100)
    args = parser.parse_args()

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
    analyzer = Analyzer.from_index(ensure_term_index(catalog, args.cache_dir))
    ranker = build_default_ranker(catalog)
    notes = load_codiesp(args.codiesp / args.split)

    analyzer.analyze(notes[0].text)  # warm-up
    start = time.perf_counter()
    rows = predict_rows(ranker, analyzer, notes, top_k=args.top_k, progress=True)
    seconds = time.perf_counter() - start
    pred = pd.DataFrame(rows, columns=["note_id", "code", "system", "score"])
    gold = pd.DataFrame([(n.note_id, c, s) for n in notes for s, c in n.codes], columns=["note_id", "code", "system"])
    thresholds = {s: t for s, t in ranker.thresholds_.items() if s in SYSTEMS}  # no CPT in CodiEsp
    report = evaluate(pred, gold, thresholds, note_ids=[n.note_id for n in notes])

    print(f"default model on CodiEsp {args.split}: {len(notes)} notes, {len(notes) / seconds:.1f} notes/s incl. pipeline")
    for system in SYSTEMS:
        m = report[system]
        print(
            f"{system}: MAP {m.map:.4f} (CodiEsp official {m.map_codiesp:.4f}); threshold {m.threshold:.2f} -> micro "
            f"P/R/F1 {m.micro['precision']:.3f}/{m.micro['recall']:.3f}/{m.micro['f1']:.3f}; "
            f"R@20 {m.recall_at_k[20]:.3f}; ECE {m.ece:.4f}"
        )


if __name__ == "__main__":
    main()
