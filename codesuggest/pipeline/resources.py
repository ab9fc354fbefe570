"""Built resources cached on disk, keyed by the code-set versions they were built from.

Building the term index takes seconds and the approximate-search index
minutes; both are built once per code-set version under the cache directory
and loaded (once per process) from there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from .. import disk_cache
from ..codesets import CodeCatalog
from .terminology import TermIndex

log = logging.getLogger(__name__)
TERM_INDEX_FORMAT = 19


# the curated wordings the term index is built from: editing one must not reuse an index built before
INDEX_RESOURCES = ("synonyms.tsv", "code_aliases.tsv", "abbreviations.tsv", "not_terms.tsv")


def versions_key(versions: dict[str, str]) -> str:
    """The cache key of the indexes: code-set versions, index format and the curated resources."""
    blob = json.dumps({"v": versions, "format": TERM_INDEX_FORMAT, "resources": resources_digest()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def resources_digest() -> str:
    digest = hashlib.sha256()
    for name in INDEX_RESOURCES:
        digest.update(name.encode())
        digest.update(files(__package__).joinpath(f"resources/{name}").read_bytes())
    return digest.hexdigest()[:16]


def term_index_path(cache_dir: Path, versions: dict[str, str]) -> Path:
    return Path(cache_dir) / f"terms-{versions_key(versions)}.pickle"


def ensure_term_index(catalog: CodeCatalog, cache_dir: Path, progress: bool = True) -> Path:
    """Path of the term index for this catalogue's versions, building it if missing."""
    path = term_index_path(cache_dir, catalog.versions)
    if not path.exists():
        log.info("building the term index for %s", catalog.versions)
        index = TermIndex.build(catalog, progress=progress)
        disk_cache.dump(index, path)
    return path


@lru_cache(maxsize=4)
def load_term_index(path: str) -> TermIndex:
    """The cached term index (once per process)."""
    return disk_cache.load(path)


def ensure_ann_index(index_path: Path, progress: bool = True) -> Path:
    """The approximate-search index beside a term index (``ann-<same key>/``), built if missing."""
    from .linker import build_ann_index

    from scispacy.candidate_generation import LinkerPaths

    index_path = Path(index_path)
    ann_dir = index_path.with_name(index_path.stem.replace("terms-", "ann-"))
    if not (ann_dir.is_dir() and LinkerPaths.from_directory(ann_dir).is_locally_cached()):
        log.info("building the approximate-search index in %s", ann_dir)
        build_ann_index(load_term_index(str(index_path)), ann_dir, progress=progress)
    return ann_dir
