"""The guideline case suite scored through an older codesuggest, for the "before" rows of BENCHMARKS.

It needs nothing the older code lacks: it reads the case file itself and calls ``suggest(text,
setting, top_k)`` (``emergency`` is read as ``outpatient``, a setting older code did not know), then
scores the top 5 ICD-10-CM codes as ``codesuggest.training.cases`` does. Run it with the older
package first on the path:

    git worktree add /tmp/base 882c240
    PYTHONPATH=/tmp/base CODESUGGEST_DATA_DIR=/tmp/base-data .venv/bin/python \\
        benchmarks/guideline_cases_baseline.py [--model var/models/VERSION --pcs-file $PCS]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codesuggest.config import Settings
from codesuggest.models.default import build_default_ranker
from codesuggest.models.runtime import open_registry, shared_resources
from codesuggest.models.suggester import ModelSuggester

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "guideline_cases.jsonl"
CONFIDENT = 0.5


def score(suggester, cases: list[dict]) -> str:
    must = found = wrong = notes_wrong = confident = 0
    for case in cases:
        setting = "outpatient" if case["setting"] == "emergency" else case["setting"]
        cm = [s for s in suggester.suggest(case["text"], setting=setting, top_k=30) if s.system == "ICD10CM"]
        top = [s.code for s in cm[:5]]
        must += len(case["must"])
        found += sum(code in top for code in case["must"])
        in_top = sum(code in top for code in case["must_not"])
        wrong, notes_wrong = wrong + in_top, notes_wrong + bool(in_top)
        confident += sum(s.code in case["must_not"] and s.confidence >= CONFIDENT for s in cm)
    return f"recall@5 {found / must:.3f}, must-not in top 5 {wrong} ({notes_wrong} notes), confident errors {confident}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a trained model directory")
    parser.add_argument("--pcs-file", type=Path)
    parser.add_argument("--cases", type=Path, default=CASES)
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = Settings()
    catalog, analyzer = shared_resources(settings.code_set_sources(), settings.cache_dir)
    print("default:", score(ModelSuggester(analyzer, build_default_ranker(catalog), "default", catalog=catalog), cases))
    if args.model:
        trained = open_registry(Settings(pcs_file=args.pcs_file)).load_path(args.model)
        print(f"{args.model.name}:", score(trained, cases))


if __name__ == "__main__":
    main()
