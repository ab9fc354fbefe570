"""ICD-10-CM from the ``simple-icd-10-cm`` package (April 2026 tabular list).

Every category, subcategory and billable code becomes a :class:`Code`, with
its inclusion terms as aliases and its own coding notes; chapters and blocks
are left out (they are not codes).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from .. import disk_cache
from . import records, systems
from .records import Code, CodeSystem

log = logging.getLogger(__name__)
SOURCE = "simple-icd-10-cm"


def package_version_label() -> str:
    return f"ICD10CM-2026 ({SOURCE} {version(SOURCE)})"


@dataclass(frozen=True)
class BlockNotes:
    """The coding notes of ICD-10-CM blocks and chapters, which are not codes (so not in the
    :class:`Code` records) but whose notes (Excludes1, "use additional code", ...) apply to every
    code below them."""

    above: dict[str, tuple[str, ...]] = field(default_factory=dict)  # category -> its blocks and chapter
    notes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)  # block/chapter -> kind -> notes

    def of(self, category: str, kind: str) -> tuple[tuple[str, str], ...]:
        """(block or chapter, note) for one kind of note (``excludes1``, ``use_additional``, ...)."""
        return tuple((item, note) for item in self.above.get(category, ()) for note in self.notes.get(item, {}).get(kind, ()))


NOTE_GETTERS = {
    "excludes1": "get_excludes1", "excludes2": "get_excludes2", "use_additional": "get_use_additional_code",
    "code_first": "get_code_first", "code_also": "get_code_also", "includes": "get_includes",
}


_loaded_order: list[str] | None = None  # the packaged release's codes, once this process has loaded them


def tabular_order() -> list[str]:
    """The packaged release's codes in tabular-list order (chapters and blocks left out): from the
    release this process loaded (cache or package), else from the package."""
    if _loaded_order is None:
        _remember_order(_from_package()[0])
    return _loaded_order


def _remember_order(codes: list[Code]) -> None:
    global _loaded_order
    _loaded_order = [c.code for c in codes]


def load_icd10cm(cache_dir: Path | None = None) -> tuple[list[Code], BlockNotes]:
    """Every ICD-10-CM code of the packaged release, and its block and chapter notes.

    Importing ``simple_icd_10_cm`` parses its XML, and walking it takes seconds; with ``cache_dir``
    the release is read back from a pickle built on first use (a fraction of that; service cold
    start in BENCHMARKS.md), keyed by the package version and by this module's, ``records.py``'s and ``systems.py``'s
    source (a change to any rebuilds it).
    """
    release = _cached(Path(cache_dir)) if cache_dir is not None else None
    if release is None:
        release = _from_package()
        if cache_dir is not None:
            _write_cache(release, Path(cache_dir))
    _remember_order(release[0])
    return release


def _cache_path(cache_dir: Path) -> Path:
    return cache_dir / f"icd10cm-{_cache_key()}.pickle"


def _cached(cache_dir: Path) -> tuple[list[Code], BlockNotes] | None:
    path = _cache_path(cache_dir)
    if not path.exists():
        return None
    try:
        return disk_cache.load(path)
    except Exception as exc:  # unreadable (another Python, a damaged disk): rebuild it
        log.warning("rebuilding %s (%s: %s)", path.name, type(exc).__name__, exc)
        return None


def _write_cache(release: tuple[list[Code], BlockNotes], cache_dir: Path) -> None:
    path = _cache_path(cache_dir)
    try:
        disk_cache.dump(release, path)
    except OSError as exc:  # a read-only cache folder costs the next start the parse, nothing else
        log.warning("could not cache ICD-10-CM in %s (%s)", path.parent, exc)


def _cache_key() -> str:
    digest = hashlib.sha256(package_version_label().encode())
    for module in (__file__, records.__file__, systems.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def _from_package() -> tuple[list[Code], BlockNotes]:
    import simple_icd_10_cm as cm

    codes = []
    seen: set[str] = set()
    for item in cm.get_all_codes(True):
        # a block with a single category shares its name (B20, C50, T14): keep the category
        if item in seen or not _is_code(cm, item):
            continue
        seen.add(item)
        parent = cm.get_parent(item)
        if parent == item:  # the category's own same-named block
            parent = None
        seventh = cm.get_seven_chr_def(item)
        codes.append(
            Code(
                system=CodeSystem.ICD10CM,
                code=item,
                description=cm.get_description(item),
                billable=cm.is_leaf(item),
                parent=parent if parent and _is_code(cm, parent) else None,
                aliases=tuple(cm.get_inclusion_term(item)),
                includes=tuple(cm.get_includes(item)),
                excludes1=tuple(cm.get_excludes1(item)),
                excludes2=tuple(cm.get_excludes2(item)),
                use_additional=tuple(_as_list(cm.get_use_additional_code(item))),
                code_first=tuple(_as_list(cm.get_code_first(item))),
                code_also=tuple(_as_list(cm.get_code_also(item))),
                seventh_characters=tuple(sorted(seventh.items())) if seventh else (),
            )
        )
    return codes, _block_notes(cm, [c.code for c in codes if c.parent is None])


def _block_notes(cm, categories: list[str]) -> BlockNotes:
    above: dict[str, tuple[str, ...]] = {}
    notes: dict[str, dict[str, tuple[str, ...]]] = {}
    for category in categories:
        items = tuple(item for item in cm.get_ancestors(category) if cm.is_chapter_or_block(item))
        above[category] = items
        for item in items:
            if item in notes:
                continue
            notes[item] = {}
            for kind, getter in NOTE_GETTERS.items():
                value = getattr(cm, getter)(item, prioritize_blocks=True)  # the block B20, not the category B20
                found = tuple(n for n in ([value] if isinstance(value, str) else list(value or [])) if n)
                if found:
                    notes[item][kind] = found
    return BlockNotes(above, notes)


def _is_code(cm, item: str) -> bool:
    return cm.is_category(item) or not cm.is_chapter_or_block(item)


def _as_list(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)
