"""The one code record shared by every code system, and code normalisation.

Codes are normalised once, at the edge (files, API input, datasets):
``e11.22``, ``E1122`` and ``E11.22`` are the same ICD-10-CM code and come out
as ``E11.22``; ICD-10-PCS codes come out as upper-case characters without
punctuation (a 4-character prefix stays a prefix: CodiEsp uses them); CPT
codes as five upper-case characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import systems
from .systems import CodeSystem

__all__ = ["Code", "CodeSystem", "InvalidCode", "normalize_code"]


class InvalidCode(ValueError):
    """A string that cannot be a code of the given system."""


_SEPARATORS_RE = re.compile(r"[\s.\-]")


def normalize_code(system: CodeSystem | str, raw: str) -> str:
    """Return the canonical form of ``raw`` in ``system`` or raise :class:`InvalidCode`.

    The form is the system's entry (:mod:`.systems`): its pattern, and a dot for ICD-10-CM."""
    system = CodeSystem.parse(system) if not isinstance(system, CodeSystem) else system
    code = _canonical(system, str(raw))
    if code is None:
        raise InvalidCode(f"{raw!r} is not {system.spec.pattern_label}")
    return code


@lru_cache(maxsize=2**14)
def _canonical(system: CodeSystem, raw: str) -> str | None:
    """The canonical form of ``raw``, or ``None``. Cached: a batch looks up the same few thousand
    codes note after note (the ranker's, the rules' probes), each several times."""
    spec = system.spec
    compact = _SEPARATORS_RE.sub("", raw).upper()
    if not spec.pattern.match(compact):
        return None
    return display_form(spec, compact)


def display_form(spec: systems.SystemSpec, compact: str) -> str:
    """A compact code (or prefix) as the system writes it (``E1122`` -> ``E11.22``)."""
    if spec.dot_after is not None and len(compact) > spec.dot_after:
        return f"{compact[:spec.dot_after]}.{compact[spec.dot_after:]}"
    return compact


systems.on_change(_canonical.cache_clear)


@dataclass(frozen=True, slots=True)
class Code:
    """One code of one system, with what a coder needs to know about it.

    ``aliases`` are other wordings of the same concept (ICD-10-CM inclusion
    terms, a CPT file's extra columns); the coding notes are those of the
    code itself, not inherited: :class:`~codesuggest.codesets.catalog.CodeCatalog`
    walks the ancestors when a rule needs them.
    """

    system: CodeSystem
    code: str
    description: str
    billable: bool = True
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    excludes1: tuple[str, ...] = ()
    excludes2: tuple[str, ...] = ()
    use_additional: tuple[str, ...] = ()
    code_first: tuple[str, ...] = ()
    code_also: tuple[str, ...] = ()
    seventh_characters: tuple[tuple[str, str], ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.system.value, self.code)
