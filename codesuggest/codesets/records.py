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


class CodeSystem(str, Enum):
    ICD10CM = "ICD10CM"
    ICD10PCS = "ICD10PCS"
    CPT = "CPT"

    @classmethod
    def parse(cls, value: str) -> "CodeSystem":
        """Accept the usual spellings: ``icd10cm``, ``ICD-10-CM``, ``pcs``, ``D``/``P`` (CodiEsp)."""
        key = re.sub(r"[^A-Z0-9]", "", str(value).upper())
        aliases = {
            "ICD10CM": cls.ICD10CM, "CM": cls.ICD10CM, "D": cls.ICD10CM, "DIAGNOSIS": cls.ICD10CM,
            "ICD10PCS": cls.ICD10PCS, "PCS": cls.ICD10PCS, "P": cls.ICD10PCS, "PROCEDURE": cls.ICD10PCS,
            "CPT": cls.CPT, "CPT4": cls.CPT,
        }
        if key not in aliases:
            raise ValueError(f"unknown code system {value!r} (expected ICD10CM, ICD10PCS or CPT)")
        return aliases[key]


class InvalidCode(ValueError):
    """A string that cannot be a code of the given system."""


_CM_RE = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z]{1,5}$")  # FY2026 has letters second too (QA0)
_PCS_RE = re.compile(r"^[0-9A-HJ-NP-Z]{1,7}$")  # PCS never uses the letters I and O
_CPT_RE = re.compile(r"^[0-9]{4}[0-9FTMU]$")


def normalize_code(system: CodeSystem | str, raw: str) -> str:
    """Return the canonical form of ``raw`` in ``system`` or raise :class:`InvalidCode`."""
    system = CodeSystem.parse(system) if not isinstance(system, CodeSystem) else system
    compact = re.sub(r"[\s.\-]", "", str(raw)).upper()
    if system is CodeSystem.ICD10CM:
        if not _CM_RE.match(compact):
            raise InvalidCode(f"{raw!r} is not an ICD-10-CM code")
        return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"
    if system is CodeSystem.ICD10PCS:
        if not _PCS_RE.match(compact):
            raise InvalidCode(f"{raw!r} is not an ICD-10-PCS code (up to 7 characters, no I or O)")
        return compact
    if not _CPT_RE.match(compact):
        raise InvalidCode(f"{raw!r} is not a CPT code (five characters)")
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
