"""The body mass index of an adult with a weight diagnosis (I.B.14, I.C.21.c.3: Z68.-)."""

from __future__ import annotations

import re

from .engine import NoteCoding
from .history import patient_age

# the diagnoses a BMI code goes with: obesity, overweight, underweight, malnutrition (I.B.14)
WEIGHT_DIAGNOSES = ("E66", "R63.6", "E40", "E41", "E42", "E43", "E44", "E45", "E46")
BMI_VALUE = re.compile(r"\b(?:bmi|body mass index)\s*(?:of|is|was|=|:)?\s*(\d{2}(?:\.\d+)?)\b")


def bmi_code(value: float) -> str:
    """The adult BMI code of a value (Z68.1 below 20, Z68.20-Z68.39 by whole unit, Z68.41-Z68.45 above)."""
    if value < 20:
        return "Z68.1"
    if value < 40:
        return f"Z68.{int(value)}"
    for upper, code in ((45, "Z68.41"), (50, "Z68.42"), (60, "Z68.43"), (70, "Z68.44")):
        if value < upper:
            return code
    return "Z68.45"


def body_mass_index(note: NoteCoding) -> None:
    """An adult's BMI from the note ("BMI 32.4") is coded beside the weight diagnosis the provider
    documents (obesity, overweight, underweight, malnutrition): BMI codes are secondary codes that
    need such a diagnosis (I.B.14); the value may come from any clinician. Not for patients under 20
    (their Z68.5- percentile codes need a percentile the note rarely gives)."""
    weight = note.documented(WEIGHT_DIAGNOSES)
    if not weight:
        return
    found = BMI_VALUE.search(note.lower)
    age = patient_age(note)
    if found is None or (age is not None and age < 20):
        return
    value = float(found.group(1))
    code = bmi_code(value)
    if not note.billable(code):
        return
    for line in note.starting(("Z68",), current=False):
        if line.code != code:
            note.withdraw(line, f"the note gives BMI {value:g}: {code} (I.B.14)")
    note.add(code, f"BMI {value:g} with {weight[0].code} {note.description(weight[0].code).lower()} (I.B.14)",
             confidence=weight[0].confidence, like=weight[:1])
