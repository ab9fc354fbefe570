"""Training as the CLI, notebooks and scripts run it: load and check the data, fit, measure, save.

>>> data = load_training_data(["codiesp:data/codiesp/train", "feedback:sqlite:///var/codesuggest.db"], catalog)
>>> result = train_and_save(data, analyzer, registry, seed=0, activate=True)
>>> result.version, result.metrics["oof.ICD10CM.map"]

Checks (:class:`~.datasets.DatasetError`, naming the file and line or record):

- a code the loader could not read (malformed, unknown system) and an empty note are
  errors here, although the loaders themselves only skip them: a training set should
  say what it means;
- the same ``note_id`` in two data sources is an error (within one source the loader
  merges same-text records and rejects different texts);
- a well-formed code that is not in the loaded code sets (CodiEsp follows the 2018
  release; its 4-character ICD-10-PCS table prefixes are kept when a loaded code
  starts with them) is dropped from the labels, counted in :attr:`TrainingData.dropped_codes`:
  a model must not learn to suggest codes coders cannot choose.

Metrics saved with the model are out-of-fold (the ranker's cross-fitting on the
training notes, ``oof_scores_``; :func:`~.metrics.oof_metrics`): nothing is measured on the
notes a model was fit on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..models.artifact import training_fingerprint
from ..models.trainable import DEFAULT_MODEL_TYPE
from .datasets import CodedNote, DatasetError, LoadReport, load_dataset
from .metrics import oof_metrics
from .train import train_model

__all__ = ["TrainingData", "TrainResult", "load_training_data", "train_and_save"]

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    notes: list[CodedNote]
    reports: list[LoadReport]
    specs: list[str]
    dropped_codes: dict[tuple[str, str], int] = field(default_factory=dict)  # (system, code) -> notes
    dropped_example: str | None = None

    @property
    def fingerprint(self) -> str:
        return training_fingerprint(self.notes)

    def summary(self) -> str:
        lines = [str(r) for r in self.reports]
        if self.dropped_codes:
            top = ", ".join(f"{c} ({n})" for (_, c), n in sorted(self.dropped_codes.items(), key=lambda kv: -kv[1])[:5])
            lines.append(
                f"{sum(self.dropped_codes.values())} label(s) of {len(self.dropped_codes)} code(s) not in the loaded "
                f"code sets dropped: {top} (first: {self.dropped_example})"
            )
        return "\n".join(lines)


@dataclass
class TrainResult:
    version: str
    path: Any
    metrics: dict[str, float]
    params: dict[str, Any]
    fingerprint: str
    ranker: Any
    seconds: float


def _first_skip(report: LoadReport) -> str:
    skipped = [p for p in report.problems if ": skipped: " in p]
    more = len(skipped) - 1
    return skipped[0] + (f" (and {more} more)" if more > 0 else "") if skipped else report.source


def load_training_data(specs: Sequence[str], catalog: Any = None) -> TrainingData:
    """Load every ``SCHEME:TARGET`` spec and apply the checks of the module docstring."""
    if not specs:
        raise DatasetError("no training data (give at least one --data SCHEME:TARGET)")
    if any(str(s).lower().startswith("feedback:") for s in specs):
        from . import feedback_loader  # noqa: F401  registers the scheme (the storage stack loads lazily)
    notes: list[CodedNote] = []
    reports: list[LoadReport] = []
    first_seen: dict[str, str] = {}
    for spec in specs:
        dataset = load_dataset(spec)
        report = dataset.report
        if report.skipped_codes:
            raise DatasetError(f"{_first_skip(report)}; fix or remove the code(s)")
        if report.skipped_empty_notes:
            raise DatasetError(f"{_first_skip(report)}; remove empty notes from the training data")
        if not dataset:
            raise DatasetError(f"{spec}: no notes")
        for note in dataset:
            if note.note_id in first_seen:
                raise DatasetError(f"{spec}: note_id {note.note_id!r} is also in {first_seen[note.note_id]}; note ids must be unique across --data sources")
            first_seen[note.note_id] = spec
        notes.extend(dataset)
        reports.append(report)
    data = TrainingData(notes=notes, reports=reports, specs=list(specs))
    if catalog is not None:
        # CodiEsp (and coders) may give a 4-character ICD-10-PCS table prefix: known when a loaded code starts with it
        from ..codesets.records import CodeSystem

        pcs = CodeSystem.ICD10PCS
        pcs_prefixes = {c.code[:4] for c in catalog.codes_of(pcs)} if pcs.value in catalog.versions else set()
        kept_notes = []
        for note in notes:
            kept = []
            for system, code in note.codes:
                if catalog.get(system, code) is None and not (system == "ICD10PCS" and code in pcs_prefixes):
                    data.dropped_codes[(system, code)] = data.dropped_codes.get((system, code), 0) + 1
                    data.dropped_example = data.dropped_example or f"{system} {code} in note {note.note_id} ({note.source})"
                else:
                    kept.append((system, code))
            kept_notes.append(note if len(kept) == len(note.codes) else replace(note, codes=tuple(kept)))
        data.notes = kept_notes
    if not any(n.codes for n in data.notes):
        raise DatasetError(f"{', '.join(specs)}: no codes to learn from")
    return data


def train_and_save(
    data: TrainingData,
    analyzer: Any,
    registry: Any,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    activate: bool = False,
    progress: bool = True,
    model_type: str = DEFAULT_MODEL_TYPE,
) -> TrainResult:
    """Fit a model of the registered ``model_type`` (default: the
    :class:`~codesuggest.models.ranker.CodeRanker`) on ``data`` and save it as a new version of
    ``registry`` (written atomically; activated only once saved, when asked)."""
    params = {**dict(params or {}), "random_state": seed}
    start = time.perf_counter()
    ranker = train_model([data.notes], analyzer, params, progress=progress, model_type=model_type)
    metrics = {"oof": oof_metrics(ranker, data.notes), "training": dict(getattr(ranker, "training_summary_", {}))}
    saved_params = {
        "kind": model_type,
        "ranker": ranker.get_params(),
        "seed": seed,
        "data": data.specs,
        "sources": [r.to_dict() | {"problems": r.problems[:20]} for r in data.reports],
        "dropped_codes": len(data.dropped_codes),
        "pipeline": dict(getattr(analyzer, "settings", {})),
    }
    fingerprint = data.fingerprint
    version = registry.save(ranker, training_fingerprint=fingerprint, metrics=metrics, params=saved_params)
    if activate:
        registry.activate(version)
    from ..models.artifact import flatten_metrics

    return TrainResult(
        version=version, path=registry.models_dir / version, metrics=flatten_metrics(metrics), params=saved_params,
        fingerprint=fingerprint, ranker=ranker, seconds=time.perf_counter() - start,
    )
