"""The guideline case suite (tests/data/guideline_cases.jsonl) scored with and without the coding layer.

    .venv/bin/python benchmarks/guideline_cases.py --data-dir var [--model VERSION] [--cases FILE]

For the embedded default model (built from the code sets) and, with ``--model``, a trained model
of the data directory's registry: recall@5 of the must-codes among the ICD-10-CM suggestions,
the must-not codes in the top 5 (and the notes that have one), and the confident errors (must-not
codes suggested at confidence >= 0.5 anywhere), for Output.BILLABLE (before the guidelines) and
Output.CODED (after). ``--failures`` lists the cases that miss a must-code or show a must-not code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from codesuggest.config import Settings
from codesuggest.models.default import build_default_ranker
from codesuggest.models.interface import Output
from codesuggest.models.runtime import open_registry, shared_resources
from codesuggest.models.suggester import ModelSuggester
from codesuggest.training.cases import evaluate_cases, load_cases

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "guideline_cases.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--model", help="a trained model version in the data directory's registry")
    parser.add_argument("--pcs-file", type=Path, help="the ICD-10-PCS file the trained model was built with")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--failures", action="store_true", help="list the cases that fail, after the guidelines")
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir, pcs_file=args.pcs_file)
    cases = load_cases(args.cases)
    catalog, analyzer = shared_resources(settings.code_set_sources(), settings.cache_dir)
    models = {"default": ModelSuggester(analyzer, build_default_ranker(catalog), "default", catalog=catalog)}
    if args.model:
        models[args.model] = open_registry(settings).load(args.model)
    print(f"{len(cases)} cases from {args.cases.name}")
    print("| model | output | recall@5 | cases all found | must-not in top 5 | notes with one | confident errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, suggester in models.items():
        for output in (Output.BILLABLE, Output.CODED):
            report = evaluate_cases(suggester, cases, output=output)
            s = report.summary()
            print(f"| {name} | {output.value} | {s['recall_at_k']:.3f} | {s['cases_all_found']} | "
                  f"{s['must_not_in_top_k']} | {s['notes_with_must_not_in_top_k']} | {s['confident_errors']} |")
            if args.failures and output is Output.CODED:
                for r in report.results:
                    missed = [c for c in r.case.must if c not in r.found]
                    if missed or r.wrong:
                        print(f"    {r.case.id}: missed {missed} wrong {r.wrong} top {r.top}")


if __name__ == "__main__":
    main()
