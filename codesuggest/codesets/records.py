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
from enum import Enum
from functools import lru_cache


class CodeSystem(str, Enum):
    ICD10CM = "ICD10CM"
    ICD10PCS = "ICD10PCS"
    CPT = "CPT"

    @classmethod
    def parse(cls, value: str) -> "CodeSystem":
        """Accept the usual spellings: ``icd10cm``, ``ICD-10-CM``, ``pcs``, ``D``/``P`` (CodiEsp)."""
        system = _system_named(str(value))
        if system is None:
            raise ValueError(f"unknown code system {value!r} (expected ICD10CM, ICD10PCS or CPT)")
        return system


_SYSTEM_ALIASES = {
    **dict.fromkeys(("ICD10CM", "CM", "D", "DIAGNOSIS"), CodeSystem.ICD10CM),
    **dict.fromkeys(("ICD10PCS", "PCS", "P", "PROCEDURE"), CodeSystem.ICD10PCS),
    **dict.fromkeys(("CPT", "CPT4"), CodeSystem.CPT),
}


@lru_cache(maxsize=256)
def _system_named(name: str) -> CodeSystem | None:
    """The system ``name`` spells, or ``None``. Cached: every code look-up by a system's name
    (``catalog.get("ICD10CM", ...)``) parses the name."""
    return _SYSTEM_ALIASES.get(re.sub(r"[^A-Z0-9]", "", name.upper()))


class InvalidCode(ValueError):
    """A string that cannot be a code of the given system."""


_CM_RE = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z]{1,5}$")  # FY2026 has letters second too (QA0)
_PCS_RE = re.compile(r"^[0-9A-HJ-NP-Z]{1,7}$")  # PCS never uses the letters I and O
_CPT_RE = re.compile(r"^[0-9]{4}[0-9FTMU]$")
_SEPARATORS_RE = re.compile(r"[\s.\-]")
_FORMS = {  # system -> (the pattern of its compact codes, what is not a code when it does not match)
    CodeSystem.ICD10CM: (_CM_RE, "an ICD-10-CM code"),
    CodeSystem.ICD10PCS: (_PCS_RE, "an ICD-10-PCS code (up to 7 characters, no I or O)"),
    CodeSystem.CPT: (_CPT_RE, "a CPT code (five characters)"),
}


def normalize_code(system: CodeSystem | str, raw: str) -> str:
    """Return the canonical form of ``raw`` in ``system`` or raise :class:`InvalidCode`."""
    system = CodeSystem.parse(system) if not isinstance(system, CodeSystem) else system
    code = _canonical(system, str(raw))
    if code is None:
        raise InvalidCode(f"{raw!r} is not {_FORMS[system][1]}")
    return code


@lru_cache(maxsize=2**14)
def _canonical(system: CodeSystem, raw: str) -> str | None:
    """The canonical form of ``raw``, or ``None``. Cached: a batch looks up the same few thousand
    codes note after note (the ranker's, the rules' probes), each several times."""
    compact = _SEPARATORS_RE.sub("", raw).upper()
    if not _FORMS[system][0].match(compact):
        return None
    if system is CodeSystem.ICD10CM and len(compact) > 3:
        return f"{compact[:3]}.{compact[3:]}"
    return compact


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
