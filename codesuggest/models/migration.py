"""A model across a code-set update: its labels mapped to the new release, saved as a new version.

A model fitted under release A knows A's codes; once release B is loaded, the codes B deleted are
no longer billable. :func:`migrate_model` saves a new model version whose ranker
(:class:`MigratedRanker`) answers with each retired code's successor (its primary one, see
:mod:`codesuggest.codesets.successors`), records B's code-set versions, and lists in its manifest
what was mapped and what could not be. The old version stays as it was and stays active until the
new one is promoted; retraining under B (``codesuggest train``) then gives the new codes the
statistics a migrated model lacks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..codesets import CodeSystem
from ..codesets.releases import Release
from ..codesets.successors import SuccessorMap, map_retired
from .artifact import load_model, read_manifest, save_model
from .interface import RankedCode


class MigratedRanker:
    """A fitted ranker whose codes are renamed: ``label_map_[(system, old)] = (system, new)``.

    A retired code and its successor may both be ranked for one note: the better-ranked one stays
    (lists are best first), so no code appears twice.
    """

    def __init__(self, ranker: Any, label_map: Mapping[tuple[str, str], tuple[str, str]], code_set_versions: Mapping[str, str]):
        self.ranker_ = ranker
        self.label_map_ = dict(label_map)
        self.code_set_versions_ = dict(code_set_versions)

    @property
    def thresholds_(self) -> dict:
        return self.ranker_.thresholds_

    def rank(self, analyses: Sequence[Any], top_k: int = 50) -> list[list[RankedCode]]:
        return [self._renamed(ranked) for ranked in self.ranker_.rank(analyses, top_k=top_k)]

    def _renamed(self, ranked: list[RankedCode]) -> list[RankedCode]:
        out, seen = [], set()
        for item in ranked:
            new = self.label_map_.get((item.system, item.code))
            if new is not None:
                reason = f"{item.reason}; " if item.reason else ""
                item = replace(item, code=new[1], reason=f"{reason}{item.code} retired, mapped to {new[1]}")
            if (item.system, item.code) not in seen:
                seen.add((item.system, item.code))
                out.append(item)
        return out


def model_labels(ranker: Any) -> set[tuple[str, str]]:
    """The (system, code) labels a fitted ranker learned (its training statistics' codes)."""
    if isinstance(ranker, MigratedRanker):
        return {ranker.label_map_.get(key, key) for key in model_labels(ranker.ranker_)}
    stats = getattr(ranker, "stats_", None)
    labels = set(getattr(stats, "code_count", {}) or {})
    for clf in getattr(ranker, "classifier_", None) or ():
        if clf is None:  # the group classifier of a model that does not use it
            continue
        labels |= set(getattr(clf, "codes_", []) or [])
    return {(str(s), str(c)) for s, c in labels}


@dataclass
class MigrationReport:
    version: str
    new_version: str | None
    kept: int = 0  # labels the new release still has
    mapped: dict[str, dict] = field(default_factory=dict)  # "SYSTEM CODE" -> {to, method, confidence}
    unmapped: list[str] = field(default_factory=list)  # retired labels with no successor
    not_in_from: int = 0  # labels of neither release (e.g. a corpus's national extension codes): left as they are

    def to_dict(self) -> dict:
        return {
            "from_version": self.version, "kept": self.kept, "mapped": self.mapped,
            "unmapped": self.unmapped, "not_in_either_release": self.not_in_from,
        }

    def to_text(self) -> str:
        lines = [
            f"model {self.version}: {self.kept} labels kept, {len(self.mapped)} mapped, {len(self.unmapped)} unmapped, "
            f"{self.not_in_from} in neither release",
        ]
        for key, row in sorted(self.mapped.items()):
            lines.append(f"  mapped   {key} -> {row['to']} ({row['method']}, {row['confidence']:.2f})")
        for key in self.unmapped:
            lines.append(f"  unmapped {key}")
        if self.new_version:
            lines.append(f"saved as {self.new_version} (not active: codesuggest models promote {self.new_version})")
        return "\n".join(lines)


def migrate_model(
    model_dir: str | Path,
    models_dir: str | Path,
    new: Release,
    code_set_versions: Mapping[str, str],
    old: Release | None = None,
    conversion: dict[tuple[str, str], list[str]] | None = None,
    dry_run: bool = False,
) -> MigrationReport:
    """Map the labels of the model in ``model_dir`` from ``old`` (default: the model's own labels,
    without titles) to ``new`` and save the result as a new version in ``models_dir`` (not activated)."""
    model = load_model(model_dir, None)
    labels = model_labels(model.ranker)
    in_new = _Headers(new)
    if old is None:  # without release A, a label B still has as a header cannot be told retired
        old = Release(f"model {model.version}", {})
        for system, code in labels:
            if new.of(CodeSystem(system)) and not in_new.has(system, code):
                old.codes.setdefault(CodeSystem(system), {})[code] = ""
    successors = map_retired(old, new, conversion)
    report = _report(model.version, labels, in_new, successors)
    if dry_run:
        return report
    label_map = {_key(k): (k.split()[0], row["to"]) for k, row in report.mapped.items()}
    manifest = read_manifest(model_dir)
    params = dict(manifest.get("params") or {})
    params["migration"] = {**report.to_dict(), "from_code_sets": manifest["code_set_versions"],
                           "from_release": old.label, "to_release": new.label}
    saved = save_model(
        MigratedRanker(model.ranker, label_map, code_set_versions),
        models_dir,
        training_fingerprint=f"{manifest.get('training_fingerprint', '')} (migrated from {model.version})",
        metrics=manifest.get("metrics") or {},
        params=params,
        code_set_versions=dict(code_set_versions),
    )
    report.new_version = saved.name
    return report


def _key(text: str) -> tuple[str, str]:
    system, code = text.split()
    return system, code


class _Headers:
    """Whether a code is a billable code of a release or a header above some (``E11``, a PCS prefix)."""

    def __init__(self, release: Release):
        self.release = release
        self.sorted = {s.value: sorted(release.of(s)) for s in release.systems}

    def has(self, system: str, code: str) -> bool:
        if code in self.release.of(CodeSystem(system)):
            return True
        keys = self.sorted.get(system, [])
        at = bisect.bisect_left(keys, code)
        return at < len(keys) and keys[at].startswith(code)


def _report(version: str, labels: set[tuple[str, str]], in_new: _Headers, successors: SuccessorMap) -> MigrationReport:
    report = MigrationReport(version, None)
    for system, code in sorted(labels):
        retired = successors.get(system, code)
        if retired is not None and retired.primary is not None:
            p = retired.primary
            report.mapped[f"{system} {code}"] = {"to": p.code, "method": p.method, "confidence": p.confidence}
        elif retired is not None:
            report.unmapped.append(f"{system} {code}")
        elif in_new.has(system, code) or not in_new.release.of(CodeSystem(system)):  # a system B lacks: left alone
            report.kept += 1
        else:
            report.not_in_from += 1
    return report
