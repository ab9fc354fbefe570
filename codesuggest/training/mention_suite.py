"""A mention-precision suite: short notes with the mentions that must and must not be found.

Each line of the JSONL file is a case::

    {"id": "ed-chest-pain", "text": "...",
     "must": [{"text": "DM2", "code": "E11"}, ...],
     "must_not": [{"text": "PCP", "code": "B59"}, {"text": "BS"}, ...]}

An item names a piece of the note (every occurrence counts) and optionally a code prefix.

* A ``must`` item is **found** when a mention overlaps it and, with a code, one of the mention's
  best ``top_k`` candidates starts with that code.
* A ``must_not`` item is **violated** when a mention overlaps it and, with a code, one of its best
  ``top_k`` candidates starts with the code (without one: any mention there violates it).

Mention precision counts the pipeline's mentions: a mention that violates a ``must_not`` item is
wrong, one that finds a ``must`` item is right, the others are not judged. Recall is over the
``must`` items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..pipeline.schema import Mention, NoteAnalysis


class Analyzes(Protocol):
    def analyze(self, text: str) -> NoteAnalysis: ...


@dataclass(frozen=True)
class Item:
    text: str
    code: str = ""


@dataclass(frozen=True)
class MentionCase:
    id: str
    text: str
    must: tuple[Item, ...] = ()
    must_not: tuple[Item, ...] = ()

    def spans(self, item: Item) -> list[tuple[int, int]]:
        spans, at = [], self.text.find(item.text)
        while at >= 0:
            spans.append((at, at + len(item.text)))
            at = self.text.find(item.text, at + 1)
        if not spans:
            raise ValueError(f"case {self.id}: {item.text!r} is not in its text")
        return spans


@dataclass
class MentionCaseResult:
    case: MentionCase
    missed: list[Item] = field(default_factory=list)  # must items not found
    violated: list[tuple[Item, str]] = field(default_factory=list)  # must_not items, with the mention
    right: int = 0  # mentions that find a must item
    wrong: int = 0  # mentions that violate a must_not item
    unjudged: int = 0


@dataclass
class MentionSuiteResult:
    cases: list[MentionCaseResult]

    @property
    def must(self) -> int:
        return sum(len(r.case.must) for r in self.cases)

    @property
    def found(self) -> int:
        return self.must - sum(len(r.missed) for r in self.cases)

    @property
    def must_not(self) -> int:
        return sum(len(r.case.must_not) for r in self.cases)

    @property
    def violations(self) -> int:
        return sum(len(r.violated) for r in self.cases)

    @property
    def recall(self) -> float:
        return self.found / self.must if self.must else 1.0

    @property
    def precision(self) -> float:
        right = sum(r.right for r in self.cases)
        wrong = sum(r.wrong for r in self.cases)
        return right / (right + wrong) if right + wrong else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "cases": len(self.cases),
            "mention_precision": round(self.precision, 4),
            "mention_recall": round(self.recall, 4),
            "must_found": f"{self.found}/{self.must}",
            "must_not_violated": f"{self.violations}/{self.must_not}",
            "mentions_right": sum(r.right for r in self.cases),
            "mentions_wrong": sum(r.wrong for r in self.cases),
            "mentions_unjudged": sum(r.unjudged for r in self.cases),
        }


def load_suite(path: Path | str) -> list[MentionCase]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        case = MentionCase(
            id=row["id"],
            text=row["text"],
            must=tuple(Item(**i) for i in row.get("must", ())),
            must_not=tuple(Item(**i) for i in row.get("must_not", ())),
        )
        for item in (*case.must, *case.must_not):
            case.spans(item)  # every item must point into the text
        cases.append(case)
    return cases


def _hits(case: MentionCase, item: Item, mention: Mention, top_k: int) -> bool:
    if not any(start < mention.end and mention.start < end for start, end in case.spans(item)):
        return False
    return not item.code or any(c.code.startswith(item.code) for c in mention.candidates[:top_k])


def score_case(case: MentionCase, analysis: NoteAnalysis, top_k: int = 3) -> MentionCaseResult:
    result = MentionCaseResult(case)
    mentions = analysis.mentions
    result.missed = [item for item in case.must if not any(_hits(case, item, m, top_k) for m in mentions)]
    for item in case.must_not:
        bad = next((m for m in mentions if _hits(case, item, m, top_k)), None)
        if bad is not None:
            result.violated.append((item, f"{bad.text!r} -> {[c.code for c in bad.candidates[:top_k]]}"))
    for m in mentions:
        if any(_hits(case, item, m, top_k) for item in case.must_not):
            result.wrong += 1
        elif any(_hits(case, item, m, top_k) for item in case.must):
            result.right += 1
        else:
            result.unjudged += 1
    return result


def run_suite(analyzer: Analyzes, cases: Iterable[MentionCase], top_k: int = 3) -> MentionSuiteResult:
    return MentionSuiteResult([score_case(case, analyzer.analyze(case.text), top_k) for case in cases])
