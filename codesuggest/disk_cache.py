"""The disk cache of built resources: pickle files written atomically, read with the cyclic
collector paused.

Used for what is slow to build and cheap to read back (the term index, the ICD-10-CM records
of the packaged release), under the data directory's cache folder. Plain pickle, not joblib:
joblib unpickles with Python's pure-Python unpickler (7.6 s for the CM+PCS term index against
0.9 s with this).
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .atomic import atomic_path


def dump(obj: object, path: Path) -> None:
    """Pickle to a temporary file, then rename: a crash never leaves half a file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: str | Path) -> Any:
    with open(path, "rb") as f, paused_gc():
        return pickle.load(f)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large object graph is built: each of the many
    collections its allocations trigger walks everything built so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
