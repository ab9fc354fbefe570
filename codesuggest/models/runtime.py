"""The model at run time, as the service, the CLI and batch jobs load and call it: the pipeline
resources one process shares (:func:`shared_resources`), the active model (:func:`open_registry`,
:func:`load_active_or_default`), the heap settled before forking (:func:`settle_heap`), and the
worker processes that serve a loaded model (:class:`SuggesterProcesses`).

Outside ``models/``, this module and :mod:`.interface` are the only ones the service imports.

Worker processes
----------------
The model's ``suggest`` is CPU-bound Python: in one process, concurrent requests take turns on
the GIL (BENCHMARKS.md, issue 4: a trained model's request costs ~33 ms of CPU, so 4 clients
queued behind each other). :class:`SuggesterProcesses` forks ``n`` workers from the process that
loaded the model: they share its memory page for page (copy-on-write; the loader froze the heap
with ``gc.freeze()``), load nothing themselves, and start in milliseconds. Each worker owns one
pipe; a request borrows an idle worker, sends it the text, and blocks on the answer with the GIL
released. No manager threads sit between the two, so a hand-off costs two pipe writes.

A long-lived worker grows: spaCy adds every new word of every note to its vocabulary and its
tokenizer's cache (15 MB over 750 distinct CodiEsp notes, BENCHMARKS.md). With ``max_requests``
a worker that has answered that many requests is replaced by a fresh fork of the loaded model
(``CODESUGGEST_MODEL_WORKER_MAX_REQUESTS`` in the service), which bounds that growth.

Fork only: the point is to share the loaded model. On platforms without ``fork``, or with ``n``
of 0, the service calls the model in its own process (``ModelHolder`` decides).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .artifact import ModelLoadError  # the service catches it when a model cannot be activated
from .interface import CodeSuggester, Output, Suggestion

if TYPE_CHECKING:
    from .registry import FileModelRegistry

__all__ = [
    "ModelLoadError", "ModelWorkerError", "SuggesterProcesses", "can_fork", "load_active_or_default", "open_registry",
    "settle_heap", "shared_resources",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


# -- what a process loads once ----------------------------------------------------------------


@lru_cache(maxsize=2)
def shared_resources(sources: Any, cache_dir: Path, approximate: bool = False) -> tuple[Any, Any]:
    """``(CodeCatalog, Analyzer)`` for these code-set sources (``approximate``: with the ANN linker)."""
    from ..codesets import CodeCatalog
    from ..disk_cache import paused_gc
    from ..pipeline.nlp import Analyzer

    with paused_gc():
        catalog = CodeCatalog.load(sources, Path(cache_dir))
        return catalog, Analyzer.from_catalog(catalog, Path(cache_dir), approximate=approximate)


def settle_heap() -> None:
    """Move what is loaded now (code sets, indexes, models: millions of long-lived objects) out of
    the cyclic garbage collector's sight.

    Every full collection otherwise walks them all, and coding a note allocates enough to trigger
    collections: ranking took 13.6 ms/note with them tracked, 10.6 without (BENCHMARKS.md).
    Frozen objects are still freed by reference counting when dropped (an old model after an
    activation); only reference cycles among them would stay.
    """
    gc.collect()
    gc.freeze()


def open_registry(settings: Any) -> FileModelRegistry:
    """The registry of ``settings.models_dir``, loading the pipeline from ``settings``."""
    from .registry import FileModelRegistry

    return FileModelRegistry(settings.models_dir, settings=settings)


def compatible_versions(registry: Any, code_set_versions: dict[str, str]) -> list[str]:
    """Versions built for exactly these code-set versions, trained models before default ones, newest first."""
    infos = [i for i in registry.list() if dict(i.code_set_versions) == dict(code_set_versions)]
    infos.sort(key=lambda i: (not registry._is_default(i.version), i.created_at, i.version), reverse=True)
    return [i.version for i in infos]


def load_active_or_default(settings: Any, *, progress: bool = True) -> CodeSuggester:
    """The model to serve for the loaded code sets, saying which when it is not the active one.

    1. The active model, when it was built for the loaded code sets.
    2. Otherwise (code sets added or changed since it was activated: a PCS file given at this start),
       the newest model built for the loaded code sets, trained models before default ones; it becomes
       the active model. When the active model is a trained one, only trained models stand in for it.
    3. Otherwise, with no active model or a default one, the embedded default model built for the loaded
       code sets (saved, activated).

    A trained active model with no trained stand-in raises :class:`~.artifact.CodeSetMismatch`, and one
    that cannot be loaded for another reason :class:`~.artifact.ModelLoadError`: serving something else
    silently would hide it.
    """
    from .artifact import CodeSetMismatch, ModelLoadError

    registry = open_registry(settings)
    _, analyzer = registry.resources()
    loaded = dict(analyzer.code_set_versions)
    active = registry.active_version()
    mismatch: CodeSetMismatch | None = None
    if active is not None:
        try:
            return registry.load(active)
        except CodeSetMismatch as exc:
            mismatch = exc
    trained_only = active is not None and not registry._is_default(active)
    for version in compatible_versions(registry, loaded):
        if trained_only and registry._is_default(version):
            continue
        try:
            suggester = registry.load(version)
        except ModelLoadError as exc:
            log.warning("model %s fits the loaded code sets but cannot be loaded: %s", version, exc)
            continue
        registry.activate(version)
        log.warning("%s; serving %s instead, the newest model built for the loaded code sets (now active)",
                    mismatch or "no active model", version)
        return suggester
    if trained_only and mismatch is not None:
        raise mismatch
    if mismatch is not None:
        log.warning("%s; building a default model for the loaded code sets", mismatch)
    version = registry.build_default(progress=progress)
    return registry.load(version)


# -- worker processes ---------------------------------------------------------------------------


class ModelWorkerError(RuntimeError):
    """A worker process died while it held a request; a fresh worker has replaced it."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _release_inherited_sockets(keep: int) -> None:
    """Point every inherited socket but ours at /dev/null.

    A worker forked while the server runs holds copies of its listening socket and of its clients'
    connections; a connection the server closes would stay open (no FIN) as long as the worker
    lives. dup2 rather than close: the fd numbers stay taken, so an inherited object that closes
    "its" fd later cannot close something else's.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in (keep, devnull):
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                pass
    finally:
        os.close(devnull)


def _serve(suggester: CodeSuggester, conn: Connection) -> None:
    """A worker's loop: a request in, its answer (or the exception it raised) out, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's handler, inherited
    if os.path.isdir("/proc/self/fd"):
        _release_inherited_sockets(keep=conn.fileno())
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the server went away
            return
        if request is None:
            return
        function, args = request
        try:
            answer = ("ok", function(suggester, *args))
        except Exception as exc:  # the caller re-raises it: a bad note fails its request, not the worker
            answer = ("error", _portable(exc))
        try:
            conn.send(answer)
        except Exception as exc:  # a result that cannot be pickled still reaches the caller, in words
            conn.send(("error", RuntimeError(f"the model's answer could not be sent back: {type(exc).__name__}: {exc}")))


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling both ways (an exception class with a custom ``__init__`` may
    not), else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _suggest(suggester: CodeSuggester, text: str, setting: str | None, top_k: int, output: Output) -> list[Suggestion]:
    return suggester.suggest(text, setting=setting, top_k=top_k, output=output)


def _suggest_many(
    suggester: CodeSuggester, texts: Sequence[str], setting: str | None, top_k: int, output: Output
) -> list[list[Suggestion]]:
    return suggester.suggest_many(texts, setting=setting, top_k=top_k, output=output)


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    requests: int = 0  # answered so far

    def stop(self) -> None:
        """Ask the worker to exit, and make sure it does."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.end(grace=5)

    def end(self, grace: float) -> int | None:
        """Close our end, give the process ``grace`` seconds to exit, then kill it; its exit code."""
        self.conn.close()
        self.process.join(timeout=grace)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=1)
        return self.process.exitcode


class SuggesterProcesses:
    """A :class:`CodeSuggester` that runs ``suggester`` in ``n`` forked worker processes; :meth:`run`
    runs any function of the suggester there (batch jobs code a chunk of notes into a table).

    Thread-safe: as many requests run at once as there are workers; the rest wait for one.
    :meth:`close` waits for requests in flight, then stops the workers; a call after that runs
    in this process.
    """

    def __init__(self, suggester: CodeSuggester, n: int, max_requests: int = 0):
        if n < 1:
            raise ValueError("SuggesterProcesses needs at least one worker")
        if max_requests < 0:
            raise ValueError("max_requests must be 0 (never replace a worker) or more")
        if not can_fork():
            raise RuntimeError("model worker processes need the 'fork' start method")
        self.suggester = suggester
        self.version = suggester.version
        self.max_requests = max_requests
        self._context = multiprocessing.get_context("fork")
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []  # every live worker, idle or busy
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = threading.Event()
        for _ in range(n):
            self._idle.put(self._start_worker())

    def _start_worker(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(self.suggester, child_end), name=f"codesuggest-model-{self.version}", daemon=True
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        with self._lock:
            self._workers.append(worker)
        return worker

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        with self._lock:
            return [w.process.pid for w in self._workers]

    def run(self, function: Callable[..., T], *args) -> T:
        """``function(suggester, *args)`` in a worker: ``function`` is pickled by reference (a module-level
        function), ``args`` and the result by value. Raises what ``function`` raised, or
        :class:`ModelWorkerError` if the worker died meanwhile."""
        worker = self._take()
        if worker is None:
            # A request that took this model before an activation retired it: it still gets this
            # model's answer, computed here (the workers are stopping).
            return function(self.suggester, *args)
        try:
            worker.conn.send((function, args))
            status, value = worker.conn.recv()
        except (EOFError, OSError) as exc:
            code = self._replace(worker)
            raise ModelWorkerError(f"a model worker process exited (code {code}) during this request") from exc
        except BaseException:
            # Interrupted between send and recv: the pipe's state is unknown, so the worker is not reused.
            self._replace(worker)
            raise
        worker.requests += 1
        if self.max_requests and worker.requests >= self.max_requests:
            self._recycle(worker)
        else:
            self._idle.put(worker)
        if status == "error":
            raise value
        return value

    def _take(self) -> _Worker | None:
        """An idle worker, waiting for one if all are busy; None once closing (close() takes the idle ones)."""
        while not self._closed.is_set():
            try:
                return self._idle.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _recycle(self, worker: _Worker) -> None:
        """Put a fresh worker in the place of one that has answered ``max_requests`` requests; the
        old one exits in the background (it is idle: nothing is lost)."""
        self._forget(worker)
        self._start_replacement()
        log.info("model worker %s retired after %d requests", worker.process.pid, worker.requests)
        threading.Thread(target=worker.stop, name="retire-model-worker", daemon=True).start()

    def _replace(self, worker: _Worker) -> int | None:
        """Stop a worker that cannot be reused and, unless closing, start another in its place."""
        self._forget(worker)
        code = worker.end(grace=1)
        log.error("model worker %s exited (code %s)", worker.process.pid, code)
        self._start_replacement()
        return code

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._workers:  # close() may have given up on it already
                self._workers.remove(worker)

    def _start_replacement(self) -> None:
        if not self._closed.is_set():
            self._idle.put(self._start_worker())

    def suggest(
        self, text: str, setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[Suggestion]:
        return self.run(_suggest, text, setting, top_k, output)

    def suggest_many(
        self, texts: Sequence[str], setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[list[Suggestion]]:
        return self.run(_suggest_many, texts, setting, top_k, output)

    def close(self, timeout: float = 60.0) -> None:
        """Stop taking requests, let those in flight finish (up to ``timeout`` s), stop the workers."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._workers:
                    return
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            with self._lock:
                self._workers.remove(worker)
            worker.stop()
        with self._lock:
            busy, self._workers = self._workers, []
        if busy:
            log.warning("model %s: %d request(s) still running after %.0f s; stopping their workers", self.version, len(busy), timeout)
        for worker in busy:
            worker.end(grace=0)
