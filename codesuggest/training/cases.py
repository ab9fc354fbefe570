"""Case suites: short notes, each with the codes a coder must and must not assign.

A case file is JSON lines, one case a line::

    {"id": "htn-ckd-1", "setting": "outpatient", "guideline": "I.C.9.a.2", "text": "...",
     "must": ["I12.9", "N18.31"], "must_not": ["I10", "N18.9"], "comment": "..."}

:func:`evaluate_cases` codes every case with a model (``CodeSuggester``) and reports what a
certified coder would check: the share of must-codes in the top ``k`` ICD-10-CM suggestions
(recall@k), the must-not codes that reach the top ``k``, and the must-not codes suggested at a
confidence of 0.5 or more anywhere in the list (confident errors). The top ``k`` is taken among
ICD-10-CM codes: the cases are about diagnoses, and a procedure code must not push one out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .datasets import DatasetError

CM = "ICD10CM"
CONFIDENT = 0.5


@dataclass(frozen=True)
class Case:
    id: str
    setting: str | None
    text: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    guideline: str = ""


@dataclass
class CaseResult:
    case: Case
    top: list[str]  # the top-k ICD-10-CM codes
    found: list[str]  # must-codes in the top k
    wrong: list[str]  # must-not codes in the top k
    confident_errors: list[str]  # must-not codes suggested with confidence >= 0.5


@dataclass
class CaseReport:
    results: list[CaseResult] = field(default_factory=list)

    @property
    def recall(self) -> float:
        must = sum(len(r.case.must) for r in self.results)
        return sum(len(r.found) for r in self.results) / must if must else 0.0

    @property
    def wrong_in_top(self) -> int:
        return sum(len(r.wrong) for r in self.results)

    @property
    def confident_errors(self) -> int:
        return sum(len(r.confident_errors) for r in self.results)

    @property
    def cases_all_found(self) -> int:
        return sum(len(r.found) == len(r.case.must) for r in self.results)

    def summary(self) -> dict[str, Any]:
        return {
            "cases": len(self.results), "recall_at_k": round(self.recall, 3),
            "cases_all_found": self.cases_all_found, "must_not_in_top_k": self.wrong_in_top,
            "notes_with_must_not_in_top_k": sum(bool(r.wrong) for r in self.results),
            "confident_errors": self.confident_errors,
        }


def load_cases(path: str | Path) -> list[Case]:
    """The cases of a JSON-lines file; a malformed line raises :class:`DatasetError` naming it."""
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(
                id=str(row["id"]), setting=row.get("setting"), text=str(row["text"]),
                must=tuple(row.get("must", ())), must_not=tuple(row.get("must_not", ())),
                guideline=str(row.get("guideline", "")),
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: not a case ({type(exc).__name__}: {exc})") from exc
    return cases


def evaluate_cases(suggester: Any, cases: Sequence[Case], k: int = 5, **options: Any) -> CaseReport:
    """Code each case (``options`` go to ``suggest``, e.g. ``output``) and score it."""
    report = CaseReport()
    for case in cases:
        suggestions = suggester.suggest(case.text, setting=case.setting, top_k=30, **options)
        cm = [s for s in suggestions if s.system == CM]
        top = [s.code for s in cm[:k]]
        report.results.append(CaseResult(
            case=case, top=top,
            found=[c for c in case.must if c in top],
            wrong=[c for c in case.must_not if c in top],
            confident_errors=[s.code for s in cm if s.code in case.must_not and s.confidence >= CONFIDENT],
        ))
    return report
