"""What the coding layer does to a trained model's ranking on CodiEsp dev: MAP per output stage.

    .venv/bin/python benchmarks/guidelines_codiesp.py --data-dir var --model VERSION \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz [--codiesp ../shared/data/codiesp]

The same model and notes, three ways out (``Output``): ``ranked`` (as trained, what
``codesuggest predict`` writes and CodiEsp's MAP is defined on), ``billable`` and ``coded`` (the
ICD-10-CM guidelines on top). CodiEsp's gold follows the corpus's own habits (symptoms beside
their diagnosis, PCS prefixes, codes the guidelines combine), so ``coded`` measures how far the
guidelines move a coder's list away from, or towards, what the CodiEsp coders chose. Each list is
scored in the order the model returns it (MAP, training.metrics.evaluate) at top_k 100.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from codesuggest.config import Settings
from codesuggest.guidelines import RULE_NAMES
from codesuggest.models.interface import Output
from codesuggest.models.runtime import open_registry
from codesuggest.training.datasets import load_codiesp
from codesuggest.training.metrics import evaluate

SYSTEMS = ("ICD10CM", "ICD10PCS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--model", required=True)
    parser.add_argument("--pcs-file", type=Path)
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--ablate", action="store_true", help="also: coded with each rule switched off in turn")
    args = parser.parse_args()

    suggester = open_registry(Settings(data_dir=args.data_dir, pcs_file=args.pcs_file)).load(args.model)
    notes = load_codiesp(args.codiesp / args.split)
    gold = pd.DataFrame([(n.note_id, c, s) for n in notes for s, c in n.codes], columns=["note_id", "code", "system"])
    print(f"{len(notes)} notes ({args.split}), model {args.model}, top_k {args.top_k}")
    print("| output | MAP D | MAP P | codes per note | seconds |")
    print("| --- | --- | --- | --- | --- |")
    runs = [(output.value, output, ()) for output in (Output.RANKED, Output.BILLABLE, Output.CODED)]
    if args.ablate:
        runs += [(f"coded without {rule}", Output.CODED, (rule,)) for rule in RULE_NAMES]
    for label, output, off in runs:
        suggester.guidelines_off = frozenset(off)
        start = time.perf_counter()
        rows = []
        for begin in range(0, len(notes), 32):
            chunk = notes[begin : begin + 32]
            coded = suggester.suggest_many([n.text for n in chunk], top_k=args.top_k, output=output)
            for note, suggestions in zip(chunk, coded):
                # the list's own order: rank-based scores (CODED puts the principal diagnosis first)
                rows += [(note.note_id, s.code, s.system, 1.0 - i / 1000) for i, s in enumerate(suggestions)]
        seconds = time.perf_counter() - start
        report = evaluate(pd.DataFrame(rows, columns=["note_id", "code", "system", "score"]), gold,
                          note_ids=[n.note_id for n in notes])
        print(f"| {label} | {report['ICD10CM'].map:.4f} | {report['ICD10PCS'].map:.4f} | "
              f"{len(rows) / len(notes):.1f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
