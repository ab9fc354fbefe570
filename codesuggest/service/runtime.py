"""What the running service holds: settings, database, code sets, the model being served, metrics."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from ..codesets import CodeCatalog
from ..config import Settings
from ..models.runtime import ModelLoadError
from ..models.interface import CodeSuggester, ModelRegistry
from ..models.runtime import SuggesterProcesses
from ..storage.db import Database
from .errors import Conflict, NotFound, Unprocessable
from .metrics import Metrics

log = logging.getLogger(__name__)


WARM_UP_NOTE = "Assessment: type 2 diabetes with chronic kidney disease stage 3. Hypertension."


def warm_up_model(suggester: CodeSuggester) -> None:
    """Suggest codes for one test note, so that the pipeline's lazy parts are built before the first request."""
    try:
        suggester.suggest(WARM_UP_NOTE)
    except Exception as exc:  # a model that fails here fails per request too: say so, keep serving the rest
        log.warning("warm-up: model %s failed on a test note (%s)", suggester.version, type(exc).__name__)


class ModelHolder:
    """The model being served. A request takes :attr:`current` once and keeps that reference,
    so an activation swaps the model for new requests while requests in flight finish on the old one.

    With ``processes`` > 0 the model runs in that many worker processes forked from this one
    (:class:`SuggesterProcesses`), so that concurrent requests use every core, each replaced by a
    fresh one after ``max_requests`` requests (0: never); with 0 processes, here.
    """

    def __init__(
        self,
        suggester: CodeSuggester,
        registry: ModelRegistry | None = None,
        metrics: Metrics | None = None,
        processes: int = 0,
        max_requests: int = 0,
    ):
        self.registry = registry
        self.processes = processes
        self.max_requests = max_requests
        self._metrics = metrics
        self._lock = threading.Lock()
        self._current = self._serve(suggester)
        if metrics:
            metrics.serving(suggester.version)

    def _serve(self, suggester: CodeSuggester) -> CodeSuggester:
        return SuggesterProcesses(suggester, self.processes, self.max_requests) if self.processes > 0 else suggester

    @staticmethod
    def _retire(suggester: CodeSuggester) -> None:
        """Stop the old model's workers once its requests in flight are done, without making the caller wait."""
        if isinstance(suggester, SuggesterProcesses):
            threading.Thread(target=suggester.close, name=f"retire-{suggester.version}", daemon=True).start()

    def close(self) -> None:
        if isinstance(self._current, SuggesterProcesses):
            self._current.close()

    def _without_paths(self, exc: Exception) -> str:
        """The loader's message without the server's models folder (the version names the directory)."""
        message = str(exc)
        models_dir = getattr(self.registry, "models_dir", None)
        return message.replace(f"{models_dir}/", "").replace(str(models_dir), "the models folder") if models_dir else message

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
            except ModelLoadError as exc:  # says what is missing or differs: the code-set file, a package version
                raise Unprocessable(f"model version {version!r} could not be loaded: {self._without_paths(exc)}") from exc
            except Exception as exc:  # a broken artefact must not take the service down
                raise Unprocessable(f"model version {version!r} could not be loaded: {type(exc).__name__}") from exc
            warm_up_model(suggester)  # before forking workers, so that they share what it builds
            served = self._serve(suggester)  # workers started before the registry says "active"
            self.registry.activate(version)
            retired, self._current = self._current, served  # one assignment: atomic for readers
            self._retire(retired)
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
