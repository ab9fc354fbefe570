"""The principal (inpatient, Section II) or first-listed (outpatient, Section IV.A) diagnosis."""

from __future__ import annotations

import re

from .encounters import ENCOUNTER_CODES
from .engine import CM, CodeLine, NoteCoding

# Where a note states why the patient came: the sections a coder reads the principal diagnosis from,
# best first.
REASON_SECTIONS: tuple[str, ...] = (
    "discharge_diagnoses", "postoperative_diagnosis", "preoperative_diagnosis", "assessment_plan", "assessment",
    "impression", "chief_complaint", "indications", "history_present_illness",
)
SEPSIS = ("A40", "A41", "A02.1", "A22.7", "A26.7", "A32.7", "A42.7", "A54.86", "B37.7")
NEVER_FIRST = (
    "R65.1", "R65.2",  # SIRS, severe sepsis: sequenced after the underlying infection (I.C.1.d.4, I.C.18.g)
    "V", "W", "X", "Y",  # external causes: never first-listed (I.C.20)
    "Z68", "Z79", "Z87", "Z86", "Z85", "Z95", "Z96", "Z98", "Z99", "Z91", "Z92", "Z80", "Z81", "Z82", "Z83", "Z84",
)


def principal_diagnosis(note: NoteCoding) -> None:
    """Mark one diagnosis as principal / first-listed (listed first once the rules have run).

    Sepsis present with its localized infection comes first (I.C.1.d.4). Otherwise the first
    current diagnosis stated in the sections that give the reason for the encounter (discharge
    diagnoses, assessment, chief complaint, ...), first by section then by position, then the most
    confident current diagnosis. Codes with a "code first" note (manifestations, I.A.13) and
    external causes are never first.
    """
    eligible = [line for line in note.lines if line.system == CM and note.is_current(line) and _may_lead(note, line)]
    if not eligible and not any(line.code.startswith(ENCOUNTER_CODES) for line in note.lines):
        return
    encounter = [line for line in note.lines if line.system == CM and line.code.startswith(ENCOUNTER_CODES)]
    sepsis = [line for line in eligible if line.code.startswith(SEPSIS)]
    poisoning = [line for line in eligible if POISONING.match(line.code)]
    if encounter:
        choice, why = encounter[0], "the reason for the encounter (I.C.21.c)"
    elif poisoning:
        choice, why = poisoning[0], "a poisoning is sequenced before its manifestations (I.C.19.e.5.b)"
    elif sepsis:
        choice, why = sepsis[0], "sepsis is sequenced before its localized infection (I.C.1.d.4)"
    else:
        choice, why = _reason_for_encounter(note, eligible)
        choice, why = _combination_first(note, choice, why)
    choice.principal = True
    label = "principal diagnosis" if note.setting == "inpatient" else "first-listed diagnosis"
    section = "II" if note.setting == "inpatient" else "IV.A"
    note.explain(choice, f"{label}: {why} ({section})")


ADVERSE_EFFECT = re.compile(r"T(?:3[6-9]|4\d|50)\.\w\w5")  # listed after the effect (I.C.19.e.5.a)
POISONING = re.compile(r"T(?:3[6-9]|4\d|50)\.\w\w[1-4]")  # listed before its manifestations (I.C.19.e.5.b)


def _may_lead(note: NoteCoding, line: CodeLine) -> bool:
    """Not a code sequenced after others: external causes and status codes (:data:`NEVER_FIRST`),
    and manifestations whose code, or whose subcategory or category, says "code first the underlying
    condition" (I.A.13: F02.-, G63, H36, ...); a category's list of other conditions to code first
    (I50: "heart failure due to hypertension (I11.0)", ...) does not stop its codes leading."""
    if line.code.startswith(NEVER_FIRST) or ADVERSE_EFFECT.match(line.code):
        return False
    if note.catalog is None:
        return True
    for prefix in dict.fromkeys((line.code, line.code[:6], line.code[:5], line.code[:3])):
        record = note.catalog.get(line.system, prefix)
        first = " ".join(getattr(record, "code_first", None) or ())
        if first and (prefix == line.code or re.match(r"\W*(?:the )?underlying (?:physiological )?(?:condition|disease)", first)):
            return False
    return True


def _reason_for_encounter(note: NoteCoding, eligible: list[CodeLine]) -> tuple[CodeLine, str]:
    best: tuple[int, int, float] | None = None
    choice, section = None, ""
    for line in eligible:
        for mention in note.mentions(line):
            if mention.section in REASON_SECTIONS and note.mention_is_current(mention, line.code):
                rank = (REASON_SECTIONS.index(mention.section), mention.start, -line.confidence)
                if best is None or rank < best:
                    best, choice, section = rank, line, mention.section
    if choice is not None:
        return choice, f"the first condition stated under {section.replace('_', ' ')}"
    top = max(eligible, key=lambda line: line.confidence)
    return top, "the most confident current diagnosis (no section states the reason for the encounter)"


# a condition coded with a hypertensive combination code -> the combinations whose "use additional
# code" note asks for it: the combination is listed first (I.C.9.a.1-3)
USE_ADDITIONAL: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("I50",), ("I11.0", "I13.0", "I13.2")),
    (("N18",), ("I12", "I13")),
)


def _combination_first(note: NoteCoding, choice: CodeLine, why: str) -> tuple[CodeLine, str]:
    """Heart failure or CKD chosen first gives way to the hypertensive combination code that names
    it (I11.0, I12.-, I13.-): their "use additional code" notes put the combination first."""
    for conditions, combinations in USE_ADDITIONAL:
        if choice.code.startswith(conditions):
            combined = note.starting(combinations)
            if combined:
                return combined[0], f"{why}, coded by {combined[0].code} with the hypertension (I.C.9.a)"
    return choice, why

