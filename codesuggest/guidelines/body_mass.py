"""The body mass index with a weight diagnosis (I.B.14, I.C.21.c.3: Z68.-): an adult's value, a child's percentile."""

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


PERCENTILE = re.compile(r"(<\s*)?\b(\d{1,2})(?:st|nd|rd|th)? (?:percentile|%ile)")
BMI_WORD = re.compile(r"\bbmi\b")
PERCENT_OF_95TH = re.compile(r"\b(120|140)\s?% of the 95th")


def pediatric_bmi_code(percentile: int, text: str) -> str:
    """The BMI percentile code of a patient aged 2-19 (Z68.51-Z68.56): under the 5th, 5th to under the
    85th, 85th to under the 95th; at the 95th and above by the share of the 95th the note gives
    ("120% of the 95th percentile or more": Z68.55, "140%": Z68.56), else Z68.54."""
    if percentile < 5:
        return "Z68.51"
    if percentile < 85:
        return "Z68.52"
    if percentile < 95:
        return "Z68.53"
    share = PERCENT_OF_95TH.search(text)
    if share is None or re.search(r"less than " + share.group(1), text):
        return "Z68.54"
    return "Z68.55" if share.group(1) == "120" else "Z68.56"


def _bmi_percentile(text: str) -> re.Match[str] | None:
    """The percentile the note gives the BMI ("BMI 13.6 = 3rd percentile"), before a height's or a weight's
    ("Ht 50th %ile"): the first one within 40 characters after "BMI", else the first one."""
    found = list(PERCENTILE.finditer(text))
    for match in found:
        if BMI_WORD.search(text, max(0, match.start() - 40), match.start()):
            return match
    return found[0] if found else None


def body_mass_index(note: NoteCoding) -> None:
    """An adult's BMI from the note ("BMI 32.4") is coded beside the weight diagnosis the provider
    documents (obesity, overweight, underweight, malnutrition): BMI codes are secondary codes that
    need such a diagnosis (I.B.14); the value may come from any clinician. A patient aged 2-19 takes
    the percentile code (Z68.5-) when the note gives the percentile, never an adult's value code."""
    weight = note.documented(WEIGHT_DIAGNOSES)
    if not weight:
        return
    found = BMI_VALUE.search(note.lower)
    age = patient_age(note)
    percentile = _bmi_percentile(note.lower)
    if age is not None and 2 <= age < 20 and percentile is not None:
        value = int(percentile.group(2)) - (1 if percentile.group(1) else 0)  # "<5th percentile": under the 5th
        code, said = pediatric_bmi_code(value, note.lower), f"BMI {percentile.group(0)}"
    elif found is not None and (age is None or age >= 20):
        code, said = bmi_code(float(found.group(1))), f"BMI {float(found.group(1)):g}"
    else:
        return
    if not note.billable(code):
        return
    for line in note.starting(("Z68",), current=False):
        if line.code != code:
            note.withdraw(line, f"the note gives {said}: {code} (I.B.14)")
    note.add(code, f"{said} with {weight[0].code} {note.description(weight[0].code).lower()} (I.B.14)",
             confidence=weight[0].confidence, like=weight[:1])
