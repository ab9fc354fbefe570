"""Make a ranked code list billable with the code-set rules (issue 8).

A ranker trained on CodiEsp learns the corpus's habits: ICD-10-PCS 4-character
prefixes (``BW20``), ICD-10-CM codes split since 2018 (``R51``), injury codes
without their 7th character (``T14.8``). A coder cannot bill any of them, so the
suggester replaces each one with a billable code below it:

1. a billable code below it that the ranker also ranked (the best-scored), else
2. one the note's mentions put forward as a candidate (the best-matched), else
3. the first code the rule itself proposes (words shared with the note text, then
   the "unspecified" or initial-encounter code). That one is a guess: it is
   returned in ``guessed`` so the suggester flags it for review. A guess that is
   neither the "unspecified" code nor an encounter character (``G89`` "Pain, not
   elsewhere classified" for a plain "pain": ten codes, none the default) keeps
   only its share of the header's score: the note gives no way to choose.

Candidates that tie (a header's children all put forward at the same match) do
not support one of them over the others.

Codes not in the loaded release with nothing billable below them are dropped.
Duplicates that the replacement creates are merged (best score, all evidence).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from ..codesets import CodeCatalog, CodeSystem, InvalidCode, normalize_code
from ..codesets.rules import check_codes
from .interface import RankedCode

_WORD = re.compile(r"[a-z]{3,}")
REPLACING_RULES = ("unknown_code", "not_billable", "seventh_character")

Key = tuple[str, str]


@dataclass(frozen=True)
class BillableRanking:
    codes: list[RankedCode]  # score order, every code billable in the loaded release
    guessed: frozenset[Key]  # replacements the note gives no support for: to be reviewed
    replaced: dict[Key, Key]  # original (system, code) -> its replacement


def make_billable(
    ranked: Sequence[RankedCode],
    catalog: CodeCatalog,
    note_text: str | None = None,
    candidates: dict[Key, float] | None = None,
) -> BillableRanking:
    """Replace every code that cannot be billed as it is; ``candidates`` maps the note's
    candidate codes to how well they matched (higher is better)."""
    keys = [_key(r.system, r.code) for r in ranked]
    loaded = {s.value for s in catalog.systems}
    support = _Support(
        {k: i for i, k in reversed(list(enumerate(keys)))}, candidates or {},
        {k: r.score for r, k in reversed(list(zip(ranked, keys)))},
    )
    merged: dict[Key, RankedCode] = {}
    guessed: set[Key] = set()
    replaced: dict[Key, Key] = {}
    for rc, key in zip(ranked, keys):
        if key[0] in loaded and not _billable(catalog, key):
            target, supported, share = _replacement(key, catalog, note_text, support)
            if target is None:
                continue
            replaced[key] = target
            if not supported:
                guessed.add(target)
            reason = _reason(key, target, supported, rc.reason)
            rc, key = replace(rc, code=target[1], score=rc.score * share, reason=reason), target
        _merge(merged, key, rc)
    codes = sorted(merged.values(), key=lambda r: -r.score)
    return BillableRanking(codes, frozenset(guessed), replaced)


def candidate_scores(analysis: Any) -> dict[Key, float]:
    """The best match quality of each candidate code of a ``NoteAnalysis``."""
    best: dict[Key, float] = {}
    for mention in analysis.mentions:
        for cand in mention.candidates:
            key, similarity = (cand.system, cand.code), cand.similarity
            old = best.get(key, 0.0)
            best[key] = similarity if similarity > old else old  # max(old, similarity), without the call
    return best


def _key(system: str, code: str) -> Key:
    """The code normalised, or as it is when it is not one (``normalize_code`` caches)."""
    try:
        return system, normalize_code(system, code)
    except (InvalidCode, ValueError):
        return system, code


def _billable(catalog: CodeCatalog, key: Key) -> bool:
    record = catalog.get(*key)
    return record is not None and record.billable


@dataclass
class _Support:
    """What supports a replacement in one note: the ranking (code -> its first rank) and the
    note's candidates (code -> best match)."""

    rank_of: dict[Key, int]
    candidates: dict[Key, float]
    score_of: dict[Key, float]  # the best score of each ranked code

    @cached_property
    def _sorted_codes(self) -> dict[str, list[str]]:
        """The supported codes of each system, sorted: the codes below one are a run of them.
        Built once per note, on the first code to replace."""
        by_system: dict[str, list[str]] = defaultdict(list)
        for system, code in {**self.rank_of, **self.candidates}:
            by_system[system].append(code)
        for codes in by_system.values():
            codes.sort()
        return by_system

    def below(self, key: Key) -> Iterator[Key]:
        """The supported codes strictly below ``key``: same system, code starting with its code."""
        system, prefix = key
        codes = self._sorted_codes.get(system, [])
        for i in range(bisect_left(codes, prefix), len(codes)):
            if not codes[i].startswith(prefix):
                break
            if codes[i] != prefix:
                yield system, codes[i]

    def best(self, options: list[Key]) -> Key | None:
        """The best-ranked option, else the best-matched candidate among them, else None (also when
        the best ties with another)."""
        if ranked := [k for k in options if k in self.rank_of]:
            return _unique_best(ranked, self.score_of)
        if matched := [k for k in options if k in self.candidates]:
            return _unique_best(matched, self.candidates)
        return None


def _unique_best(options: list[Key], value: dict[Key, float]) -> Key | None:
    """The option of highest value, or None when another one ties with it: a tie names no code
    (a header's children all put forward, or ranked, alike)."""
    best = max(value[k] for k in options)
    top = [k for k in options if value[k] == best]
    return top[0] if len(top) == 1 else None


def _replacement(
    key: Key, catalog: CodeCatalog, note_text: str | None, support: _Support
) -> tuple[Key | None, bool, float]:
    """A billable code below ``key`` that the ranking or the note supports; else the rules'
    first proposal (asked only then: the rule ranks every code below by the note's words).
    Also whether the note supports it, and the share of the header's score it keeps."""
    supported = support.best([k for k in support.below(key) if _billable(catalog, k)])
    if supported is not None:
        return supported, True, 1.0
    findings = [f for f in check_codes([key], catalog, note_text, rules=REPLACING_RULES) if f.severity == "error"]
    proposed = [(f.system, code) for f in findings for code in f.suggestions]
    supported = support.best(proposed)
    if supported is not None:
        return supported, True, 1.0
    if not proposed:
        return None, False, 1.0
    return proposed[0], False, _guess_share(key, proposed[0], catalog, findings, note_text)


def _guess_share(header: Key, guess: Key, catalog: CodeCatalog, findings: list[Any], note_text: str | None) -> float:
    """1 for a guess the note gives some ground for: a word of its title the note says and the
    header's title lacks ("index" of S61.210 under S61.21), or a default a coder takes when the note
    says no more (the "unspecified" code, the initial encounter's 7th character, a PCS prefix's first
    code). Else one over the billable codes below the header: the guess is one of them, no likelier
    than the others (G89.0 "Central pain syndrome" for G89 and a plain "pain")."""
    record, parent = catalog.get(*guess), catalog.get(*header)
    if header[0] != "ICD10CM" or any(f.rule != "not_billable" for f in findings):
        return 1.0
    if record is None or parent is None or "unspecified" in record.description.lower():
        return 1.0
    own = _WORD.findall(record.description.lower())
    if set(own) - set(_WORD.findall(parent.description.lower())) & set(_WORD.findall((note_text or "").lower())):
        return 1.0
    system = CodeSystem(header[0])
    below = [c for c in catalog.with_prefix(system, header[1]) if c != header[1] and _billable(catalog, (header[0], c))]
    return 1.0 / max(1, len(below))


def _reason(original: Key, target: Key, supported: bool, reason: str) -> str:
    how = "supported by the note" if supported else "a default: check it"
    note = f"{original[1]} is not billable in the loaded code set; {target[1]} below it ({how})"
    return f"{note}. {reason}" if reason else note


def _merge(merged: dict[Key, RankedCode], key: Key, rc: RankedCode) -> None:
    old = merged.get(key)
    if old is None:
        merged[key] = rc
        return
    best, other = (old, rc) if old.score >= rc.score else (rc, old)
    indexes = tuple(dict.fromkeys(best.mention_indexes + other.mention_indexes))
    merged[key] = replace(best, mention_indexes=indexes)
