"""An app factory uvicorn can import for the reliability tests and the load benchmark:

    uvicorn --factory reliability_app:create --app-dir tests --host 127.0.0.1 --port 8123

It serves the test-double suggester (``service_fakes.KeywordSuggester``, starts in ~2 s) with a two-version
registry (kw-1 active, kw-2 activatable) over the database in ``CODESUGGEST_DATABASE_URL`` (default: SQLite in
``CODESUGGEST_DATA_DIR``). ``CODESUGGEST_TEST_SUGGEST_DELAY`` (seconds) makes each suggestion take that long, so
a test can keep requests in flight.
``CODESUGGEST_TEST_TRACEMALLOC=<folder>`` traces allocations (``tracemalloc``, 4 frames) from
``CODESUGGEST_TEST_TRACEMALLOC_START`` seconds after start and writes a snapshot to that folder every
``CODESUGGEST_TEST_TRACEMALLOC_EVERY`` seconds (default 60), for finding memory growth under load
(``benchmarks/load_test.py --tracemalloc``). Tracing slows the server several-fold.
``CODESUGGEST_TEST_MEMSTATS=<file>`` appends one JSON line per second with where the server's memory is: RSS,
SQLite's own allocator (``sqlite3_memory_used``), glibc's main heap (``mallinfo2``: in use, free, mmapped), all
glibc arenas (``malloc_info``: count, size, free), Python's allocated blocks and the thread count
(``benchmarks/load_test.py --memstats``; cheap, no tracing). With ``CODESUGGEST_TEST_MALLOC_TRIM_EVERY=<s>`` it
also calls ``malloc_trim(0)`` that often and records the RSS after it.

``CODESUGGEST_TEST_REAL_MODEL=1`` serves the real default model instead
(``codesuggest.models.runtime.load_active_or_default``, as ``codesuggest serve`` does).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi import FastAPI

from codesuggest.config import Settings
from codesuggest.service.app import create_app
from service_fakes import FakeRegistry, KeywordSuggester, real_catalog


class SlowKeywordSuggester(KeywordSuggester):
    """The keyword double, taking ``delay`` seconds per note (a stand-in for a real model's work)."""

    def suggest(self, text, setting=None, top_k=30, output=None):
        if self.delay:
            time.sleep(self.delay)
        return super().suggest(text, setting, top_k)


def make_registry(delay: float = 0.0) -> FakeRegistry:
    return FakeRegistry(
        SlowKeywordSuggester("kw-1", delay=delay), SlowKeywordSuggester("kw-2", confidence_shift=0.05, delay=delay)
    )


def cached_catalog():
    """The real catalogue, its ICD-10-CM read from the cache folder ``CODESUGGEST_TEST_CATALOG_CACHE`` when
    that is set (CodeCatalog's own cache): a restarted server then starts in about a second."""
    from codesuggest.codesets import CodeCatalog

    cache = os.environ.get("CODESUGGEST_TEST_CATALOG_CACHE")
    return CodeCatalog.load(cache_dir=Path(cache)) if cache else real_catalog()


def start_tracemalloc_snapshots(folder: Path, every: float, start_after: float = 0.0, frames: int = 4) -> None:
    """After ``start_after`` s (warm-up left untraced: tracing the catalogue's loading is slow), trace allocations
    with ``frames`` frames and dump a snapshot to ``folder/snapshot-<seconds since tracing>.pickle`` every ``every`` s.
    Allocations made before tracing started are not in the snapshots: their differences show what is retained."""
    import threading
    import tracemalloc

    folder.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        time.sleep(start_after)
        tracemalloc.start(frames)
        started = time.monotonic()
        while True:
            time.sleep(every)
            elapsed = int(time.monotonic() - started)
            tracemalloc.take_snapshot().dump(str(folder / f"snapshot-{elapsed:05d}.pickle"))

    threading.Thread(target=run, name="tracemalloc-snapshots", daemon=True).start()


def start_memstats(path: Path, every: float = 1.0) -> None:
    """Append a JSON line every ``every`` s: ``t`` (s since start), ``rss_mb``, ``threads``, ``sqlite_mb``
    (``sqlite3_memory_used``), ``heap_used_mb`` / ``heap_free_mb`` / ``mmap_mb`` (glibc's main arena),
    ``arenas`` / ``arenas_mb`` / ``arenas_free_mb`` / ``mmap_all_mb`` (all arenas), ``py_blocks``
    (``sys.getallocatedblocks()``) and, every ``CODESUGGEST_TEST_MALLOC_TRIM_EVERY`` s, ``rss_after_trim_mb``."""
    import ctypes
    import ctypes.util
    import json
    import threading

    import psutil

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    mallinfo2 = getattr(libc, "mallinfo2", None)
    if mallinfo2 is not None:
        mallinfo2.restype = MallInfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    malloc_info_path = path.with_name(path.name + ".malloc_info.xml")

    def all_arenas() -> dict[str, float]:
        """glibc's malloc_info over every arena (mallinfo2 covers the main one only)."""
        import re

        fp = libc.fopen(str(malloc_info_path).encode(), b"w")
        if not fp:
            return {}
        try:
            libc.malloc_info(0, ctypes.c_void_p(fp))
        finally:
            libc.fclose(fp)
        xml = malloc_info_path.read_text()
        tail = xml[xml.rfind("</heap>"):]  # the totals after the last arena
        out = {"arenas": xml.count("<heap ")}
        for key, pattern in (("arenas_mb", r'<system type="current" size="(\d+)"'),
                             ("arenas_free_mb", r'<total type="rest" count="\d+" size="(\d+)"'),
                             ("mmap_all_mb", r'<total type="mmap" count="\d+" size="(\d+)"')):
            m = re.search(pattern, tail)
            if m:
                out[key] = round(int(m.group(1)) / 2**20, 1)
        return out

    import _sqlite3  # the library the service's connections use (the same shared object when linked dynamically)

    sqlite_memory = None
    try:
        lib = ctypes.CDLL(_sqlite3.__file__)
        sqlite_memory = lib.sqlite3_memory_used
        sqlite_memory.restype = ctypes.c_int64
    except (OSError, AttributeError):
        pass
    process = psutil.Process()
    started = time.monotonic()
    mb = 2**20
    trim_every = float(os.environ.get("CODESUGGEST_TEST_MALLOC_TRIM_EVERY", "0") or 0)
    next_trim = [trim_every]

    def run() -> None:
        with path.open("a") as out:
            while True:
                row = {"t": round(time.monotonic() - started, 1), "rss_mb": round(process.memory_info().rss / mb, 1),
                       "threads": threading.active_count()}
                if sqlite_memory is not None:
                    row["sqlite_mb"] = round(sqlite_memory() / mb, 2)
                if mallinfo2 is not None:
                    info = mallinfo2()
                    row.update(heap_used_mb=round(info.uordblks / mb, 1), heap_free_mb=round(info.fordblks / mb, 1),
                               mmap_mb=round(info.hblkhd / mb, 1))
                row.update(all_arenas())
                row["py_blocks"] = sys.getallocatedblocks()
                if trim_every and row["t"] >= next_trim[0]:
                    # hand glibc's free pages back: what RSS is left is what the process really holds
                    libc.malloc_trim(0)
                    row["rss_after_trim_mb"] = round(process.memory_info().rss / mb, 1)
                    next_trim[0] = row["t"] + trim_every
                out.write(json.dumps(row) + "\n")
                out.flush()
                time.sleep(every)

    threading.Thread(target=run, name="memstats", daemon=True).start()


def create() -> FastAPI:
    settings = Settings()
    if os.environ.get("CODESUGGEST_TEST_MEMSTATS"):
        start_memstats(Path(os.environ["CODESUGGEST_TEST_MEMSTATS"]))
    if os.environ.get("CODESUGGEST_TEST_TRACEMALLOC"):
        start_tracemalloc_snapshots(Path(os.environ["CODESUGGEST_TEST_TRACEMALLOC"]),
                                    float(os.environ.get("CODESUGGEST_TEST_TRACEMALLOC_EVERY", "60")),
                                    float(os.environ.get("CODESUGGEST_TEST_TRACEMALLOC_START", "0")))
    if os.environ.get("CODESUGGEST_TEST_REAL_MODEL") == "1":
        from codesuggest.models.runtime import load_active_or_default, open_registry

        registry = open_registry(settings)
        return create_app(
            settings, suggester_provider=lambda: load_active_or_default(settings), registry=registry,
            catalog=lambda: registry.resources()[0],
        )
    registry = make_registry(float(os.environ.get("CODESUGGEST_TEST_SUGGEST_DELAY", "0") or 0))
    return create_app(
        settings, suggester_provider=lambda: registry.load(registry.active_version()), registry=registry,
        catalog=cached_catalog,
    )


# -- running it as a server (uvicorn in a subprocess, loopback only) ---------------------------------------
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from contextlib import contextmanager  # noqa: E402


import httpx  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
CATALOG_CACHE = Path(os.environ.get("CODESUGGEST_TEST_CATALOG_CACHE") or Path(tempfile.gettempdir()) / "codesuggest-test-cache")
HOST = "127.0.0.1"  # the reliability tests and the load benchmark never listen beyond loopback


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``uvicorn --factory reliability_app:create`` on 127.0.0.1, output to ``log_path``."""

    def __init__(self, data_dir: Path, database_url: str, log_path: Path, *, delay: float = 0.0,
                 real_model: bool = False, port: int | None = None, model_processes: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "CODESUGGEST_DATA_DIR": str(data_dir),
               "CODESUGGEST_TEST_CATALOG_CACHE": str(CATALOG_CACHE), "CODESUGGEST_DATABASE_URL": database_url,
               "CODESUGGEST_TEST_SUGGEST_DELAY": str(delay), "CODESUGGEST_TEST_REAL_MODEL": "1" if real_model else "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))}
        if model_processes is not None:
            env["CODESUGGEST_MODEL_PROCESSES"] = str(model_processes)
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "reliability_app:create", "--app-dir", str(TESTS_DIR),
             "--host", HOST, "--port", str(self.port), "--log-level", "info"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds until ``/readyz`` answered 200."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lifespan exit, no flush."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()

    def log_tail(self, chars: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]


@contextmanager
def running_server(data_dir: Path, database_url: str, log_path: Path | None = None, ready_timeout: float = 120.0, **kw):
    server = Server(data_dir, database_url, log_path or data_dir / "server.log", **kw)
    try:
        server.wait_ready(ready_timeout)
        yield server
    finally:
        server.stop()
