"""How many findings each code-set rule raises on the CodiEsp gold code sets of a split.

Each case's gold D codes (ICD-10-CM) and P codes (ICD-10-PCS) are one code
set; the rules of ``codesuggest.codesets.rules`` run on it twice, without and
with the case's English text (the text only adds companion-code findings).
CodiEsp follows the 2018 code sets while the catalogue is the 2026 release, so
codes not in 2026 are reported apart: invalid strings, and well-formed codes
that 2026 does not have (retired or renamed since 2018).

    .venv/bin/python benchmarks/codeset_checks.py --split ../shared/data/codiesp/dev \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter, defaultdict
from pathlib import Path

from codesuggest.codesets import CodeCatalog, CodeSetSources, InvalidCode, normalize_code
from codesuggest.codesets.rules import RULES, check_codes

SYSTEMS = {"D": "ICD10CM", "P": "ICD10PCS"}


def read_gold(split: Path) -> dict[str, list[tuple[str, str]]]:
    """case id -> [(system, code)], D codes then P codes, in file order."""
    cases: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for letter, system in SYSTEMS.items():
        path = split / f"{split.name}{letter}.tsv"
        with path.open(encoding="utf-8") as fh:
            for row in csv.reader(fh, delimiter="\t"):
                if len(row) >= 2 and row[1].strip():
                    cases[row[0]].append((system, row[1].strip()))
    return dict(cases)


def unknown_kind(system: str, code: str, severity: str) -> str:
    if severity == "warning":
        return "system not loaded"
    try:
        normalize_code(system, code)
    except (InvalidCode, ValueError):
        return "not a code"
    return "well-formed, not in the 2026 release"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, required=True, help="e.g. ../shared/data/codiesp/dev")
    parser.add_argument("--pcs-file", type=Path, help="CMS ICD-10-PCS codes file (without it P codes are not checked)")
    parser.add_argument("--examples", type=int, default=3, help="example codes per rule")
    args = parser.parse_args()

    catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
    cases = read_gold(args.split)
    text_dir = args.split / "text_files_en"
    n_codes = Counter(system for codes in cases.values() for system, _ in codes)

    findings_by = {"without text": Counter(), "with text": Counter()}
    cases_by: dict[str, Counter] = {"without text": Counter(), "with text": Counter()}
    examples: dict[tuple[str, str], Counter] = defaultdict(Counter)
    unknown = Counter()
    unknown_examples: dict[str, Counter] = defaultdict(Counter)
    start = time.perf_counter()
    for case_id, codes in cases.items():
        text_path = text_dir / f"{case_id}.txt"
        note_text = text_path.read_text(encoding="utf-8") if text_path.is_file() else None
        for mode, text in (("without text", None), ("with text", note_text)):
            findings = check_codes(codes, catalog, note_text=text)
            seen_rules = set()
            for f in findings:
                key = (f.rule, f.system)
                findings_by[mode][key] += 1
                seen_rules.add(key)
                if mode == "without text":
                    examples[key][" + ".join(f.codes)] += 1
                    if f.rule == "unknown_code":
                        kind = unknown_kind(f.system, f.codes[0], f.severity)
                        unknown[(f.system, kind)] += 1
                        unknown_examples[(f.system, kind)][f.codes[0]] += 1
            for key in seen_rules:
                cases_by[mode][key] += 1
    elapsed = time.perf_counter() - start

    print(f"{len(cases)} cases, {n_codes['ICD10CM']} ICD-10-CM and {n_codes['ICD10PCS']} ICD-10-PCS gold codes; "
          f"catalogue: {', '.join(f'{k} {v}' for k, v in catalog.versions.items())}; "
          f"{2 * len(cases) / elapsed:.0f} code sets/s")
    print()
    print("| rule | system | findings | cases with one | findings with text | examples (without text) |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for rule in RULES:
        for system in SYSTEMS.values():
            key = (rule, system)
            if not (findings_by["without text"][key] or findings_by["with text"][key]):
                continue
            top = ", ".join(f"{c} ({n})" for c, n in examples[key].most_common(args.examples))
            print(f"| {rule} | {system} | {findings_by['without text'][key]} | {cases_by['without text'][key]} "
                  f"| {findings_by['with text'][key]} | {top} |")
    print()
    print("Codes not in the loaded release (inside unknown_code above):")
    print()
    print("| system | kind | codes | examples |")
    print("| --- | --- | ---: | --- |")
    for (system, kind), count in sorted(unknown.items()):
        top = ", ".join(f"{c} ({n})" for c, n in unknown_examples[(system, kind)].most_common(6))
        print(f"| {system} | {kind} | {count} | {top} |")


if __name__ == "__main__":
    main()
