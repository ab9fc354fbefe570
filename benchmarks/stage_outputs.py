"""What each stage of the batch path outputs over the CodiEsp dev notes, to check that a speed
change changes nothing: dump with one version of the code, dump with another, compare.

    .venv/bin/python benchmarks/stage_outputs.py dump --model VERSION_OR_DIR --out new.pickle
    PYTHONPATH=/tmp/base .venv/bin/python benchmarks/stage_outputs.py dump --model ... --out old.pickle
    .venv/bin/python benchmarks/stage_outputs.py compare old.pickle new.pickle      # exit 1 on a difference

Stages: the notes' analyses (mentions, candidates, assertions), the trained ranker's candidate
keys and feature matrices (bytes), the ranked codes with reasons, the suggestions, the batch
output rows.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np


def dump(model: str, codiesp: Path, out: Path) -> None:
    from codesuggest.batch import ModelSpec, code_notes
    from codesuggest.config import Settings
    from codesuggest.training.datasets import load_codiesp

    suggester = ModelSpec.resolve(model, Settings()).load()
    texts = [note.text for note in load_codiesp(codiesp)]
    analyses = list(suggester.analyzer.analyze_many(texts))
    stages: dict[str, object] = {"analyses": analyses}
    ranker = suggester.ranker
    if hasattr(ranker, "stats_"):  # a trained CodeRanker
        notes = ranker._candidates(analyses, ranker.stats_, ranker.classifier_)
        stages["candidates"] = [(note.keys, note.X, note.mention_indexes, note.terms) for note in notes]
    stages["ranked"] = ranker.rank(analyses, top_k=30)
    stages["suggested"] = suggester.suggest_many(texts, top_k=30)
    stages["rows"] = code_notes(suggester, [(str(i), text) for i, text in enumerate(texts)], 30)
    with open(out, "wb") as f:
        pickle.dump(stages, f)


def _same(stage: str, a: object, b: object) -> bool:
    if stage != "candidates":
        return a == b
    return len(a) == len(b) and all(
        ka == kb and Xa.dtype == Xb.dtype and np.array_equal(Xa, Xb) and ma == mb and ta == tb
        for (ka, Xa, ma, ta), (kb, Xb, mb, tb) in zip(a, b)
    )


def compare(old: Path, new: Path) -> int:
    with open(old, "rb") as f:
        a = pickle.load(f)
    with open(new, "rb") as f:
        b = pickle.load(f)
    differing = 0
    for stage in a:
        same = stage in b and _same(stage, a[stage], b[stage])
        print(f"{stage:12s} {'same' if same else 'DIFFERENT'}")
        differing += not same
    return 1 if differing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    d = commands.add_parser("dump")
    d.add_argument("--model", required=True, help="model directory or version")
    d.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp/dev"))
    d.add_argument("--out", type=Path, required=True)
    c = commands.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.model, args.codiesp, args.out)
        return
    sys.exit(compare(args.old, args.new))


if __name__ == "__main__":
    main()
