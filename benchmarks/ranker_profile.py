"""Where a trained ranker's time goes, one note at a time (as the service calls it).

Analyses the CodiEsp dev notes one by one and ranks each right after its analysis, timing
the pipeline, the ranker, and the ranker's parts (TF-IDF, text classifier, neighbours,
candidate features, gradient boosting, reasons) by wrapping them with timers.

    .venv/bin/python benchmarks/ranker_profile.py --model MODEL_DIR --cache-dir /tmp/c3 \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from sklearn.ensemble import HistGradientBoostingClassifier

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.models import features, note_classifier, ranker
from codesuggest.models.registry import FileModelRegistry
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.training.datasets import load_codiesp

PARTS = [
    (note_classifier.NoteClassifier, "transform", "TF-IDF"),
    (note_classifier.NoteClassifier, "proba_from_tfidf", "text classifier"),
    (note_classifier.NoteClassifier, "knn_from_tfidf", "neighbours"),
    (features, "_direct_and_derived", "direct and derived codes"),
    (features, "_classifier_proposals", "classifier proposals"),
    (features, "_feature_matrix", "feature matrix"),
    (HistGradientBoostingClassifier, "predict_proba", "gradient boosting"),
    (ranker.CodeRanker, "_reason", "reasons"),
]


def timed(owner: object, name: str, label: str, totals: Counter) -> None:
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained model directory")
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--pcs-file", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cs-cache"))
    args = parser.parse_args()

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
    analyzer = Analyzer.from_catalog(catalog, args.cache_dir)
    suggester = FileModelRegistry(args.model.parent, analyzer=analyzer, catalog=catalog).load_path(args.model)
    texts = [note.text for note in load_codiesp(args.codiesp / "dev")]
    suggester.suggest(texts[0])  # warm-up
    totals: Counter = Counter()
    for owner, name, label in PARTS:
        timed(owner, name, label, totals)
    for text in texts:
        start = time.perf_counter()
        analysis = analyzer.analyze(text)
        middle = time.perf_counter()
        suggester.ranker.rank([analysis], top_k=30)
        totals["pipeline"] += middle - start
        totals["ranker"] += time.perf_counter() - middle
    n = len(texts)
    print(f"{n} dev notes, one at a time (ms/note): pipeline {1000 * totals['pipeline'] / n:.2f}, "
          f"ranker {1000 * totals['ranker'] / n:.2f}, both {n / (totals['pipeline'] + totals['ranker']):.1f} notes/s")
    for _, _, label in PARTS:
        print(f"  ranker: {label:28s} {1000 * totals[label] / n:6.2f}")


if __name__ == "__main__":
    main()
