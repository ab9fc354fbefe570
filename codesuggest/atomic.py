"""Atomic output: write beside the target, then rename, so readers see the old or the new, whole.

One helper for every file or folder codesuggest writes for others to read (built indexes, the
model versions, the ``ACTIVE`` pointer, batch outputs). A crash leaves a hidden ``.tmp-*``
sibling that nothing reads; an error removes it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(path: Path) -> Path:
    """A fresh hidden name next to ``path`` (same file system, so a rename is atomic)."""
    return path.parent / f".tmp-{path.name}-{os.getpid()}-{secrets.token_hex(4)}"


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk, where the platform allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not supported on this platform / file system
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace(tmp: Path, target: Path) -> None:
    """Move ``tmp`` (file or folder) over ``target``. A folder cannot be replaced in one rename:
    the old one is renamed aside first, then removed."""
    if target.is_dir() and not target.is_symlink():
        old = temporary_sibling(target)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextmanager
def atomic_path(target: str | Path, *, directory: bool = False, overwrite: bool = True, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to write; on success it becomes ``target``.

    ``directory``: the temporary path is created as an empty folder (else the caller creates
    the file). ``overwrite=False``: fail (``OSError``) rather than replace a folder that exists
    by the time of the rename. ``durable``: fsync the written file or folder before the rename
    and the parent folder after it (what the caller wrote inside a folder it fsyncs itself).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target)
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        if durable:
            fsync_path(tmp)
        if overwrite:
            replace(tmp, target)
        else:
            os.rename(tmp, target)  # fails on a non-empty folder that appeared meanwhile
        if durable:
            fsync_path(target.parent)
    finally:
        _remove(tmp)
