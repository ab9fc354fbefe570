"""Which codes of a new release take the place of the codes it deletes.

For each billable code of release A that release B no longer has, in this order (the first that
finds anything decides):

``conversion table`` (confidence 1.0)
    the CMS/CDC conversion table a user supplies (:func:`read_conversion_table`) names the codes of B
    that took over the deleted code.
``expanded`` (0.9 for the first, 0.5 for the others)
    B has codes below the deleted one (``E78.01`` -> ``E78.010``, ``E78.011``): the code became a
    header; a code with placeholders keeps its 7th character (``T78.07XA`` -> ``T78.079A``). The child with the old title comes first, else an ``unspecified`` child, else the child
    whose title is closest to the old one: what a coder without more detail picks.
``same title`` (0.95 for a code new in B, 0.8 for one A had)
    a code of B has the deleted code's title (a code moved).
``new parent`` (0.85)
    B bills a code above the deleted one (its subdivisions were collapsed).
``title similarity`` (0.7 x the similarity)
    the B code of the same ICD-10-CM category / ICD-10-PCS body part (or new in the same chapter or
    section) whose title shares the most words with the old one, at least ``min_similarity`` of them
    (Jaccard over words).

Nothing else is guessed: a deleted code with none of these stays unmapped, and is listed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import weakref
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .diff import diff_system, fold_title
from .files import CodeFileError, _read_text
from .records import CodeSystem, InvalidCode, normalize_code
from .releases import Release, group_of

METHODS = ("conversion table", "expanded", "same title", "new parent", "title similarity")
UNMAPPED = "unmapped"
_WORDS_RE = re.compile(r"[a-z0-9]+")
_STOP = frozenset("of the and or with without to in on for by a an due nos not elsewhere classified".split())


@dataclass(frozen=True)
class Successor:
    code: str
    title: str
    method: str
    confidence: float


@dataclass
class RetiredCode:
    system: str
    code: str
    title: str
    successors: list[Successor] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.successors[0].method if self.successors else UNMAPPED

    @property
    def primary(self) -> Successor | None:
        """The successor a single label maps to (a model's, a stored decision's)."""
        return self.successors[0] if self.successors else None


@dataclass
class SuccessorMap:
    """The retired codes of one update, each with its successors (possibly none)."""

    from_label: str
    to_label: str
    retired: dict[tuple[str, str], RetiredCode] = field(default_factory=dict)
    systems: list[str] = field(default_factory=list)  # the systems compared (some may delete nothing)
    left_out: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> chapters/sections in one release only

    def get(self, system: CodeSystem | str, code: str) -> RetiredCode | None:
        return self.retired.get((CodeSystem.parse(system).value if not isinstance(system, CodeSystem) else system.value, code))

    def primary(self, system: CodeSystem | str, code: str) -> str | None:
        found = self.get(system, code)
        return found.primary.code if found is not None and found.primary else None

    def coverage(self) -> dict[str, dict]:
        """Per system: deleted codes, how many have a successor, and by which method."""
        out: dict[str, dict] = {
            s: {"deleted": 0, "mapped": 0, "by_method": dict.fromkeys((*METHODS, UNMAPPED), 0)} for s in self.systems
        }
        for (system, _), item in sorted(self.retired.items()):
            row = out.setdefault(system, {"deleted": 0, "mapped": 0, "by_method": dict.fromkeys((*METHODS, UNMAPPED), 0)})
            row["deleted"] += 1
            row["mapped"] += item.method != UNMAPPED
            row["by_method"][item.method] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "from": self.from_label, "to": self.to_label, "systems": self.systems, "coverage": self.coverage(),
            "left_out": self.left_out,
            "retired": [
                {"system": r.system, "code": r.code, "title": r.title, "method": r.method,
                 "successors": [asdict(s) for s in r.successors]}
                for r in self.retired.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SuccessorMap":
        result = cls(data.get("from", ""), data.get("to", ""), systems=list(data.get("systems", [])),
                     left_out=dict(data.get("left_out", {})))
        for row in data.get("retired", []):
            item = RetiredCode(row["system"], row["code"], row.get("title", ""), [Successor(**s) for s in row.get("successors", [])])
            result.retired[(item.system, item.code)] = item
        return result

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self, limit: int = 50) -> str:
        lines = [f"from: {self.from_label}", f"to:   {self.to_label}"]
        for system, row in self.coverage().items():
            skipped = self.left_out.get(system)
            note = f" (left out, in one release only: {', '.join(skipped)})" if skipped else ""
            if not row["deleted"]:
                lines.append(f"{system}: no code deleted{note}")
                continue
            share = row["mapped"] / row["deleted"]
            methods = ", ".join(f"{m} {n}" for m, n in row["by_method"].items() if n)
            lines.append(f"{system}: {row['mapped']} of {row['deleted']} deleted codes mapped ({share:.0%}): {methods}{note}")
        shown = list(self.retired.values())[:limit] if limit else []
        for item in shown:
            targets = ", ".join(f"{s.code} ({s.confidence:.2f})" for s in item.successors[:6]) or "-"
            more = f" +{len(item.successors) - 6}" if len(item.successors) > 6 else ""
            lines.append(f"  {item.code:<9} {item.method:<17} -> {targets}{more}   [{item.title}]")
        if limit and len(self.retired) > limit:
            lines.append(f"  ... {len(self.retired) - limit} more (--limit 0 lists none, --json all)")
        return "\n".join(lines)


# -- building the map ---------------------------------------------------------------------------


def map_retired(
    old: Release,
    new: Release,
    conversion: dict[tuple[str, str], list[str]] | None = None,
    min_similarity: float = 0.5,
) -> SuccessorMap:
    """The successors of every code of ``old`` that ``new`` deletes, in every system both hold
    (``conversion``: previous (system, code) -> current codes, from :func:`read_conversion_table`)."""
    result = SuccessorMap(old.label, new.label)
    for system in CodeSystem:
        a, b = old.of(system), new.of(system)
        if not (a and b):
            continue
        result.systems.append(system.value)
        changes = diff_system(system, a, b)
        if changes.left_out:
            result.left_out[system.value] = changes.left_out
        finder = _Finder(system, b, set(changes.added), conversion or {}, min_similarity)
        for code, title in sorted(changes.deleted.items()):
            result.retired[(system.value, code)] = RetiredCode(system.value, code, title, finder.successors(code, title))
    return result


class _Finder:
    def __init__(self, system: CodeSystem, new: dict[str, str], added: set[str], conversion, min_similarity: float):
        self.system, self.new, self.added = system, new, added
        self.conversion = conversion
        self.min_similarity = min_similarity
        self.sorted_codes = sorted(new)
        self.by_title: dict[str, list[str]] = defaultdict(list)
        self.by_block: dict[str, list[str]] = defaultdict(list)
        self.added_by_group: dict[str, list[str]] = defaultdict(list)
        for code, title in new.items():
            self.by_title[fold_title(title)].append(code)
            self.by_block[self._block(code)].append(code)
        for code in added:
            self.added_by_group[group_of(system, code)].append(code)

    def _block(self, code: str) -> str:
        return code[:3] if self.system is CodeSystem.ICD10CM else code[:4]

    def successors(self, code: str, title: str) -> list[Successor]:
        """Empty ``title``: the steps that compare titles are skipped."""
        steps = (self._converted, self._expanded, self._same_title, self._new_parent, self._similar)
        if not title.strip():
            steps = (self._converted, self._expanded, self._new_parent)
        for step in steps:
            found = step(code, title)
            if found:
                return found
        return []

    def _make(self, code: str, method: str, confidence: float) -> Successor:
        return Successor(code, self.new[code], method, round(confidence, 3))

    def _converted(self, code: str, title: str) -> list[Successor]:
        targets = [c for c in self.conversion.get((self.system.value, code), []) if c in self.new]
        return [self._make(c, "conversion table", 1.0) for c in dict.fromkeys(targets)]

    def _expanded(self, code: str, title: str) -> list[Successor]:
        if self.system is not CodeSystem.ICD10CM:
            return []
        children = self._children(code)
        folded = fold_title(title)
        ranked = sorted(children, key=lambda c: (
            fold_title(self.new[c]) != folded, not _is_default(self.new[c]), -_similarity(title, self.new[c]), c))
        if not ranked:
            return []
        first = ranked[0]
        sure = fold_title(self.new[first]) == folded or _is_default(self.new[first])
        return [self._make(c, "expanded", (0.9 if sure else 0.7) if c == first else 0.5) for c in ranked]

    def _children(self, code: str) -> list[str]:
        """Codes of B below ``code``; for a code with placeholders, B's codes that fill them in with
        the same 7th character (``T40.7X1A`` -> ``T40.711A``, ``T40.721A``)."""
        compact = code.replace(".", "")
        pattern = None
        if len(compact) == 7 and "X" in compact[3:6]:
            pattern = re.compile("".join("[0-9A-Z]" if i in (3, 4, 5) and ch == "X" else ch for i, ch in enumerate(compact)))
            compact = compact[: compact.index("X", 3)]
        prefix = _dotted(compact)
        children = []
        for other in self.sorted_codes[_bisect(self.sorted_codes, prefix):]:
            if not other.startswith(prefix):
                break
            if other != code and (pattern is None or pattern.fullmatch(other.replace(".", ""))):
                children.append(other)
        return children

    def _same_title(self, code: str, title: str) -> list[Successor]:
        same = sorted(self.by_title.get(fold_title(title), []), key=lambda c: (c not in self.added, c))
        return [self._make(c, "same title", 0.95 if c in self.added else 0.8) for c in same]

    def _new_parent(self, code: str, title: str) -> list[Successor]:
        if self.system is not CodeSystem.ICD10CM:
            return []
        compact = code.replace(".", "")
        for length in range(len(compact) - 1, 2, -1):
            parent = _dotted(compact[:length])
            if parent in self.new:
                return [self._make(parent, "new parent", 0.85)]
        return []

    def _similar(self, code: str, title: str) -> list[Successor]:
        pool = set(self.by_block.get(self._block(code), [])) | set(self.added_by_group.get(group_of(self.system, code), []))
        scored = sorted(((_similarity(title, self.new[c]), c) for c in pool), key=lambda x: (-x[0], x[1]))
        if not scored or scored[0][0] < self.min_similarity:
            return []
        best = scored[0][0]
        return [self._make(c, "title similarity", 0.7 * s) for s, c in scored if s >= best - 1e-9][:5]


def _bisect(keys: list[str], prefix: str) -> int:
    import bisect

    return bisect.bisect_left(keys, prefix)


def _dotted(compact: str) -> str:
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


_DEFAULTS = ("unspecified", "not having achieved remission")


def _is_default(title: str) -> bool:
    """A title a coder picks without more detail (``..., unspecified``; a neoplasm's ``not having
    achieved remission``)."""
    lower = title.lower()
    return any(d in lower for d in _DEFAULTS)


def _words(title: str) -> frozenset[str]:
    return frozenset(w for w in _WORDS_RE.findall(fold_title(title)) if w not in _STOP)


def _similarity(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


# -- the CMS/CDC conversion table ---------------------------------------------------------------


class ConversionTableError(ValueError):
    """A conversion table that cannot be read (no header, no row)."""


def read_conversion_table(path: str | Path, system: CodeSystem | None = None) -> dict[tuple[str, str], list[str]]:
    """Previous code -> current codes, from the conversion table CMS/CDC publish with each release.

    Its rows follow a header naming ``Current Code`` ... ``Previous Code(s)``: the current code, the
    date it took effect (a fiscal year ``2026`` or ``10/01/2025``), then the previous codes it
    replaces (``E78.01``; several with commas, semicolons or ``and``; ``None`` for a new concept).
    Columns are separated by tabs or runs of spaces; a ``.csv`` file by commas. Ranges
    (``H02.101-H02.106``) are not expanded (they name codes other rows name one by one).
    """
    path = Path(path)
    try:
        text = _read_text(path)
    except CodeFileError as exc:
        raise ConversionTableError(str(exc)) from None
    rows = _table_rows(text, path.suffix.lower() == ".csv")
    if rows is None:
        raise ConversionTableError(f"{path}: no header with 'Current Code' and 'Previous Code' (not a conversion table)")
    table: dict[tuple[str, str], list[str]] = defaultdict(list)
    for current_raw, previous_raw in rows:
        sys_ = system or _system_of_code(current_raw)
        current = _code(sys_, current_raw)
        if current is None:
            continue
        for raw in re.split(r"[,;]|\band\b", previous_raw):
            previous = _code(sys_, raw.strip())
            if previous is not None and current not in table[(sys_.value, previous)]:
                table[(sys_.value, previous)].append(current)
    if not table:
        raise ConversionTableError(f"{path}: no row with a current and a previous code")
    return dict(table)


def _table_rows(text: str, is_csv: bool) -> list[tuple[str, str]] | None:
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if re.search(r"current\s+code", line, re.I) and re.search(r"previous", line, re.I)), None)
    if header is None:
        return None
    rows = []
    body = lines[header + 1 :]
    split_rows = csv.reader(io.StringIO("\n".join(body))) if is_csv else (re.split(r"\t|\s{2,}", line.strip(), maxsplit=2) for line in body)
    for parts in split_rows:
        parts = [p.strip().strip('"') for p in parts]
        if len(parts) >= 3 and parts[0]:
            rows.append((parts[0], parts[2]))
    return rows


def _system_of_code(raw: str) -> CodeSystem:
    compact = raw.replace(".", "").strip()
    return CodeSystem.ICD10PCS if len(compact) == 7 and "." not in raw and compact[:1].isdigit() else CodeSystem.ICD10CM


def _code(system: CodeSystem, raw: str) -> str | None:
    if not raw or raw.lower().startswith("none") or "-" in raw:
        return None
    try:
        return normalize_code(system, raw)
    except InvalidCode:
        return None


# -- codes recorded under an older release ------------------------------------------------------


class CodeRemapper:
    """Maps codes recorded under an older release (stored decisions, suggestions, a feedback export)
    to ``new``: a code ``new`` no longer bills gets its successors.

    The older release need not be at hand: a recorded code was billable when it was recorded, so one
    that ``new`` does not bill was retired; its successors come from ``successors`` (a map built with
    the older release, e.g. by ``codesuggest codesets successors --out``) when it names the code, else
    from ``new`` alone (the hierarchy; with the code's recorded title, also same title and similarity).
    """

    def __init__(self, new: Release, successors: SuccessorMap | None = None,
                 conversion: dict[tuple[str, str], list[str]] | None = None):
        self.new = new
        self.successors = successors
        self.conversion = conversion or {}
        self._finders: dict[CodeSystem, _Finder] = {}

    def is_current(self, system: str, code: str) -> bool:
        try:
            return code in self.new.of(CodeSystem.parse(system)) or not self.new.of(CodeSystem.parse(system))
        except ValueError:
            return True  # not a system this release speaks for

    def retired(self, system: str, code: str, title: str = "") -> RetiredCode | None:
        """``None`` for a code ``new`` bills (or a system it does not hold); else its successors."""
        if self.is_current(system, code):
            return None
        known = self.successors.get(system, code) if self.successors else None
        if known is not None:
            return known
        sys_ = CodeSystem.parse(system)
        title = title or self.new.headers.get(sys_, {}).get(code, "")  # a code that became a header keeps its title
        return RetiredCode(sys_.value, code, title, self._finder(sys_).successors(code, title))

    def map(self, system: str, code: str, title: str = "") -> tuple[str, str | None]:
        """``(code to use now, the recorded code it replaces or None)``; a retired code without
        successors stays as it is (a coder decides)."""
        item = self.retired(system, code, title)
        if item is None or item.primary is None:
            return code, None
        return item.primary.code, code

    def _finder(self, system: CodeSystem) -> "_Finder":
        if system not in self._finders:
            self._finders[system] = _Finder(system, self.new.of(system), set(), self.conversion, 0.5)
        return self._finders[system]


_REMAPPERS: "weakref.WeakKeyDictionary[Any, CodeRemapper]" = weakref.WeakKeyDictionary()


def remapper_for(catalog: Any) -> CodeRemapper:
    """The :class:`CodeRemapper` to a loaded :class:`~.catalog.CodeCatalog`'s release (built once per catalogue)."""
    found = _REMAPPERS.get(catalog)
    if found is None:
        from .releases import release_from_catalog

        found = _REMAPPERS[catalog] = CodeRemapper(release_from_catalog(catalog, label=catalog.release_label))
    return found
