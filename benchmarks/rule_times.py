"""Time of each coding rule per note: the trained model's `code_notes` over the CodiEsp dev notes, every
rule of ``guidelines.table.RULES`` timed apart (after a warm-up chunk).

    CODESUGGEST_DATA_DIR=var CODESUGGEST_PCS_FILE=$PCS .venv/bin/python benchmarks/rule_times.py --model VERSION

Side by side with an older commit: run it again with ``PYTHONPATH`` on a worktree of that commit.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from codesuggest.batch import CHUNK, ModelSpec, code_notes
from codesuggest.config import Settings
from codesuggest.guidelines import table
from codesuggest.training.datasets import load_codiesp


def timed_rules(spent: Counter) -> tuple:
    """``table.RULES`` with each rule's time added to ``spent`` under its name."""
    def timed(rule):
        def apply(note, _apply=rule.apply, _name=rule.name):
            start = time.perf_counter()
            _apply(note)
            spent[_name] += time.perf_counter() - start
        return table.Rule(rule.name, rule.section, rule.summary, apply)
    return tuple(timed(rule) for rule in table.RULES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model directory or version")
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp/dev"))
    parser.add_argument("--top", type=int, default=12, help="rules listed, slowest first")
    args = parser.parse_args()

    suggester = ModelSpec.resolve(args.model, Settings()).load()
    notes = [(str(i), note.text) for i, note in enumerate(load_codiesp(args.codiesp))]
    spent: Counter = Counter()
    table.RULES = timed_rules(spent)
    code_notes(suggester, notes[:CHUNK], 30)  # warm-up
    spent.clear()
    code_notes(suggester, notes, 30)
    per_note = {name: seconds * 1000 / len(notes) for name, seconds in spent.items()}
    print(f"all rules: {sum(per_note.values()):.2f} ms/note over {len(notes)} notes")
    for name, ms in sorted(per_note.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {name:35s} {ms:.3f}")


if __name__ == "__main__":
    main()
