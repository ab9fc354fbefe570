"""Mention precision and recall on short US-style notes (tests/data/us_mentions.jsonl).

Precision counts the pipeline's mentions that a case judges (right: it finds a mention the note
must give; wrong: one it must not give, such as "PCP" -> B59 in "follow up with PCP"); recall is
over the mentions the notes must give. See codesuggest/training/mention_suite.py for the rules.

    PYTHONPATH=. .venv/bin/python benchmarks/mention_precision.py --cache-dir /tmp/cache --details
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.training.mention_suite import load_suite, run_suite

SUITE = Path(__file__).resolve().parents[1] / "tests" / "data" / "us_mentions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--cache-dir", type=Path, required=True, help="where the term index is built or found")
    parser.add_argument("--pcs-file", type=Path, default=None, help="also ICD-10-PCS (default: ICD-10-CM only)")
    parser.add_argument("--top-k", type=int, default=3, help="a code counts among a mention's best k candidates")
    parser.add_argument("--details", action="store_true", help="list every missed and every violated item")
    args = parser.parse_args()

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file), args.cache_dir)
    analyzer = Analyzer.from_catalog(catalog, args.cache_dir)
    cases = load_suite(args.suite)
    started = time.perf_counter()
    result = run_suite(analyzer, cases, args.top_k)
    summary = result.summary() | {"top_k": args.top_k, "ms_per_note": round((time.perf_counter() - started) * 1000 / len(cases), 2)}
    print(json.dumps(summary, indent=2))
    if args.details:
        for r in result.cases:
            for item in r.missed:
                print(f"missed    {r.case.id}: {item.text!r} {item.code}")
            for item, mention in r.violated:
                print(f"violated  {r.case.id}: {item.text!r} {item.code}: {mention}")


if __name__ == "__main__":
    main()
