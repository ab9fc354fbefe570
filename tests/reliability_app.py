"""An app factory uvicorn can import for the reliability tests and the load benchmark:

    uvicorn --factory reliability_app:create --app-dir tests --host 127.0.0.1 --port 8123

It serves the test-double suggester (``service_fakes.KeywordSuggester``, starts in ~2 s) with a two-version
registry (kw-1 active, kw-2 activatable) over the database in ``CODESUGGEST_DATABASE_URL`` (default: SQLite in
``CODESUGGEST_DATA_DIR``). ``CODESUGGEST_TEST_SUGGEST_DELAY`` (seconds) makes each suggestion take that long, so
a test can keep requests in flight.

``CODESUGGEST_TEST_REAL_MODEL=1`` serves the real default model instead
(``codesuggest.models.registry.load_active_or_default``, as ``codesuggest serve`` does).
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

    def suggest(self, text, setting=None, top_k=30):
        if self.delay:
            time.sleep(self.delay)
        return super().suggest(text, setting, top_k)


def make_registry(delay: float = 0.0) -> FakeRegistry:
    return FakeRegistry(
        SlowKeywordSuggester("kw-1", delay=delay), SlowKeywordSuggester("kw-2", confidence_shift=0.05, delay=delay)
    )


def cached_catalog():
    """The real catalogue, pickled once into ``CODESUGGEST_TEST_CATALOG_CACHE`` when that is set: a restarted
    server then starts in about a second instead of parsing the code sets again."""
    import pickle

    cache = os.environ.get("CODESUGGEST_TEST_CATALOG_CACHE")
    if not cache:
        return real_catalog()
    path = Path(cache)
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    catalog = real_catalog()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(catalog, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return catalog


def create() -> FastAPI:
    settings = Settings()
    if os.environ.get("CODESUGGEST_TEST_REAL_MODEL") == "1":
        from codesuggest.models.registry import load_active_or_default, open_registry

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
CATALOG_CACHE = Path(os.environ.get("CODESUGGEST_TEST_CATALOG_CACHE") or Path(tempfile.gettempdir()) / "codesuggest-test-catalog.pickle")
HOST = "127.0.0.1"  # the reliability tests and the load benchmark never listen beyond loopback


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``uvicorn --factory reliability_app:create`` on 127.0.0.1, output to ``log_path``."""

    def __init__(self, data_dir: Path, database_url: str, log_path: Path, *, delay: float = 0.0,
                 real_model: bool = False, port: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "CODESUGGEST_DATA_DIR": str(data_dir),
               "CODESUGGEST_TEST_CATALOG_CACHE": str(CATALOG_CACHE), "CODESUGGEST_DATABASE_URL": database_url,
               "CODESUGGEST_TEST_SUGGEST_DELAY": str(delay), "CODESUGGEST_TEST_REAL_MODEL": "1" if real_model else "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))}
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
def running_server(data_dir: Path, database_url: str, log_path: Path | None = None, **kw):
    server = Server(data_dir, database_url, log_path or data_dir / "server.log", **kw)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
