"""Combination codes and the "with" presumption (ICD-10-CM Official Guidelines I.A.15, I.B.9).

Where the classification links two conditions with "with", a coder assigns the one code that
names both (or the pair the classification asks for), not each condition on its own.
"""

from __future__ import annotations

import re

from .engine import CodeLine, NoteCoding

HYPERTENSION = ("I10",)
HYPERTENSIVE = ("I11", "I12", "I13")
HEART_FAILURE = ("I50",)
HEART_DISEASE = ("I51.4", "I51.5", "I51.7", "I51.89", "I51.9")  # "with" hypertension, I.C.9.a.1
CKD = ("N18",)
CKD_5 = ("N18.5", "N18.6")
UNRELATED = re.compile(r"\b(?:unrelated|not related|not due to|not caused by)\b")


def _conf(*lines: CodeLine) -> float:
    """A combination is as sure as its least sure part."""
    return min(line.confidence for line in lines)


def hypertension(note: NoteCoding) -> None:
    """Hypertension with heart disease (I11), with chronic kidney disease (I12), with both (I13):
    the link is presumed unless the note says the conditions are unrelated (I.C.9.a.1-3). The heart
    failure type (I50.-) and the CKD stage (N18.-) are coded as well."""
    htn = note.starting(HYPERTENSION) + note.starting(HYPERTENSIVE)
    if not htn:
        return
    hf = note.starting(HEART_FAILURE)
    heart = hf or note.starting(HEART_DISEASE)
    ckd = [line for line in note.starting(CKD) if not note.says(UNRELATED, line)]
    heart = [line for line in heart if not note.says(UNRELATED, line)]
    if not heart and not ckd:
        return
    stage5 = any(line.code.startswith(CKD_5) for line in ckd)
    if heart and ckd:
        code = ("I13.2" if stage5 else "I13.0") if hf else ("I13.11" if stage5 else "I13.10")
        why, section, parts = "hypertension with heart disease and chronic kidney disease are presumed linked", "I.C.9.a.3", heart[:1] + ckd[:1]
    elif heart:
        code = "I11.0" if hf else "I11.9"
        why, section, parts = "hypertension with heart disease is presumed linked", "I.C.9.a.1", heart[:1]
    else:
        code = "I12.0" if stage5 else "I12.9"
        why, section, parts = "hypertension with chronic kidney disease is presumed linked", "I.C.9.a.2", ckd[:1]
    parts_text = " and ".join(f"{p.code}" for p in parts)
    message = f"{why} ({section}); {parts_text} {'stay' if len(parts) > 1 else 'stays'} coded for the type and stage"
    best = max(htn, key=lambda line: line.confidence)
    target = note.replace(best, code, message, confidence=_conf(best, *parts))
    for line in note.starting(HYPERTENSION + HYPERTENSIVE, current=False):
        if line is not target:
            note.withdraw(line, f"{code} codes the hypertension ({section})", because_of=target)


DIABETES = ("E08", "E09", "E10", "E11", "E13")
# complication code prefix -> (diabetes code suffix, whether the complication stays coded, what it is)
DIABETES_WITH: tuple[tuple[tuple[str, ...], str, bool, str], ...] = (
    (("N18",), ".22", True, "chronic kidney disease"),
    (("N08", "N05", "N04", "N03", "N02.8"), ".21", False, "nephropathy"),
    (("G62.9", "G60.9", "G62.8", "G61.9"), ".42", False, "polyneuropathy"),
    (("G58.9", "G56", "G57", "G90.0"), ".40", False, "neuropathy"),
    (("K31.84",), ".43", True, "gastroparesis"),
    (("H35.00", "H35.09", "H36"), ".319", False, "retinopathy"),
    (("H26.9", "H25.9", "H28"), ".36", False, "cataract"),
    (("I73.9", "I70.2"), ".51", False, "peripheral angiopathy"),
    (("L97.4", "L97.5"), ".621", True, "foot ulcer"),
    (("L97", "L98.4"), ".622", True, "skin ulcer"),
    (("R73.9", "R73.0", "R73"), ".65", False, "hyperglycaemia"),
    (("E16.2", "E16.1", "E16.0"), ".649", False, "hypoglycaemia"),
    (("K05", "K06", "K08"), ".638", True, "oral complications"),
    (("M14.6", "M14.67"), ".610", False, "neuropathic arthropathy"),
)


def diabetes(note: NoteCoding) -> None:
    """Diabetes "with" its complications (I.A.15, I.C.4.a): the classification presumes the link, so
    "type 2 diabetes" and "chronic kidney disease" are E11.22 (+ N18.-). E11.9 ("without
    complications") is never coded beside an E11 complication code (I.C.4.a)."""
    for family in ("E08", "E09", "E10", "E11", "E13"):
        lines = note.starting(family)
        if not lines:
            continue
        base = max(lines, key=lambda line: line.confidence)
        for prefixes, suffix, keep, what in DIABETES_WITH:
            complications = note.starting(prefixes)
            code = family + suffix
            if not complications or not note.billable(code):
                continue
            part = complications[0]
            message = f"diabetes with {what} is presumed linked (I.A.15, I.C.4.a)"
            added = note.add(code, message + (f"; {part.code} stays coded" if keep else ""),
                             confidence=_conf(base, part), like=[base, part])
            if not keep:
                for line in complications:
                    note.withdraw(line, f"{code} names it with the diabetes (I.A.15)", because_of=added)
        _without_complications(note, family)


def _without_complications(note: NoteCoding, family: str) -> None:
    specific = [line for line in note.starting(family) if line.code not in (f"{family}.9", f"{family}.8")]
    if not specific:
        return
    for code, what in ((f"{family}.9", "without complications"), (f"{family}.8", "with unspecified complications")):
        line = note.get(code)
        if line is not None:
            note.withdraw(line, f"'{what}' contradicts {specific[0].code} (I.C.4.a)", because_of=specific[0])


COPD = ("J44",)
LOWER_RESPIRATORY_INFECTION = ("J09", "J10", "J11", "J12", "J13", "J14", "J15", "J16", "J17", "J18", "J20", "J21", "J22")
EXACERBATION = re.compile(r"\b(?:exacerbat\w*|flare\w*|aecopd|acute(?:ly)? (?:worse\w*|decompensat\w*))\b")


def copd(note: NoteCoding) -> None:
    """COPD with an acute lower respiratory infection (J44.0, with the infection coded too) and with
    an acute exacerbation (J44.1); both may apply (I.C.10.a)."""
    lines = note.starting(COPD)
    if not lines:
        return
    base = max(lines, key=lambda line: line.confidence)
    infections = note.starting(LOWER_RESPIRATORY_INFECTION)
    if infections:
        note.add("J44.0", f"COPD with a lower respiratory infection ({infections[0].code}, which stays coded) (I.C.10.a)",
                 confidence=_conf(base, infections[0]), like=[base, infections[0]])
    if any(note.says(EXACERBATION, line) for line in lines):
        note.add("J44.1", "COPD in acute exacerbation (I.C.10.a)", confidence=base.confidence, like=[base])
    if note.get("J44.0") or note.get("J44.1"):
        for line in note.starting(("J44.9",), current=False):
            note.withdraw(line, "a more specific COPD code applies (I.C.10.a)",
                          because_of=note.get("J44.1") or note.get("J44.0"))


STONES = ("K80.2",)  # calculus of gallbladder without cholecystitis
CHOLECYSTITIS: tuple[tuple[str, str, str], ...] = (
    # cholecystitis code, calculus-with-cholecystitis code without obstruction, with obstruction
    ("K81.0", "K80.00", "K80.01"),
    ("K81.1", "K80.10", "K80.11"),
    ("K81.2", "K80.12", "K80.13"),
    ("K81.9", "K80.18", "K80.19"),
)
OBSTRUCTION = re.compile(r"\bobstruct\w*")


def gallbladder(note: NoteCoding) -> None:
    """Cholelithiasis with cholecystitis is one code (K80.0-, K80.1-): "calculus of gallbladder
    without cholecystitis" is wrong once the note says cholecystitis (I.B.9, I.A.15)."""
    stones = note.starting(STONES)
    if not stones:
        return
    for cholecystitis, plain, obstructed in CHOLECYSTITIS:
        found = note.starting((cholecystitis,))
        if not found:
            continue
        stone = stones[0]
        code = obstructed if note.says(OBSTRUCTION, stone) else plain
        target = note.replace(stone, code, "calculus of the gallbladder with cholecystitis is one combination code (I.B.9)",
                              confidence=_conf(stone, found[0]))
        for line in found:
            note.withdraw(line, f"{code} includes the cholecystitis (I.B.9)", because_of=target)
        for line in stones[1:]:
            note.withdraw(line, f"{code} codes the calculus (I.B.9)", because_of=target)
        return


SYSTOLIC = re.compile(r"\b(?:systolic|hfref|reduced (?:ejection fraction|ef)|reduced lvef|low ef)\b")
DIASTOLIC = re.compile(r"\b(?:diastolic|hfpef|preserved (?:ejection fraction|ef))\b")
COMBINED = re.compile(r"\bcombined systolic and diastolic\b|\bsystolic and diastolic\b")
ACUTE_ON_CHRONIC = re.compile(r"\bacute on chronic\b|\bacute-on-chronic\b")
ACUTE = re.compile(r"\b(?:acute|acutely|decompensat\w*|exacerbat\w*)\b")
CHRONIC = re.compile(r"\bchronic\b|\bcompensated\b")


def heart_failure_type(note: NoteCoding) -> None:
    """The heart failure code names its type and acuity when the note does: systolic / HFrEF I50.2-,
    diastolic / HFpEF I50.3-, both I50.4-; acute 1, chronic 2, acute on chronic 3 (I.C.9.a.1: use
    an additional code for the type of heart failure; the Alphabetic Index's HFrEF/HFpEF entries)."""
    for line in note.starting(("I50.9", "I50.20", "I50.30", "I50.40", "I50.2", "I50.3", "I50.4")):
        said = note.sentences(line)
        if COMBINED.search(said) or (SYSTOLIC.search(said) and DIASTOLIC.search(said)):
            family = "I50.4"
        elif SYSTOLIC.search(said):
            family = "I50.2"
        elif DIASTOLIC.search(said):
            family = "I50.3"
        else:
            continue
        if ACUTE_ON_CHRONIC.search(said) or (ACUTE.search(said) and CHRONIC.search(said)):
            acuity = "3"
        elif ACUTE.search(said):
            acuity = "1"
        elif CHRONIC.search(said):
            acuity = "2"
        else:
            acuity = "0"
        code = family + acuity
        if code != line.code and note.billable(code):
            note.replace(line, code, f"the note gives the heart failure's type and acuity: {note.description(code).lower()}")
