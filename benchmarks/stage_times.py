"""Per-note time of the batch path's stages: the pipeline (``analyze_many``), the ranker
(``rank``, top 30) and all of ``code_notes`` (pipeline, ranker, billable codes, suggestions,
output rows), over the CodiEsp dev notes in chunks of 32 as batch coding runs them; medians
of ``--rounds`` rounds after a warm-up chunk.

    CODESUGGEST_DATA_DIR=/tmp/tdata CODESUGGEST_PCS_FILE=../shared/data/codesets/icd10pcs-codes-2026.txt.gz \\
        .venv/bin/python benchmarks/stage_times.py --model 20261127-1229-ae3580

Side by side with an older commit (its package first on the path; run both in the same minute):

    git worktree add /tmp/base COMMIT
    PYTHONPATH=/tmp/base .venv/bin/python benchmarks/stage_times.py --model ...
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import codesuggest
from codesuggest.batch import CHUNK, ModelSpec, code_notes
from codesuggest.config import Settings
from codesuggest.training.datasets import load_codiesp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model directory or version")
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp/dev"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    suggester = ModelSpec.resolve(args.model, Settings()).load()
    texts = [note.text for note in load_codiesp(args.codiesp)]
    notes = [(str(i), text) for i, text in enumerate(texts)]
    chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
    code_notes(suggester, notes[:CHUNK], 30)  # warm-up
    seconds: dict[str, list[float]] = {"pipeline": [], "ranker": [], "code_notes": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        analyses = [list(suggester.analyzer.analyze_many(chunk)) for chunk in chunks]
        seconds["pipeline"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for chunk in analyses:
            suggester.ranker.rank(chunk, top_k=30)
        seconds["ranker"].append(time.perf_counter() - start)
        start = time.perf_counter()
        code_notes(suggester, notes, 30)
        seconds["code_notes"].append(time.perf_counter() - start)
    per_note = {stage: 1000 * statistics.median(values) / len(texts) for stage, values in seconds.items()}
    print(f"{codesuggest.__file__}: {len(texts)} notes, ms/note " + ", ".join(f"{k} {v:.2f}" for k, v in per_note.items())
          + f"; code_notes {1000 / per_note['code_notes']:.1f} notes/s")


if __name__ == "__main__":
    main()
