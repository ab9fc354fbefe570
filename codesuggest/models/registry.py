"""Model versions in a directory, one of them active.

::

    <models_dir>/
        ACTIVE                    the active version's name (replaced atomically)
        20261127-0530-ab12cd/     one directory per version (see :mod:`.artifact`)
        20261128-0910-77f0e1/
        .tmp-...                  an interrupted save; ignored

>>> registry = FileModelRegistry(settings.models_dir, settings=settings)
>>> registry.activate("20261128-0910-77f0e1")
>>> suggester = registry.load(registry.active_version())

:func:`.runtime.load_active_or_default` is what the service and ``codesuggest serve`` call.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from .artifact import (
    LoadedModel,
    ManifestFormatError,
    ModelLoadError,
    check_version_name,
    load_model,
    read_manifest,
    save_model,
    verify_files,
)
from . import runtime
from .interface import ModelInfo
from .suggester import DEFAULT_REVIEW_BAND, ModelSuggester

log = logging.getLogger(__name__)
ACTIVE = "ACTIVE"
DEFAULT_MODEL_KIND = "dictionary-default"

__all__ = ["ACTIVE", "FileModelRegistry", "ModelLoadError", "UnknownModelVersion"]


class UnknownModelVersion(KeyError):
    """No model directory of that version in the registry."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else "unknown model version"


class FileModelRegistry:
    """A :class:`~.interface.ModelRegistry` over ``models_dir``.

    ``load`` needs the pipeline: pass ``analyzer`` (and ``catalog`` for descriptions), or
    ``settings`` to load them from the configured code sets on first use.
    """

    def __init__(
        self,
        models_dir: str | Path,
        *,
        settings: Any = None,
        analyzer: Any = None,
        catalog: Any = None,
        review_band: float = DEFAULT_REVIEW_BAND,
    ):
        self.models_dir = Path(models_dir)
        self.settings = settings
        self._analyzer = analyzer
        self._catalog = catalog
        self.review_band = review_band

    # -- pipeline resources -----------------------------------------------------------------
    def resources(self) -> tuple[Any, Any]:
        """``(catalog, analyzer)``, loading them from ``settings`` when not given."""
        if self._analyzer is None:
            if self.settings is None:
                raise RuntimeError("FileModelRegistry needs an analyzer or settings to load models")
            self._catalog, self._analyzer = runtime.shared_resources(
                self.settings.code_set_sources(), self.settings.cache_dir, self.settings.approximate_search
            )
        return self._catalog, self._analyzer

    # -- the ModelRegistry protocol ---------------------------------------------------------
    def path_of(self, version: str) -> Path:
        try:
            check_version_name(version)
        except ValueError as exc:
            raise UnknownModelVersion(str(exc)) from None
        path = self.models_dir / version
        if not (path / "manifest.json").is_file():
            known = ", ".join(self.versions()) or "none"
            raise UnknownModelVersion(f"no model version {version!r} in {self.models_dir} (known: {known})")
        return path

    def versions(self) -> list[str]:
        """Version names, oldest first (the names start with their UTC creation time)."""
        if not self.models_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.models_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()
        )

    def list(self) -> list[ModelInfo]:
        active = self.active_version()
        infos = []
        for version in self.versions():
            try:
                manifest = read_manifest(self.models_dir / version)
            except ManifestFormatError as exc:
                log.warning("skipping %s: %s", version, exc)
                continue
            infos.append(
                ModelInfo(
                    version=version,
                    created_at=manifest["created_at"],
                    active=version == active,
                    code_set_versions=dict(manifest["code_set_versions"]),
                    metrics={k: float(v) for k, v in (manifest.get("metrics") or {}).items()},
                )
            )
        infos.sort(key=lambda i: (i.created_at, i.version))
        return infos

    def active_version(self) -> str | None:
        pointer = self.models_dir / ACTIVE
        try:
            version = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not version:
            return None
        if not (self.models_dir / version / "manifest.json").is_file():
            log.warning("%s names %r, which is not a model in %s", pointer, version, self.models_dir)
            return None
        return version

    def activate(self, version: str) -> None:
        """Point ``ACTIVE`` at ``version`` (after checking its files); atomic for readers."""
        path = self.path_of(version)
        verify_files(path, read_manifest(path))
        with atomic_path(self.models_dir / ACTIVE, durable=True) as tmp:
            tmp.write_text(version + "\n", encoding="utf-8")
        log.info("model %s is now active in %s", version, self.models_dir)

    def load(self, version: str) -> ModelSuggester:
        catalog, analyzer = self.resources()
        model = load_model(self.path_of(version), analyzer.code_set_versions)
        return self._suggester(model, analyzer, catalog)

    # -- more -------------------------------------------------------------------------------
    def show(self, version: str) -> dict[str, Any]:
        manifest = dict(read_manifest(self.path_of(version)))
        manifest["active"] = version == self.active_version()
        return manifest

    def save(self, ranker: Any, **kwargs: Any) -> str:
        """Save a fitted ranker as a new version (see :func:`.artifact.save_model`); not activated."""
        return save_model(ranker, self.models_dir, **kwargs).name

    def load_path(self, path: str | Path) -> ModelSuggester:
        """Load a model directory from anywhere (``codesuggest predict --model DIR``)."""
        catalog, analyzer = self.resources()
        return self._suggester(load_model(path, analyzer.code_set_versions), analyzer, catalog)

    def build_default(self, *, progress: bool = True) -> str:
        """Save (and activate) the embedded default model for the loaded code sets; reuse one
        already saved for the same code-set versions."""
        from tqdm import tqdm

        from .default import build_default_ranker

        steps = tqdm(total=3, desc="default model: code sets and term index", unit="step", disable=not progress)
        with steps:
            catalog, analyzer = self.resources()
            steps.update()
            for info in reversed(self.list()):
                if info.code_set_versions == analyzer.code_set_versions and self._is_default(info.version):
                    steps.set_description(f"default model: reusing {info.version}")
                    steps.update(2)
                    self.activate(info.version)
                    return info.version
            steps.set_description("default model: building")
            ranker = build_default_ranker(catalog)
            steps.update()
            steps.set_description("default model: saving")
            version = self.save(
                ranker,
                training_fingerprint="none (built from the code sets; no training data)",
                params={"kind": DEFAULT_MODEL_KIND, **ranker.get_params()},
            )
            self.activate(version)
            steps.update()
        log.info("built and activated the default model %s", version)
        return version

    def _is_default(self, version: str) -> bool:
        try:
            return (read_manifest(self.models_dir / version).get("params") or {}).get("kind") == DEFAULT_MODEL_KIND
        except ModelLoadError:
            return False

    def _suggester(self, model: LoadedModel, analyzer: Any, catalog: Any) -> ModelSuggester:
        _warn_on_other_pipeline(model, analyzer)
        off = getattr(self.settings, "guideline_rules_off", ()) if self.settings is not None else ()
        suggester = ModelSuggester(
            analyzer, model.ranker, model.version, catalog=catalog, review_band=self.review_band,
            manifest=model.manifest, guidelines_off=off,
        )
        runtime.settle_heap()
        return suggester


def _warn_on_other_pipeline(model: LoadedModel, analyzer: Any) -> None:
    """A model trained on candidates from other pipeline settings still ranks, a little worse:
    say so (models saved before the settings were recorded say nothing)."""
    trained = (model.manifest.get("params") or {}).get("pipeline")
    serving = getattr(analyzer, "settings", None)
    if isinstance(trained, dict) and isinstance(serving, dict):
        differ = sorted(k for k in trained.keys() & serving.keys() if trained[k] != serving[k])
        if differ:
            log.warning(
                "model %s was trained with pipeline settings %s, this pipeline has %s: its candidates differ "
                "(CODESUGGEST_APPROXIMATE_SEARCH sets approximate_search)",
                model.version, {k: trained[k] for k in differ}, {k: serving[k] for k in differ},
            )
