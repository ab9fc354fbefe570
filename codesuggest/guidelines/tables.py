"""The rule tables the coding layer reads (``resources/``): data a coder can review, not code."""

from __future__ import annotations

import csv
from pathlib import Path

RESOURCES = Path(__file__).with_name("resources")


def _rows(name: str) -> list[list[str]]:
    with (RESOURCES / name).open(encoding="utf-8") as f:
        return [row for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")]


def _chronic_prefixes() -> tuple[str, ...]:
    return tuple(row[0] for row in _rows("chronic.tsv"))


def _integral_symptoms() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Symptom code prefix -> (what it is, prefixes of the diagnoses it is integral to)."""
    return {row[0]: (row[1], tuple(p.strip() for p in row[2].split(",") if p.strip())) for row in _rows("integral_symptoms.tsv")}


CHRONIC_PREFIXES: tuple[str, ...] = _chronic_prefixes()
INTEGRAL_SYMPTOMS: dict[str, tuple[str, tuple[str, ...]]] = _integral_symptoms()
