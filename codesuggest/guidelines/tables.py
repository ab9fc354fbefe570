"""The rule tables the coding layer reads (``resources/``): data a coder can review, not code."""

from __future__ import annotations

import csv
import re
from pathlib import Path

RESOURCES = Path(__file__).with_name("resources")


def _rows(name: str) -> list[list[str]]:
    with (RESOURCES / name).open(encoding="utf-8") as f:
        return [row for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")]


def _chronic_prefixes() -> tuple[str, ...]:
    return tuple(row[0] for row in _rows("chronic.tsv"))


def _integral_symptoms() -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Symptom code prefix -> (what it is, prefixes of the diagnoses it is integral to, the section
    that says so: I.B.5 unless the row's fourth column names another). A prefix given twice is an error:
    the second row would silently replace the first; so is a row under an earlier row's prefix (G47.00
    after G47.0), which the first-match lookup never reaches."""
    table: dict[str, tuple[str, tuple[str, ...], str]] = {}
    for row in _rows("integral_symptoms.tsv"):
        if row[0] in table:
            raise ValueError(f"integral_symptoms.tsv: {row[0]} has two rows; add the diagnoses to the first")
        broader = next((prefix for prefix in table if row[0].startswith(prefix)), None)
        if broader is not None:
            raise ValueError(f"integral_symptoms.tsv: {row[0]} comes after {broader}, whose row it never reaches; "
                             "add the diagnoses to that row")
        table[row[0]] = (row[1], tuple(p.strip() for p in row[2].split(",") if p.strip()),
                         row[3].strip() if len(row) > 3 else "I.B.5")
    return table


CHRONIC_PREFIXES: tuple[str, ...] = _chronic_prefixes()
INTEGRAL_SYMPTOMS: dict[str, tuple[str, tuple[str, ...], str]] = _integral_symptoms()


def _history_codes() -> tuple[tuple[str, str, str, str], ...]:
    """(condition prefix, personal history code, family history code, what), longest prefix first."""
    rows = [(row[0], row[1].strip(), row[2].strip(), row[3]) for row in _rows("history_codes.tsv")]
    return tuple(sorted(rows, key=lambda row: -len(row[0])))


def _status_codes() -> tuple[tuple[str, str, re.Pattern[str], str], ...]:
    """(code, 'device' | 'procedure', pattern, what), in the file's order."""
    return tuple((row[0], row[1], re.compile(row[2]), row[3]) for row in _rows("status_codes.tsv"))


def _drugs() -> dict[str, tuple[str, str]]:
    """Drug name (lower case) -> (Z79 code, class)."""
    return {row[0]: (row[1], row[2]) for row in _rows("drugs.tsv")}


def _adverse_effects() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(drug name pattern, T code without its 7th character, class)."""
    return tuple((re.compile(rf"\b(?:{row[0]})\b"), row[1], row[2]) for row in _rows("adverse_effects.tsv"))


def _allergy_codes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(Z88 / Z91.0 status code, agent pattern, what), in the file's order."""
    return tuple((row[0], re.compile(row[1]), row[2]) for row in _rows("allergy_codes.tsv"))


def _external_causes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(code without its 7th character, pattern, what), most specific first."""
    return tuple((row[0], re.compile(row[1]), row[2]) for row in _rows("external_causes.tsv"))


def _activities() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(Y93 activity code, pattern, what), in the file's order."""
    return tuple((row[0], re.compile(row[1]), row[2]) for row in _rows("activities.tsv"))


HISTORY_CODES: tuple[tuple[str, str, str, str], ...] = _history_codes()
STATUS_CODES: tuple[tuple[str, str, re.Pattern[str], str], ...] = _status_codes()
# any status phrase at all: one search before the per-code patterns (most notes have none)
ANY_STATUS: re.Pattern[str] = re.compile("|".join(f"(?:{pattern.pattern})" for _, _, pattern, _ in STATUS_CODES))
DRUGS: dict[str, tuple[str, str]] = _drugs()
EXTERNAL_CAUSES: tuple[tuple[str, re.Pattern[str], str], ...] = _external_causes()
ACTIVITIES: tuple[tuple[str, re.Pattern[str], str], ...] = _activities()
ADVERSE_EFFECTS: tuple[tuple[re.Pattern[str], str, str], ...] = _adverse_effects()
ALLERGY_CODES: tuple[tuple[str, re.Pattern[str], str], ...] = _allergy_codes()
