"""What the running service holds: settings, database, code sets, the model being served, metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..codesets import CodeCatalog
from ..config import Settings
from ..models.interface import CodeSuggester, ModelRegistry
from .db import Database
from .errors import Conflict, NotFound, Unprocessable
from .metrics import Metrics


class ModelHolder:
    """The model being served. A request takes :attr:`current` once and keeps that reference,
    so an activation swaps the model for new requests while requests in flight finish on the old one."""

    def __init__(self, suggester: CodeSuggester, registry: ModelRegistry | None = None, metrics: Metrics | None = None):
        self._current = suggester
        self.registry = registry
        self._metrics = metrics
        self._lock = threading.Lock()
        if metrics:
            metrics.serving(suggester.version)

    @property
    def current(self) -> CodeSuggester:
        return self._current

    def activate(self, version: str) -> tuple[str, str]:
        """Load ``version``, mark it active in the registry, then serve it. Returns (previous, new)."""
        if self.registry is None:
            raise Conflict("no model registry is configured: this service serves one fixed model")
        with self._lock:
            known = {info.version for info in self.registry.list()}
            if version not in known:
                raise NotFound(f"model version {version!r} not found (known: {', '.join(sorted(known)) or 'none'})")
            previous = self._current.version
            try:
                suggester = self.registry.load(version)
            except Exception as exc:  # a broken artefact must not take the service down
                raise Unprocessable(f"model version {version!r} could not be loaded: {type(exc).__name__}") from exc
            self.registry.activate(version)
            self._current = suggester  # one reference assignment: atomic for readers
            if self._metrics:
                self._metrics.serving(suggester.version, previous)
            return previous, suggester.version


@dataclass
class ServiceState:
    settings: Settings
    db: Database
    catalog: CodeCatalog
    models: ModelHolder
    metrics: Metrics = field(default_factory=Metrics)
