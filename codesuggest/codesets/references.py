"""Code references inside ICD-10-CM notes, parsed into code ranges.

The tabular list's notes name codes in a handful of shapes::

    type 1 diabetes mellitus (E10.-)             every code of E10
    ... (H35.0-)                                  H35.0 and every code below it
    ... (P70.2)                                   P70.2 (and any code below it)
    ... (N18.1-N18.6)                             N18.1 ... N18.6, with their children
    ... (I60-I69)                                 the categories I60 ... I69
    ... (E08-E13 with .42)                        E08.42, E09.42, ... E13.42
    ... (T36-T65 with fifth or sixth character 1-4)
    ... (S02.- with 7th character B)

A range runs in *tabular order* (C4A lies between C43 and C44, D3A between
D36 and D37), taken from the ``simple-icd-10-cm`` package. A "with ..."
qualifier we can read narrows the range; one we cannot read ("with open
fracture 7th character") marks the reference ``exact=False`` so that a rule
can decide to ignore it rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .icd10cm import tabular_order

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
# a code, an optional stray dot ("J96.", "D29.2.-"), then either a range to a
# second code ("N18.1-N18.6", "S12.0--S12.6.-") or a trailing dash ("E10.-")
_REF_RE = re.compile(
    rf"(?P<a>{_CODE})\.?(?:-?\s*-\s*(?P<b>{_CODE})\.?-?|(?P<dash>-))?"
)
_GROUP_RE = re.compile(r"\(([^()]*)\)(\s*,?\s*with\b[^,;()\n]*)?")
_POSITION_WORDS = {
    "fifth": 4, "5th": 4, "sixth": 5, "six": 5, "6th": 5, "seventh": 6, "7th": 6,
}


def compact(code: str) -> str:
    return code.replace(".", "")


@dataclass(frozen=True)
class CodeRef:
    """One reference: the codes from ``start`` to ``end`` (inclusive, with their children).

    ``positions`` ((index into the dotless code, allowed characters), ...)
    are alternatives ("fifth or sixth character 5"); ``suffixes`` (low, high)
    bound the characters after the category (".51-.52"); ``endings`` are
    accepted final characters. ``exact`` is False when the note carried a
    qualifier this parser could not read: the range is then wider than meant.
    """

    start: str
    end: str
    text: str
    positions: tuple[tuple[int, frozenset[str]], ...] = ()
    substrings: tuple[tuple[int, str], ...] = ()
    suffixes: tuple[tuple[str, str], ...] = ()
    endings: tuple[str, ...] = ()
    exact: bool = True

    def covers(self, code: str, *, strict: bool = True) -> bool:
        """Whether ``code`` (display form) lies in this reference.

        ``strict=False`` ignores the qualifier (for "is anything like it coded?").
        """
        if not _in_range(self.start, self.end, code):
            return False
        if not strict:
            return True
        flat = compact(code)
        if self.positions and not any(len(flat) > i and flat[i] in allowed for i, allowed in self.positions):
            return False
        if self.substrings and not any(flat[i:i + len(s)] == s for i, s in self.substrings):
            return False
        if self.suffixes:
            tail = flat[3:]
            if not any(lo <= tail[: len(lo)] and tail[: len(hi)] <= hi and len(tail) >= len(lo) for lo, hi in self.suffixes):
                return False
        if self.endings:
            # "final character 6" of T36.0X6A is the one before the 7th character
            trimmed = flat[:-1] if len(flat) == 7 else flat
            if not any(flat.endswith(e) or trimmed.endswith(e) for e in self.endings):
                return False
        return True


def parse_references(note: str) -> tuple[CodeRef, ...]:
    """Every code reference in the parentheses of ``note`` (a note line from the tabular list)."""
    return _parse(note)


def references_text(refs: tuple[CodeRef, ...]) -> str:
    return ", ".join(dict.fromkeys(r.text for r in refs))


@lru_cache(maxsize=16384)
def _parse(note: str) -> tuple[CodeRef, ...]:
    refs: list[CodeRef] = []
    for group in _GROUP_RE.finditer(note):
        body, after = group.group(1), group.group(2) or ""
        head, sep, inner_qualifier = body.partition(" with ")
        if not sep:
            head, sep, inner_qualifier = body.partition(", with ")
        qualifier = (inner_qualifier if sep else after.strip(" ,").removeprefix("with")).strip()
        found = list(_REF_RE.finditer(head))
        if not found:
            continue
        narrowing, exact = _parse_qualifier(qualifier) if qualifier else ({}, True)
        for m in found:
            a, b = m.group("a"), m.group("b")
            text = m.group(0).strip()
            if qualifier:
                text = f"{text} with {qualifier}"
            refs.append(CodeRef(start=a, end=b or a, text=text, exact=exact, **narrowing))
    return tuple(refs)


def _chars(spec: str) -> frozenset[str] | None:
    """``1-4``, ``B or C``, ``1-4 or 6``, ``.6``, ``5`` -> the set of characters."""
    out: set[str] = set()
    for part in re.split(r"\s*(?:,|\bor\b)\s*", spec.strip(" .")):
        part = part.strip().lstrip(".")
        if re.fullmatch(r"[0-9A-Z]", part):
            out.add(part)
        elif re.fullmatch(r"[0-9]-[0-9]", part):
            out.update(str(d) for d in range(int(part[0]), int(part[2]) + 1))
        else:
            return None
    return frozenset(out) or None


def _parse_qualifier(qualifier: str) -> tuple[dict, bool]:
    q = qualifier.replace("-character", " character").strip()
    # "with .17, .27, .97", "with .44", "with .51-.52", "with .62-", "with .15. .25, .95"
    if q.startswith("."):
        suffixes = []
        for part in re.split(r"[,\s]+", q.replace(". .", ", .")):
            part = part.strip().rstrip("-").rstrip(".")
            m = re.fullmatch(r"\.([0-9A-Z]+)(?:-\.([0-9A-Z]+))?", part)
            if not m:
                if part:
                    return {}, False
                continue
            suffixes.append((m.group(1), m.group(2) or m.group(1)))
        return ({"suffixes": tuple(suffixes)}, True) if suffixes else ({}, False)
    # "with final characters .00 or .01", "with final characters -23", "with final character 6"
    m = re.fullmatch(r"final characters? (.+)", q)
    if m:
        endings = [p.strip(" .-") for p in re.split(r"\s*(?:,|\bor\b)\s*", m.group(1))]
        if all(re.fullmatch(r"[0-9A-Z]{1,3}", e) for e in endings):
            return {"endings": tuple(endings)}, True
        return {}, False
    # "with fifth to sixth characters 51"
    m = re.fullmatch(r"fifth to sixth characters ([0-9A-Z]{2})", q)
    if m:
        return {"substrings": ((4, m.group(1)),)}, True
    # "with fifth or sixth character 1-4 or 6", "with 7th character B or C", "with 5th character .6"
    m = re.fullmatch(r"((?:\w+)(?: or \w+)?) characters? (.+)", q)
    if m:
        words = m.group(1).split(" or ")
        allowed = _chars(m.group(2))
        if allowed and all(w in _POSITION_WORDS for w in words):
            return {"positions": tuple((_POSITION_WORDS[w], allowed) for w in words)}, True
    return {}, False


# -- tabular order -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _tabular() -> tuple[dict[str, int], list[str]]:
    order = tabular_order()
    return {c: i for i, c in enumerate(order)}, order


def _position(code: str) -> int | None:
    index, _ = _tabular()
    # a code the package does not know (a CDC-file code, a typo in a note):
    # fall back to its nearest ancestor that it knows
    probe = code
    while probe:
        if probe in index:
            return index[probe]
        probe = probe[:-1].rstrip(".")
        if len(probe) < 3:
            return None
    return None


@lru_cache(maxsize=16384)
def _last_descendant(code: str) -> int | None:
    index, order = _tabular()
    pos = _position(code)
    if pos is None:
        return None
    stem = compact(order[pos])
    end = pos
    while end + 1 < len(order) and compact(order[end + 1]).startswith(stem):
        end += 1
    return end


def _in_range(start: str, end: str, code: str) -> bool:
    flat = compact(code)
    if start == end:
        return flat.startswith(compact(start))
    lo, hi, pos = _position(start), _last_descendant(end), _position(code)
    if lo is None or hi is None or pos is None:
        # codes the package does not know: compare the characters
        return compact(start) <= flat and flat[: len(compact(end))] <= compact(end)
    return lo <= pos <= hi


def codes_in(ref: CodeRef, limit: int = 1000) -> list[str] | None:
    """The package's codes a reference covers (tabular order), or ``None`` when more than ``limit``."""
    index, order = _tabular()
    lo, hi = _position(ref.start), _last_descendant(ref.end)
    if lo is None or hi is None or hi < lo:
        return []
    if hi - lo + 1 > limit * 20:
        return None
    out = [c for c in order[lo : hi + 1] if ref.covers(c)]
    return None if len(out) > limit else out


__all__ = ["CodeRef", "codes_in", "compact", "parse_references", "references_text"]
