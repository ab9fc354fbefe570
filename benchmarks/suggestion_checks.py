"""Code-set findings on the model's suggestions before and after the billing rules (issue 8).

Trains the ranker on CodiEsp train, ranks CodiEsp dev, and compares two lists per note:
"as trained" (the ranker's codes, CodiEsp's habits included: PCS prefixes, 2018 codes,
no 7th characters) and "billable" (what the service and `batch` serve:
``codesuggest.models.billable.make_billable``). For each, the confident codes
(score >= the ranker's threshold for the system, i.e. not flagged for review) of a note
are one code set, checked with every rule of ``codesuggest.codesets.rules``; MAP against
the gold is reported both exactly and with PCS prefix matching (a billable 7-character
code counts for the gold prefix it starts with, CodiEsp's own convention).

    .venv/bin/python benchmarks/suggestion_checks.py --codiesp ../shared/data/codiesp \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz --cache-dir /tmp/cs-cache
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.codesets.rules import RULES, check_codes
from codesuggest.models.billable import candidate_scores, make_billable
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.pipeline.resources import ensure_term_index
from codesuggest.training.datasets import load_codiesp
from codesuggest.training.metrics import evaluate
from codesuggest.training.train import train_model

SYSTEMS = ("ICD10CM", "ICD10PCS")
LISTS = ("as trained", "billable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--pcs-file", type=Path, default=Path("../shared/data/codesets/icd10pcs-codes-2026.txt.gz"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cs-cache"))
    parser.add_argument("--top-k", type=int, default=100)
    args = parser.parse_args()

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
    analyzer = Analyzer.from_index(ensure_term_index(catalog, args.cache_dir))
    train, dev = load_codiesp(args.codiesp / "train"), load_codiesp(args.codiesp / "dev")
    ranker = train_model([train], analyzer, {"random_state": 0}, progress=True)
    thresholds = ranker.thresholds_

    rows: dict[str, list[tuple]] = {name: [] for name in LISTS}
    findings: dict[str, Counter] = {name: Counter() for name in LISTS}
    replaced, guessed, rules_seconds = Counter(), Counter(), 0.0
    for begin in range(0, len(dev), 64):
        chunk = dev[begin : begin + 64]
        analyses = list(analyzer.analyze_many([n.text for n in chunk]))
        for note, analysis, ranked in zip(chunk, analyses, ranker.rank(analyses, top_k=args.top_k)):
            start = time.perf_counter()
            result = make_billable(ranked, catalog, note.text, candidate_scores(analysis))
            rules_seconds += time.perf_counter() - start
            replaced.update(system for system, _ in result.replaced)
            guessed.update(system for system, _ in result.guessed)
            for name, codes in zip(LISTS, (ranked, result.codes)):
                rows[name] += [(note.note_id, r.code, r.system, r.score) for r in codes]
                confident = [(r.system, r.code) for r in codes if r.score >= thresholds.get(r.system, 0.5)]
                findings[name].update((f.rule, f.system) for f in check_codes(confident, catalog, note.text))

    gold = pd.DataFrame([(n.note_id, c, s) for n in dev for s, c in n.codes], columns=["note_id", "code", "system"])
    print(f"dev: {len(dev)} notes; rules: {1000 * rules_seconds / len(dev):.1f} ms/note; "
          f"replaced per note: { {s: round(replaced[s] / len(dev), 2) for s in SYSTEMS} }; "
          f"of them guesses (flagged for review): { {s: round(guessed[s] / len(dev), 2) for s in SYSTEMS} }")
    print("\n| rule | system | " + " | ".join(f"findings, {name}" for name in LISTS) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in LISTS) + " |")
    for rule in RULES:
        for system in SYSTEMS:
            counts = [findings[name][(rule, system)] for name in LISTS]
            if any(counts):
                print(f"| {rule} | {system} | " + " | ".join(str(c) for c in counts) + " |")
    print("\n| list | system | MAP exact | MAP, PCS prefix match | micro P/R/F1 at threshold |")
    print("| --- | --- | ---: | ---: | --- |")
    for name in LISTS:
        pred = pd.DataFrame(rows[name], columns=["note_id", "code", "system", "score"])
        exact = evaluate(pred, gold, thresholds, note_ids=[n.note_id for n in dev])
        prefix = evaluate(pred, gold, thresholds, note_ids=[n.note_id for n in dev], pcs_prefix_match=True)
        for system in SYSTEMS:
            m = prefix[system].micro
            print(f"| {name} | {system} | {exact[system].map:.4f} | {prefix[system].map:.4f} | "
                  f"{m['precision']:.3f}/{m['recall']:.3f}/{m['f1']:.3f} |")


if __name__ == "__main__":
    main()
