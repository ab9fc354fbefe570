"""The reason for an outpatient encounter when it is not a disease: a general examination, a
screening, a follow-up after cancer treatment (I.C.21.c.5, I.C.21.c.8, I.C.21.c.13). These Z codes
are listed first (IV.A; the guidelines' first-listed Z codes)."""

from __future__ import annotations

import re

from .engine import CM, OUTPATIENT, NoteCoding
from .history import history_codes_for, patient_age

ABNORMAL_FINDINGS = re.compile(r"(?<!without )(?<!no )\babnormal (?:findings?|exam\w*|results?)\b|\bnew(?:ly)? diagnos\w*\b"
                               r"|\bnew diagnosis\b|\bnewly (?:found|detected)\b|(?<!no )(?<!without )\bnew (?:abnormal )?findings?\b")
GENERAL_EXAM = re.compile(
    r"\b(?:annual (?:physical|exam\w*|wellness|visit|check-?up)|wellness (?:visit|exam\w*)|preventive (?:visit|exam\w*|care)"
    r"|health maintenance|routine (?:physical|check-?up|exam\w*)|well adult|establishing care|complete physical"
    r"|well[- ](?:child|baby|visit|check)\w*|\d+[- ](?:month|year)[- ]well)\b"
)
# a routine gynecological examination (with or without a cervical smear: Z01.41-'s inclusion term)
GYNECOLOGICAL_EXAM = re.compile(r"\b(?:gyn(?:ecolog\w*)? (?:annual )?(?:exam\w*|visit)|well[- ]woman (?:exam\w*|visit)|"
                                r"annual (?:gyn\w*|pelvic) exam\w*|routine gyn\w* exam\w*)\b")
# a vaccine given at the encounter (I.C.21.c.2: Z23) and the diseases it protects from, which are not coded
VACCINE = re.compile(r"\b(?:vaccin\w*|immuniz\w*|flu shot|booster|tdap|dtap|mmr|pcv\d*|ppsv\d*|shingrix)\b")
GIVEN = re.compile(r"\b(?:given|administered|here for|received|due today)\b")
# given at an earlier visit: "Tdap given at the ED visit", "received in 2023", "last year"
GIVEN_BEFORE = re.compile(r"\b(?:at (?:the|her|his) (?:ed|er|emergency|previous|prior|last|initial) (?:visit|department|room)|"
                          r"(?:last|previous|prior) (?:visit|week|month|year)|in (?:19|20)\d\d|\d+ (?:days?|weeks?|months?|years?) ago)\b")
PREVENTED = ("J09", "J10", "J11", "B15", "B16", "B17", "B18", "B19", "A33", "A34", "A35", "A36", "A37", "B01", "B02", "B05",
             "B06", "B26", "U07.1", "J13", "Z23")
SCREENING = re.compile(r"\bscreen(?:ing)?\b")
# site words -> (screening code, prefixes of the conditions screened for)
SCREENING_SITES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"\b(?:colon|colorectal|colonoscopy|cologuard|fit test)\b"), "Z12.11", ("C18", "C19", "C20", "D12")),
    (re.compile(r"\b(?:prostate|psa)\b"), "Z12.5", ("C61",)),
    (re.compile(r"\b(?:mammogra\w*|breast)\b"), "Z12.31", ("C50",)),
    (re.compile(r"\b(?:cervical|cervix|pap)\b"), "Z12.4", ("C53",)),
    (re.compile(r"\b(?:lung|ldct|low-dose ct)\b"), "Z12.2", ("C34",)),
)
# a test the note says is diagnostic (signs or symptoms: I.C.21.c.5 "a screening code is not necessary if the
# screening is inherent to a routine examination"; a test for symptoms is coded by the symptoms)
DIAGNOSTIC_NOT_SCREENING = re.compile(r"\bdiagnostic (?:exam\w*|colonoscopy|study|test|procedure|mammogra\w*)\b|\bnot (?:a )?screening\b")
SURVEILLANCE = re.compile(r"\b(?:surveillance|post-?treatment follow-?up)\b")
# a visit after the completed treatment of a condition that no longer exists (I.C.21.c.8: Z09 with its history code)
FOLLOW_UP_VISIT = re.compile(r"\b(?:follow[- ]?up|f/u|recheck|re-check|seen \w+ (?:days?|wks?|weeks?) ago)\b")
TREATMENT_COMPLETED = re.compile(r"\b(?:completed|finished)\b(?: \w+){0,3} (?:course|treatment|therapy|antibiotics?)\b")
# where a note states why the patient came to an office visit (sequencing has its own, wider list)
VISIT_REASON_SECTIONS = ("chief_complaint", "indications", "history_present_illness", "subjective", "unknown")
ENCOUNTER_CODES = ("Z00.0", "Z12", "Z08")
CONFIDENCE = 0.7  # a stated reason for the visit in the note's own words; not a ranker's figure
GENERAL_EXAMS = ("Z00.00", "Z00.01", "Z00.121", "Z00.129")
WELL_CHILD = re.compile(r"\bwell[- ]?(?:child|baby|infant)\b")  # a child's exam when the note gives no age in our forms


def encounter_reason(note: NoteCoding) -> None:
    """Outpatient only. A general examination is Z00.00 (I.C.21.c.13); an encounter for cancer
    screening is Z12.- by site, and the cancer screened for is not coded (I.C.21.c.5); surveillance
    after completed cancer treatment is Z08 with the history code (I.C.21.c.8)."""
    if note.setting != OUTPATIENT:
        return
    reason = _reason_text(note)
    if GYNECOLOGICAL_EXAM.search(note.lower):
        abnormal = ABNORMAL_FINDINGS.search(note.lower) is not None
        added = note.add("Z01.411" if abnormal else "Z01.419", "the encounter is a routine gynecological examination "
                         "(I.C.21.c.13)", confidence=CONFIDENCE)
        for line in note.starting(("Z00.0",), current=False):
            note.absorb(line, added, f"{added.code} is the examination, by its kind (I.C.21.c.13)")
    elif GENERAL_EXAM.search(reason):
        age = patient_age(note)
        child = age < 18 if age is not None else WELL_CHILD.search(note.lower) is not None
        if ABNORMAL_FINDINGS.search(note.lower):
            added = note.add("Z00.121" if child else "Z00.01", "a general examination with abnormal findings, coded "
                             "beside them (I.C.21.c.13)", confidence=CONFIDENCE)
        else:
            added = note.add("Z00.129" if child else "Z00.00", "the encounter is a general examination (I.C.21.c.13)",
                             confidence=CONFIDENCE)
        for line in note.starting(GENERAL_EXAMS, current=False):
            if line is not added:
                note.absorb(line, added, f"{added.code} is the examination, by the patient's age and its findings (I.C.21.c.13)")
    if SURVEILLANCE.search(reason) and note.starting(("Z85",), current=False):
        note.add("Z08", "follow-up after completed cancer treatment, with the history code (I.C.21.c.8)", confidence=CONFIDENCE)
        return
    _follow_up_after_treatment(note)
    if DIAGNOSTIC_NOT_SCREENING.search(reason):  # "referred as a 'screening colonoscopy'; however ... a diagnostic exam"
        for line in note.starting(("Z12",), current=False):
            note.withdraw(line, "the note says the test is diagnostic, not a screening: the findings are coded (I.C.21.c.5)")
        return
    for sentence in _sentences_with(reason, SCREENING):
        for site, code, screened in SCREENING_SITES:
            if site.search(sentence):
                added = note.add(code, "the encounter is a screening: code the screening, not the condition screened "
                                       "for (I.C.21.c.5)", confidence=CONFIDENCE)
                for line in note.starting(screened, current=False):
                    if all(SCREENING.search(note.lower[m.sentence_start:m.sentence_end]) for m in note.mentions(line)):
                        note.absorb(line, added, "it is what the screening looks for, not a diagnosis (I.C.21.c.5)")
                for line in note.starting(("Z13.9",), current=False):
                    note.absorb(line, added, f"{code} is the screening, by its site (I.C.21.c.5)")


def _follow_up_after_treatment(note: NoteCoding) -> None:
    """A follow-up visit after the completed treatment of a condition the note says resolved, with no current
    condition coded: Z09 and the condition's history code (I.C.21.c.8: "Cellulitis L lower leg - resolved after
    completed antibiotic course" is Z09 and Z87.2)."""
    if not FOLLOW_UP_VISIT.search(note.lower) or any(not line.code.startswith("Z") for line in note.starting("")):
        return
    for mention in note.analysis.mentions:
        top = mention.candidates[0] if mention.candidates else None
        sentence = note.lower[mention.sentence_start:mention.sentence_end]
        if (top is None or top.system != CM or mention.assertion.negated or not getattr(mention.assertion, "resolved", False)
                or not TREATMENT_COMPLETED.search(sentence)):
            continue
        codes = history_codes_for(top.code)
        if codes is None or not codes[0] or not note.billable(codes[0]):
            continue
        note.add("Z09", "follow-up after completed treatment of a condition that no longer exists (I.C.21.c.8)",
                 confidence=CONFIDENCE)
        note.add(codes[0], f"{codes[2]} is past history, treated and resolved (I.C.21.c.4, I.C.21.c.8)", confidence=CONFIDENCE)
        return


# aftercare codes for what an injury code's 7th character D says: suture removal, dressing change, fracture aftercare
AFTERCARE = ("Z48.0", "Z47.89", "Z09")
INJURIES = ("S", "T0", "T1")  # S00-T19: injuries by body region


def aftercare_of_an_injury(note: NoteCoding) -> None:
    """No aftercare Z code for the care of a healing injury: the injury's code with 7th character D is the
    subsequent encounter (I.C.21.c.7: "aftercare codes should not be used for aftercare for injuries";
    I.C.19.a). The suture removal of a laceration is S51.812D, not Z48.02."""
    injuries = [line for line in note.starting(INJURIES) if line.code[-1:] == "D"]
    for line in note.starting(AFTERCARE, current=False) if injuries else ():
        note.absorb(line, injuries[0], f"the healing injury's subsequent encounter ({injuries[0].code}) is the aftercare (I.C.21.c.7)")


def immunization(note: NoteCoding) -> None:
    """A vaccine given at the encounter is Z23 (I.C.21.c.2), listed first when it is why the patient came
    (a nurse visit for the flu shot), else after the other codes; the disease it protects from ("influenza
    vaccine") is not coded."""
    sentences = [s for s in _sentences_with(note.lower, VACCINE)
                 if GIVEN.search(s) and not re.search(r"\bup to date\b", s) and not GIVEN_BEFORE.search(s)]
    if not sentences:
        return
    reason = any(VACCINE.search(s) for s in _sentences_with(_reason_text(note), GIVEN))
    added = note.add("Z23", "a vaccine was given at this encounter (I.C.21.c.2)", confidence=CONFIDENCE if reason else 0.4)
    for line in note.starting(PREVENTED, current=False):
        mentions = note.mentions(line)
        if line is not added and mentions and all(VACCINE.search(note.lower, m.sentence_start, m.sentence_end) for m in mentions):
            note.absorb(line, added, "the vaccine's disease, not a diagnosis (I.C.21.c.2)")


def _reason_text(note: NoteCoding) -> str:
    """The note's first two lines and its reason-for-visit sections, lower-cased."""
    head = "\n".join(note.lower.splitlines()[:2])
    parts = [note.lower[start:end] for category, start, end in note.analysis.sections if category in VISIT_REASON_SECTIONS]
    return "\n".join([head, *parts]) if parts else note.lower[:600] if not note.analysis.sections else head


def _sentences_with(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [s for s in re.split(r"(?<=[.;\n])\s*", text) if pattern.search(s)]
