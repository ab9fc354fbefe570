"""ICD-10-CM from the ``simple-icd-10-cm`` package (April 2026 tabular list).

Every category, subcategory and billable code becomes a :class:`Code`, with
its inclusion terms as aliases and its own coding notes; chapters and blocks
are left out (they are not codes).
"""

from __future__ import annotations

import hashlib
import logging
from importlib.metadata import version
from pathlib import Path

from .. import pickles
from . import records
from .records import Code, CodeSystem

log = logging.getLogger(__name__)
SOURCE = "simple-icd-10-cm"


def package_version_label() -> str:
    return f"ICD10CM-2026 ({SOURCE} {version(SOURCE)})"


def load_icd10cm(cache_dir: Path | None = None) -> list[Code]:
    """Every ICD-10-CM code of the packaged release.

    Importing ``simple_icd_10_cm`` parses its XML and walking it takes ~2.5 s; with ``cache_dir``
    the records are read back from a pickle (~0.3 s) built on first use, keyed by the package
    version and by this module's and ``records.py``'s source (a change to either rebuilds it).
    """
    if cache_dir is None:
        return _from_package()
    path = Path(cache_dir) / f"icd10cm-{_cache_key()}.pickle"
    if path.exists():
        try:
            return pickles.load(path)
        except Exception as exc:  # unreadable (another Python, a damaged disk): rebuild it
            log.warning("rebuilding %s (%s: %s)", path.name, type(exc).__name__, exc)
    codes = _from_package()
    try:
        pickles.atomic_dump(codes, path)
    except OSError as exc:  # a read-only cache folder costs the next start its 2.5 s, nothing else
        log.warning("could not cache ICD-10-CM in %s (%s)", path.parent, exc)
    return codes


def _cache_key() -> str:
    digest = hashlib.sha256(package_version_label().encode())
    for module in (__file__, records.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def _from_package() -> list[Code]:
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
    return codes


def _is_code(cm, item: str) -> bool:
    return cm.is_category(item) or not cm.is_chapter_or_block(item)


def _as_list(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)
