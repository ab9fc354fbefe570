"""Combination codes and the "with" presumption (ICD-10-CM Official Guidelines I.A.15, I.B.9).

Where the classification links two conditions with "with", a coder assigns the one code that
names both (or the pair the classification asks for), not each condition on its own.
"""

from __future__ import annotations

import re

from ..codesets.records import CodeSystem
from ..codesets.rules import inherited_notes
from .engine import DIAGNOSIS_SECTIONS, INPATIENT, CodeLine, NoteCoding, any_of
from .history import evidence, note_side, sentence_of, sentences_saying, side_digit, side_of
from .wording import UNCOMPLICATED, affirmed, side_and_site

HYPERTENSION = ("I10",)
HYPERTENSIVE = ("I11", "I12", "I13")
HEART_FAILURE = ("I50",)
HEART_DISEASE = ("I51.4", "I51.5", "I51.7", "I51.89", "I51.9")  # "with" hypertension, I.C.9.a.1
CKD = ("N18",)
CKD_5 = ("N18.5", "N18.6")
UNRELATED = re.compile(r"\b(?:unrelated|not related|not due to|not caused by)\b")
# hypertensions of one vascular bed, each coded elsewhere (I27, K76.6, G93.2, H40.05): no I10
ONE_VASCULAR_BED = re.compile(r"\b(?:pulmonary|portal|intracranial|ocular|intraocular)(?: arterial| venous)? hypertension\b")


def _conf(*lines: CodeLine) -> float:
    """A combination is as sure as its least sure part."""
    return min(line.confidence for line in lines)


def hypertension(note: NoteCoding) -> None:
    """Hypertension with heart disease (I11), with chronic kidney disease (I12), with both (I13):
    the link is presumed unless the note says the conditions are unrelated (I.C.9.a.1-3). The heart
    failure type (I50.-) and the CKD stage (N18.-) are coded as well."""
    _other_hypertensions(note)
    htn = note.starting(HYPERTENSION) + note.starting(HYPERTENSIVE)
    if not htn:
        return
    hf = note.starting(HEART_FAILURE)
    # a ranked hypertensive heart disease code ("hypertensive heart and chronic kidney disease") says the heart part
    heart = hf or note.starting(HEART_DISEASE) or [line for line in htn if line.code.startswith(("I11", "I13"))]
    ckd = [line for line in note.starting(CKD) if not note.says(UNRELATED, line)]
    heart = [line for line in heart if not note.says(UNRELATED, line)]
    if not heart and not ckd:
        combined = note.starting(HYPERTENSIVE)
        for line in note.starting(HYPERTENSION, current=False):
            if combined:  # "hypertensive heart disease" ranked as I11.9 beside the I10 of "HTN"
                note.absorb(line, combined[0], f"{combined[0].code} codes the hypertension (I.C.9.a)")
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


def _other_hypertensions(note: NoteCoding) -> None:
    """No I10-I13 code on words that name the hypertension of one vascular bed ("pulmonary hypertension due to left
    heart disease" is I27.22), nor, when the note names no other hypertension, on no words at all."""
    lines = note.starting(HYPERTENSION + HYPERTENSIVE, current=False)
    said = [(line, note.current_mentions(line)) for line in lines]
    other = {line.code: bool(mentions) and all(ONE_VASCULAR_BED.search(m.text.lower()) for m in mentions) for line, mentions in said}
    systemic = any(mentions and not other[line.code] for line, mentions in said)
    for line, mentions in said:
        if other[line.code] or (not mentions and not systemic and ONE_VASCULAR_BED.search(note.lower)):
            note.withdraw(line, "the note's hypertension is of the lung's, liver's or skull's vessels, not the systemic "
                          "hypertension of I10-I16 (I.C.9.a)")


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
    (("E16.A",), ".649", True, "hypoglycaemia"),  # the level (E16.A1-A3) is coded beside it: its "use additional code"
    (("K05", "K06", "K08"), ".638", True, "oral complications"),
    (("M14.6", "M14.67"), ".610", False, "neuropathic arthropathy"),
    (("M86",), ".69", True, "osteomyelitis"),  # the index: Diabetes, with, osteomyelitis E11.69 (+ the M86 code)
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
        _nephropathy_with_ckd(note, family)
        _hypoglycaemia_with_coma(note, family)
        _without_complications(note, family)
        _remission_unsaid(note, family)


def _nephropathy_with_ckd(note: NoteCoding, family: str) -> None:
    """"Diabetic nephropathy / CKD 3a" names one kidney disease: E11.22 codes it with its stage
    (N18.-), so E11.21 (nephropathy) is not coded beside it (I.A.15, I.B.12: once per condition)."""
    ckd = note.get(family + ".22")
    nephropathy = note.get(family + ".21")
    if ckd is not None and nephropathy is not None and note.is_current(ckd):
        note.absorb(nephropathy, ckd, f"{ckd.code} codes the diabetic kidney disease with its stage (I.A.15, I.B.12)")


HYPOGLYCAEMIC_COMA = re.compile(r"\b(?:hypoglycemic|hypoglycaemic|insulin) coma\b")


def _hypoglycaemia_with_coma(note: NoteCoding, family: str) -> None:
    """Diabetes with hypoglycaemia and the coma it caused is E1x.641 "with coma", the coma (R40.2-) in it
    (I.B.9); not E1x.649 "without coma"."""
    without = note.get(family + ".649")
    comas = note.starting(("R40.2",))
    if without is None or not (comas or affirmed(HYPOGLYCAEMIC_COMA, note.lower)) or not note.billable(family + ".641"):
        return
    target = note.replace(without, family + ".641", "hypoglycaemia with coma (I.B.9)")
    for line in comas:
        note.absorb(line, target, f"{target.code} codes the coma (I.B.9)")


REMISSION = re.compile(r"\bremission\b")


def _remission_unsaid(note: NoteCoding, family: str) -> None:
    """E11.A "type 2 diabetes without complications in remission" only when the note says remission (a
    provider's statement, as for the other remission codes: I.C.5.b.1); the ranker puts it forward for any
    diabetes "without complications"."""
    line = note.get(family + ".A")
    if line is not None and not note.says(REMISSION):
        note.withdraw(line, "the note does not say the diabetes is in remission")


def _without_complications(note: NoteCoding, family: str) -> None:
    """E11.9 / E11.8 leave when a complication code the note supports (at least half as sure, or
    stated as a diagnosis) is coded; "in remission" (E11.A) counts only when the note says remission."""
    for code, what in ((f"{family}.9", "without complications"), (f"{family}.8", "with unspecified complications")):
        line = note.get(code)
        if line is None:
            continue
        said_so = note.says(UNCOMPLICATED, line)  # "type 2 DM without complications": only a sure code overrules it
        specific = [
            other for other in note.documented(family)
            if other.code not in (f"{family}.9", f"{family}.8")
            and (other.confidence >= 0.5 * line.confidence or (note.stated(other) and not said_so))
            and (not other.code.endswith(".A") or note.says(REMISSION, other))
        ]
        if specific:
            note.withdraw(line, f"'{what}' contradicts {specific[0].code} (I.C.4.a)", because_of=specific[0])


COPD = ("J44",)
LOWER_RESPIRATORY_INFECTION = ("J09", "J10", "J11", "J12", "J13", "J14", "J15", "J16", "J17", "J18", "J20", "J21", "J22")
EXACERBATION = re.compile(
    r"(?<!no )(?<!without )(?<!denies )\b(?:exacerbat\w*|exac|flare\w*|aecopd|acute(?:ly)? (?:worse\w*|decompensat\w*))\b"
)


def copd(note: NoteCoding) -> None:
    """COPD with an acute lower respiratory infection (J44.0, with the infection coded too) and with
    an acute exacerbation (J44.1); both may apply (I.C.10.a). A ranked J44.0 with no infection
    coded, or J44.1 where no words say exacerbation, leaves; J44.9 leaves beside the ones that stay."""
    lines = note.starting(COPD)
    if not lines:
        return
    base = max(lines, key=lambda line: line.confidence)
    infections = note.starting(LOWER_RESPIRATORY_INFECTION)
    if infections:
        note.add("J44.0", f"COPD with a lower respiratory infection ({infections[0].code}, which stays coded) (I.C.10.a)",
                 confidence=_conf(base, infections[0]), like=[base, infections[0]])
    exacerbation = any(affirmed(EXACERBATION, note.sentences(line)) for line in lines)  # not "not in exacerbation"
    if exacerbation:
        note.add("J44.1", "COPD in acute exacerbation (I.C.10.a)", confidence=base.confidence, like=[base])
    for code, supported, what in (("J44.0", bool(infections), "no lower respiratory infection is coded"),
                                  ("J44.1", exacerbation, "the note does not say exacerbation")):
        line = note.get(code)
        if line is not None and not supported and not line.added:
            note.withdraw(line, f"{what} (I.C.10.a)")
    if note.get("J44.0") or note.get("J44.1"):
        for line in note.starting(("J44.9",), current=False):
            note.withdraw(line, "a more specific COPD code applies (I.C.10.a)",
                          because_of=note.get("J44.1") or note.get("J44.0"))


GALLSTONES = ("K80.0", "K80.1", "K80.2")  # calculus of gallbladder with / without cholecystitis
CHOLECYSTITIS = ("K81",)
# (acute, chronic) -> calculus of gallbladder with that cholecystitis: (without, with) obstruction. The
# Alphabetic Index: Calculus, gallbladder, with cholecystitis (chronic) K80.10 - chronic is the default.
WITH_CHOLECYSTITIS: dict[tuple[bool, bool], tuple[str, str]] = {
    (True, False): ("K80.00", "K80.01"),
    (False, True): ("K80.10", "K80.11"),
    (True, True): ("K80.12", "K80.13"),
    (False, False): ("K80.10", "K80.11"),
}
ACUTE_AND_CHRONIC = re.compile(r"\bacute (?:on|and|with) chronic\b")
ACUTE_CHOLECYSTITIS = re.compile(r"\bacute (?:\w+ ){0,3}cholecyst")
CHRONIC_CHOLECYSTITIS = re.compile(r"\bchronic (?:\w+ ){0,3}cholecyst")
OBSTRUCTION = re.compile(r"(?<!no )(?<!without )\bobstruct\w*")


def gallbladder(note: NoteCoding) -> None:
    """Cholelithiasis with cholecystitis is one code (K80.0-, K80.1-), never "calculus without
    cholecystitis" or a K81 code beside it (I.B.9, I.A.15). The acuity and obstruction come from
    the words of the note's cholecystitis mentions ("acute", "chronic", "acute on chronic"); a denied
    cholecystitis ("no cholecystitis") is none."""
    stones = note.starting(GALLSTONES)
    inflamed = [line for line in note.starting(CHOLECYSTITIS + GALLSTONES[:2])
                if any("cholecyst" in m.text.lower() and note.mention_is_current(m, line.code) for m in note.mentions(line))]
    if stones and not inflamed:  # gallstones alone: no code "with cholecystitis"
        plain = [line for line in stones if line.code.startswith("K80.2")]
        for line in stones + note.starting(CHOLECYSTITIS):
            if plain and not line.code.startswith("K80.2"):
                note.absorb(line, plain[0], "the note does not say cholecystitis (I.B.9)")
        return
    if not stones or not inflamed:
        return
    said = "\n".join(note.sentences(line) for line in inflamed)
    both = ACUTE_AND_CHRONIC.search(said) is not None
    acute = both or ACUTE_CHOLECYSTITIS.search(said) is not None
    chronic = both or CHRONIC_CHOLECYSTITIS.search(said) is not None
    plain, obstructed = WITH_CHOLECYSTITIS[(acute, chronic)]
    code = obstructed if OBSTRUCTION.search(said) else plain
    best = max(stones, key=lambda line: line.confidence)
    sure = min(best.confidence, any_of(line for line in inflamed if line is not best))
    target = note.replace(best, code, "calculus of the gallbladder with cholecystitis is one combination code (I.B.9)",
                          confidence=max(sure, min(best.confidence, 0.5)))
    for line in note.starting(GALLSTONES + CHOLECYSTITIS, current=False):
        note.absorb(line, target, f"{code} codes the calculus and the cholecystitis together (I.B.9)")


ASTHMA = ("J45",)
STATUS_ASTHMATICUS = re.compile(r"\bstatus asthmaticus\b")


def asthma(note: NoteCoding) -> None:
    """Asthma in exacerbation (J45.-1) or status asthmaticus (J45.-2) at the severity coded: not the
    "uncomplicated" code (I.C.10.a; the J45 fifth characters)."""
    lines = note.starting(ASTHMA)
    if not lines:
        return
    best = max(lines, key=lambda line: line.confidence)
    said = "\n".join(note.sentences(line) for line in lines)
    if STATUS_ASTHMATICUS.search(said):
        last = "2"
    elif EXACERBATION.search(said):
        last = "1"
    else:
        return
    code = best.code[:-1] + last
    if code != best.code and note.billable(code) and best.code[-1] in "0129":
        best = note.replace(best, code, "the note says the asthma is in acute exacerbation" if last == "1"
                            else "the note documents status asthmaticus")
    for line in note.starting(ASTHMA, current=False):
        if line is not best and (line.code[-1] == "0" or line.code == "J45.909"):
            note.absorb(line, best, f"{best.code} codes the asthma and its exacerbation (I.C.10.a)")


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


DIABETES_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:type (?:1|i|one)\b|t1dm|dm ?(?:1|i)\b|iddm|juvenile)"), "E10"),
    (re.compile(r"\b(?:type (?:2|ii|two)\b|t2dm|dm ?(?:2|ii)\b|niddm|adult[- ]onset)"), "E11"),
)
DIABETES_AS_TYPED = ("E08", "E09", "E10", "E11", "E13")
# diabetes of a cause the note names (I.C.4.a.6: secondary diabetes): due to an underlying condition E08, drug-induced
# E09, after a pancreatectomy E13 (with E89.1); said of the patient, these outrank a "type" word of the note ("not type
# 1 or type 2", a father's type 2)
SECONDARY_DIABETES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:(?:steroid|drug|chemical|medication|glucocorticoid|prednisone)[- ]induced (?:diabetes|dm)\b|"
                r"(?:diabetes|dm)\b(?: \w+){0,2} (?:due to|secondary to|from) (?:the |long[- ]term |chronic )*"
                r"(?:prednisone|steroids?|glucocorticoids?|corticosteroids?|drugs?|medications?)\b)"), "E09"),
    (re.compile(r"\b(?:post-?pancreatectomy (?:diabetes|dm)|(?:diabetes|dm)\b(?: \w+){0,2} (?:due to|after|following) "
                r"(?:a |the |total |partial )*pancreatectomy)\b"), "E13"),
    (re.compile(r"\b(?:type 3c|pancreatogenic (?:diabetes|dm)|(?:diabetes|dm)\b(?: \w+){0,2} (?:due to|secondary to) "
                r"(?:the |chronic |alcoholic |recurrent )*(?:pancreatitis|cystic fibrosis|cushing'?s?|hemochromatosis|"
                r"pancreatic (?:cancer|carcinoma|adenocarcinoma)))\b"), "E08"),
)


def _no_diabetes_mellitus_in_insipidus(note: NoteCoding) -> None:
    """"Diabetes insipidus" (E23.2, N25.1) is no diabetes mellitus: an E08-E13 code read from words that
    are exactly a diabetes insipidus leaves."""
    for line in note.starting(DIABETES, current=False):
        mentions = note.mentions(line)
        if mentions and all(any(c.code in ("E23.2", "N25.1") and c.similarity >= 1.0 for c in m.candidates) for m in mentions):
            note.withdraw(line, "diabetes insipidus is no diabetes mellitus (I.B.1)")


def diabetes_type(note: NoteCoding) -> None:
    """One type of diabetes per note: the type the note names, else type 2 (I.C.4.a.2: "if the type
    of diabetes mellitus is not documented, the default is E11.-"). E10 / E11 / E13 codes of the
    wrong type move to the right category with the same complication, or leave."""
    _no_diabetes_mellitus_in_insipidus(note)
    lines = note.starting(DIABETES_AS_TYPED)
    if not lines:
        return
    said = "\n".join(note.sentences(line) for line in lines) or note.lower
    named = {family for pattern, family in SECONDARY_DIABETES if affirmed(pattern, said)}
    named = named or {family for pattern, family in DIABETES_TYPES if pattern.search(said)}
    if len(named) > 1:
        return  # both types named: leave it to the coder
    family = named.pop() if named else "E11"
    why = "the note names the type" if named or any(p.search(said) for p, _ in DIABETES_TYPES) else \
        "the type is not documented: type 2 is the default (I.C.4.a.2)"
    for line in note.starting(DIABETES_AS_TYPED, current=False):
        if line.code.startswith(family) or line not in note.lines:
            continue
        code = family + line.code[3:]
        if note.billable(code):
            note.replace(line, code, f"{why} ({note.description(code).split(' with')[0].split(',')[0].lower()})")
        else:
            note.withdraw(line, f"{why}: {family} diabetes, not {line.code[:3]}")
    if family == "E13" and affirmed(SECONDARY_DIABETES[1][0], said):
        _postpancreatectomy(note)


def _postpancreatectomy(note: NoteCoding) -> None:
    """Diabetes after a pancreatectomy: E89.1 postprocedural hypoinsulinemia, beside the E13 code, with the absence
    of the pancreas Z90.41- (I.C.4.a.6.b.i)."""
    best = max(note.starting(("E13",)), key=lambda line: line.confidence, default=None)
    if best is None:
        return
    note.add("E89.1", "diabetes after a pancreatectomy: postprocedural hypoinsulinemia (I.C.4.a.6.b.i)",
             confidence=best.confidence, like=[best])
    absence = "Z90.411" if PARTIAL_PANCREATECTOMY.search(note.lower) else "Z90.410"
    note.add(absence, "the acquired absence of the pancreas beside postpancreatectomy diabetes (I.C.4.a.6.b.i)",
             confidence=best.confidence, like=[best])


PARTIAL_PANCREATECTOMY = re.compile(r"\b(?:partial|distal|subtotal) pancreatectomy\b|\bwhipple\b|\bpancreaticoduodenectomy\b")


SEPSIS = ("A41.9", "A40.9")
# organism code (B95-B96) -> the sepsis code that names it (I.C.1.d.1: code the systemic infection by organism)
SEPSIS_BY_ORGANISM: tuple[tuple[str, str], ...] = (
    ("B95.61", "A41.01"), ("B95.62", "A41.02"), ("B95.7", "A41.1"), ("B95.8", "A41.1"),
    ("B95.0", "A40.0"), ("B95.1", "A40.1"), ("B95.3", "A40.3"), ("B95.4", "A40.8"),
    ("B96.20", "A41.51"), ("B96.21", "A41.51"), ("B96.22", "A41.51"), ("B96.23", "A41.51"), ("B96.29", "A41.51"),
    ("B96.5", "A41.52"), ("B96.3", "A41.3"), ("B96.1", "A41.59"), ("B96.89", "A41.89"),
)
# "urosepsis" has no code and is no sepsis (I.C.1.d.1.a.ii: the coder queries); bacteremia is R78.81 (the Index;
# R78.81 Excludes1 sepsis)
SEPSIS_SAID = re.compile(r"\b(?:sepsis|septic(?!\s+(?:\w+\s+)?(?:arthritis|joint|bursitis|emboli|thrombophlebitis|abortion|tenosynovitis))"
                         r"|septicemia|sirs)\b")
SEVERE_SEPSIS = re.compile(r"\bsevere sepsis\b|\bsepsis[- ](?:induced|related|associated) (?:\w+ ){0,3}(?:failure|injury|dysfunction|encephalopathy)")
SEPTIC_SHOCK = re.compile(r"(?<!without )(?<!no )(?<!w/o )\bseptic shock\b")
SHOCK = ("R57",)


def sepsis(note: NoteCoding) -> None:
    """Sepsis named by its organism when the note gives one (A41.51 E. coli, A41.01 MSSA, ...:
    I.C.1.d.1.a), and then no unspecified-organism sepsis code beside it; severe sepsis R65.20 and
    septic shock R65.21 when the note says so, after the systemic infection (I.C.1.d.1.a.ii,
    I.C.1.d.2; septic shock is not coded as R57.-)."""
    if not affirmed(SEPSIS_SAID, note.lower):  # an organism's name alone ("MSSA") is no sepsis (I.C.1.d.1.a)
        for line in note.starting(("A40", "A41"), current=False):
            note.withdraw(line, "the note does not document sepsis (I.C.1.d.1.a)")
        return
    lines = note.documented(("A40", "A41"))  # a stated sepsis counts however sure the ranker is of its code
    if not lines:
        return
    best = max(lines, key=lambda line: line.confidence)
    if best.code in SEPSIS:
        for organism, code in SEPSIS_BY_ORGANISM:
            found = note.starting((organism,))
            if found and note.billable(code):
                best = note.replace(best, code, f"the note names the organism ({found[0].code}) (I.C.1.d.1.a)",
                                    confidence=min(best.confidence, found[0].confidence))
                break
    if best.code not in SEPSIS:
        for line in note.starting(SEPSIS, current=False):
            note.absorb(line, best, f"{best.code} names the organism; {line.code} is for sepsis whose organism "
                                    "is not specified (I.C.1.d.1.a)")
    if SEPTIC_SHOCK.search(note.lower):
        added = note.add("R65.21", "the note documents septic shock (I.C.1.d.2)", confidence=best.confidence, like=[best])
        for line in note.starting(SHOCK, current=False):
            note.absorb(line, added, "septic shock is R65.21, not a shock code of chapter 18 (I.C.1.d.2)")
        return
    for line in note.starting(("R65.21",), current=False):  # septic shock is coded only when documented
        note.withdraw(line, "the note does not document septic shock (I.C.1.d.2)")
    if SEVERE_SEPSIS.search(note.lower):
        note.add("R65.20", "the note documents severe sepsis (sepsis with organ dysfunction) (I.C.1.d.1.a)",
                 confidence=best.confidence, like=[best])


SUBSTANCES = tuple(f"F1{digit}" for digit in range(10))  # F10-F19 psychoactive substance use
ABUSE_SAID = re.compile(r"\b(?:abus\w*|misuse|harmful use|use disorder)\b")


def substance_use_level(note: NoteCoding) -> None:
    """A substance code at the level the provider documents (I.C.5.b.2-3: use, abuse, dependence;
    "abuse" only when the note says abuse or a use disorder): "acute alcohol intoxication" without
    abuse documented is alcohol use with intoxication (F10.92-), not abuse (F10.1-)."""
    for line in note.starting(SUBSTANCES, current=False):
        if line.code[4:5] != "1" or note.says(ABUSE_SAID, line) or ABUSE_SAID.search(note.lower):
            continue
        code = line.code[:4] + "9" + line.code[5:]
        if note.billable(code):
            note.replace(line, code, "the note documents use, not abuse (I.C.5.b.2)")


# DSM-5 severity of a "use disorder": the Index's "Disorder, use, <substance>, mild" is abuse (F1x.1-), moderate or
# severe dependence (F1x.2-)
USE_DISORDER_LEVEL = re.compile(r"\buse disorders?\b[^.;\n]{0,30}?\b(mild|moderate|severe)\b|"
                                r"\b(mild|moderate|severe)\s+(?:[\w-]+\s+){0,3}use disorders?\b")
IN_REMISSION = re.compile(r"\bin (?:early |sustained |full |partial |complete )?remission\b")
WITHDRAWAL = re.compile(r"\bwithdrawal\b(?! (?:seizures? )?precautions)")


def use_disorder_course(note: NoteCoding) -> None:
    """A substance use disorder at its documented level and course (I.C.5.b.1-2): mild is abuse, moderate
    or severe dependence; "in remission" F1x.11 / F1x.21, "with withdrawal" F1x.13- / F1x.23- (one
    combination code for the disorder and its withdrawal, I.B.9: not F12.20 beside F12.93). A code that
    says more of the course (withdrawal delirium F10.231) stays; nicotine (F17) has its own rule."""
    for category in sorted({line.code[:3] for line in note.starting(SUBSTANCES)} - {"F17"}):
        lines = note.starting((category,))
        text = "\n".join(note.sentences(line) for line in lines)
        level = _use_level(text)
        if not level:
            continue
        course = "1" if affirmed(IN_REMISSION, text) else "3" if affirmed(WITHDRAWAL, text) else "0"
        code = next((c for c in (f"{category}.{level}{course}", f"{category}.{level}{course}0") if note.billable(c)), None)
        plain = [line for line in lines if line.code[5:] in PLAIN_COURSES]
        said_more = [line for line in lines if line.code[5:6] == course and line.code[5:] not in PLAIN_COURSES]
        if code is None or not plain or said_more:
            continue
        target = note.replace(max(plain, key=lambda line: line.confidence), code,
                              f"the documented use disorder: {note.description(code)} (I.C.5.b)")
        for line in plain:
            note.absorb(line, target, f"{target.code} codes the disorder at its level and course (I.B.9)")


def use_disorder_twins(note: NoteCoding) -> None:
    """A substance code at another level than the use disorder's documented one, beside its twin at that
    level ("alcohol-induced amnestic disorder" F10.96 beside F10.26 of "alcohol use disorder, severe"),
    leaves into the twin: one condition, at the documented level (I.C.5.b)."""
    for category in sorted({line.code[:3] for line in note.starting(SUBSTANCES)} - {"F17"}):
        level = _use_level("\n".join(note.sentences(line) for line in note.documented((category,))))
        for line in note.starting((category,)) if level else ():
            twin = next((other for other in note.documented((category,)) if other.code[4:5] == level
                         and line.code[4:5] != level and other.code[5:] == line.code[5:]), None)
            if twin is not None:
                note.absorb(line, twin, f"{twin.code} codes it at the documented level (I.C.5.b)")


def nicotine_dependence_course(note: NoteCoding) -> None:
    """Nicotine dependence by its documented course (I.C.5.b): "with withdrawal" F17.2x3, "in remission"
    F17.2x1, not the uncomplicated F17.2x0."""
    for line in note.starting(("F17.2",)):
        text = note.sentences(line)
        course = "1" if affirmed(IN_REMISSION, text) else "3" if affirmed(WITHDRAWAL, text) else ""
        if course and line.code[6:] == "0" and note.billable(line.code[:6] + course):  # F17.2 + product + course
            note.replace(line, line.code[:6] + course, "the nicotine dependence's documented course (I.C.5.b)")


PLAIN_COURSES = ("", "0", "1", "3", "30")  # uncomplicated, in remission, with withdrawal (uncomplicated)
DEPENDENCE = re.compile(r"\bdependen(?:ce|t)\b")


def _use_level(text: str) -> str:
    """'1' (abuse) or '2' (dependence) from a use disorder's severity, else from the words dependence / abuse."""
    said = USE_DISORDER_LEVEL.search(text)
    if said:
        return "1" if "mild" in said.groups() else "2"
    return "2" if affirmed(DEPENDENCE, text) else "1" if affirmed(ABUSE_SAID, text) and "use disorder" not in text else ""


# N40.1's "use additional code for associated symptoms": retention, obstruction, frequency, nocturia, ...
PROSTATE_SYMPTOMS = ("R33", "R35", "R39.1", "N13", "N32.0", "N39.4")
PROSTATE_SYMPTOM_WORDS = re.compile(r"\b(?:luts|lower urinary tract symptoms?|retention|obstruct\w*|hydronephrosis|frequency|"
                                    r"nocturia|hesitancy|urgency|weak (?:urinary )?stream|incomplete (?:bladder )?emptying|"
                                    r"straining|dribbling|unable to void)\b")


def prostate_with_symptoms(note: NoteCoding) -> None:
    """Benign prostatic hyperplasia with the urinary symptoms or obstruction it causes is N40.1 ("with
    lower urinary tract symptoms"), the symptoms coded after it (its "use additional code"); a retention
    due to it is R33.8 (I.B.9)."""
    bph = note.starting(("N40.0",), current=False)
    if not bph or not (note.starting(PROSTATE_SYMPTOMS) or affirmed(PROSTATE_SYMPTOM_WORDS, note.sentences(bph[0]))):
        return
    target = note.replace(bph[0], "N40.1", "the note gives the urinary symptoms it causes (I.B.9)")
    for line in note.starting(("R33.9",), current=False):
        note.replace(line, "R33.8", f"retention due to {target.code} (I.B.9)")


# "iron deficiency anemia secondary to <cause>": blood loss is D50.0, any other stated cause D50.8
IRON_DEFICIENCY_CAUSE = re.compile(r"\b(?:due to|secondary to|caused by|from|because of|related to|in the setting of)\s+(?:\w+[ -]){0,3}?"
                                   r"(?:(blood loss|bleeding|hemorrhage|menorrhagia|heavy menses|gi losses)|\w+)")


def iron_deficiency_cause(note: NoteCoding) -> None:
    """An iron deficiency anemia the note gives a cause for is not D50.9 "unspecified": secondary to
    blood loss is D50.0, any other cause (malabsorption in celiac disease, a gastric bypass, a poor
    diet) D50.8 "other iron deficiency anemias" (the Index: Anemia, iron deficiency, secondary to
    blood loss D50.0; specified type NEC D50.8; I.B.2)."""
    for line in note.starting(("D50.9",), current=False):
        found = IRON_DEFICIENCY_CAUSE.search(note.sentences(line))
        if found is not None:
            code, why = ("D50.0", "blood loss") if found.group(1) else ("D50.8", f"'{found.group(0)}'")
            note.replace(line, code, f"the note gives its cause: {why} (I.B.2)")


CAUSES_OF_SECONDARY_VARICES = ("K70.3", "K70.4", "K71.7", "K74.3", "K74.4", "K74.5", "K74.6", "K76.6", "B65")


def secondary_varices(note: NoteCoding) -> None:
    """Esophageal varices in a patient with cirrhosis or portal hypertension are secondary, I85.1-
    (the Index's "Varix, esophagus, in cirrhosis of liver / portal hypertension"), coded after it
    (I.A.13: its "code first underlying disease")."""
    causes = note.documented(CAUSES_OF_SECONDARY_VARICES)
    for line in note.starting(("I85.0",), current=False) if causes else ():
        note.replace(line, "I85.1" + line.code[5:], f"varices in {causes[0].code} {note.description(causes[0].code).lower()} (I.A.13)")


CLAUDICATION = re.compile(r"\b(?:intermittent )?claudication\b")
NEUROGENIC = re.compile(r"\bneurogenic claudication\b")
LEG_ARTERY_DISEASE = ("I70.2", "I70.9", "I73.9", "I77.9")


def atherosclerosis_with_claudication(note: NoteCoding) -> None:
    """Atherosclerosis of the legs' native arteries (peripheral artery disease) with intermittent
    claudication is one code, I70.21- by side (I.B.9; the Index's "Atherosclerosis, extremities, with
    intermittent claudication"); the claudication and the unspecified vascular codes leave into it."""
    lines = note.starting(LEG_ARTERY_DISEASE)
    if not lines or not affirmed(CLAUDICATION, note.lower) or NEUROGENIC.search(note.lower):
        return
    said = "\n".join(note.sentences(line) for line in lines)
    if not re.search(r"\b(?:atherosclero\w*|peripheral arter\w*|pad)\b", said):
        return
    best = max(lines, key=lambda line: line.confidence)
    side = side_digit(note_side(note, best) or side_of(said), "9")  # "left leg ...; s/p right BKA": left
    target = note.replace(best, "I70.21" + side, "atherosclerosis of the legs with intermittent claudication (I.B.9)")
    for line in note.starting(LEG_ARTERY_DISEASE, current=False):
        if line is not target:
            note.absorb(line, target, f"{target.code} names it (I.B.9)")


ULCER = re.compile(r"\bulcers?\b|\bulceration\b")
_ULCER_SITES = ((re.compile(r"\b(?:heel|midfoot|plantar)\b"), "4"), (re.compile(r"\b(?:toes?|hallux|forefoot|metatarsal\w*|dorsum of the foot|foot)\b"), "5"),
                (re.compile(r"\b(?:ankle|malleol\w*)\b"), "3"), (re.compile(r"\bcalf\b"), "2"), (re.compile(r"\bthigh\b"), "1"),
                (re.compile(r"\b(?:shin|lower leg)\b"), "8"))
_ULCER_DEPTHS = ((re.compile(r"\blimited to (?:the )?breakdown of (?:the )?skin|\bskin breakdown only\b"), "1"),
                 (re.compile(r"\bfat layer exposed\b|\bsubcutaneous (?:fat|tissue) exposed\b"), "2"),
                 (re.compile(r"\bnecrosis of muscle\b"), "3"), (re.compile(r"\bnecrosis of bone\b"), "4"),
                 (re.compile(r"\bmuscle involvement\b"), "5"), (re.compile(r"\bbone involvement\b"), "6"))


def _ulcer_code(sentence: str) -> tuple[str | None, int]:
    """The L97 code a sentence gives an ulcer (site, side, depth) and how many of the three it says."""
    site = next((digit for pattern, digit in _ULCER_SITES if pattern.search(sentence)), None)
    if site is None:
        return None, 0
    side = side_digit(side_of(sentence), "0", bilateral=False)  # L97 has no bilateral code
    depth = next((digit for pattern, digit in _ULCER_DEPTHS if pattern.search(sentence)), "9")
    return "L97." + site + side + depth, 1 + (side != "0") + (depth != "9")


# categories whose "with ulceration" codes ask for the ulcer's site and severity (L97.-, L98.49-):
# atherosclerosis of the legs, varicose veins, chronic venous hypertension
ULCERATED_VESSELS = ("I70", "I83", "I87")


def ulcer_site(note: NoteCoding) -> None:
    """A diabetic foot or skin ulcer (E08-E13 .621 / .622), or an atherosclerosis, varicose veins or venous
    hypertension "with ulceration" (I70.23-, I83.0-, I87.31-, ...), takes the ulcer's site, side and depth,
    L97.- (their "use additional code to identify site / severity of ulcer", I.A.13); the unspecified-site
    ulcer codes leave for it."""
    ulcerated = [line for line in note.starting(DIABETES) if line.code[4:] in ("621", "622")]
    ulcerated += [line for line in note.starting(ULCERATED_VESSELS) if "ulcer" in note.description(line.code).lower()]
    if not ulcerated or note.starting(("L97",)):
        return
    best: tuple[int, str] | None = None
    for found in ULCER.finditer(note.lower):  # the ulcer sentence that says the most; the last of equals
        if not affirmed(ULCER, note.lower[max(0, found.start() - 40):found.end()]):
            continue
        start, end = sentence_of(note, found.start(), found.end())
        code, said = _ulcer_code(note.lower[start:end])
        if code is not None and note.billable(code) and (best is None or said >= best[0]):
            best = (said, code)
    if best is None:
        return
    code = best[1]
    added = note.add(code, "the ulcer's site and depth (I.A.13)", confidence=ulcerated[0].confidence, like=ulcerated[:1])
    for line in note.starting(("L98.49", "L97.9", "L98.9"), current=False):
        note.absorb(line, added, f"{added.code} names the ulcer's site (I.B.2)")


PNEUMONIAS = ("J12", "J13", "J14", "J15", "J16", "J17", "J18")
SPECIFIED_PNEUMONIAS = ("J12", "J13", "J14", "J15", "J16")  # a type the combination's ".08" asks to code also
PNEUMONIA_WORD = re.compile(r"\bpneumonia\b")


def influenza_with_pneumonia(note: NoteCoding) -> None:
    """Influenza with pneumonia is one code, J09.X1 / J10.0- / J11.0- (I.B.9, the Index's "Influenza,
    with, pneumonia"): an unspecified pneumonia leaves into it (J10.00); a pneumonia of a named organism
    stays beside J10.08 / J11.08, which ask to code it also."""
    flu = sorted((line for line in note.documented(("J09", "J10", "J11")) if line.code[4:5] != "0" and line.code != "J09.X1"),
                 key=lambda line: (line.code.startswith("J11"), -line.confidence))  # an identified virus first
    pneumonia = note.starting(PNEUMONIAS)
    if not flu or not (pneumonia or note.says(PNEUMONIA_WORD, flu[0])):
        return
    named = [line for line in pneumonia if line.code.startswith(SPECIFIED_PNEUMONIAS)]
    code = "J09.X1" if flu[0].code.startswith("J09") else flu[0].code[:3] + (".08" if named else ".00")
    if not note.billable(code):
        return
    target = note.replace(flu[0], code, "influenza with pneumonia is one combination code (I.B.9)",
                          confidence=max([flu[0].confidence] + [line.confidence for line in pneumonia]))
    for line in pneumonia if not named else ():
        note.absorb(line, target, f"{code} names the pneumonia (I.B.9)")


# an organism (B95-B96, or an infection of unspecified site A49.-) -> the pneumonia due to it (the Index's
# "Pneumonia, in (due to)"); the first prefix that fits wins
ORGANISM_PNEUMONIA = (("B96.1", "J15.0"), ("B96.5", "J15.1"), ("B95.62", "J15.212"), ("B95.61", "J15.211"),
                      ("A49.02", "J15.212"), ("A49.01", "J15.211"), ("B95.7", "J15.29"), ("B95.8", "J15.20"),
                      ("B95.1", "J15.3"), ("B95.3", "J13"), ("B95.", "J15.4"), ("A49.1", "J15.4"), ("B96.2", "J15.5"),
                      ("B96.3", "J14"), ("B96.0", "J15.7"), ("A49.3", "J15.7"), ("B96.4", "J15.6"))


def pneumonia_by_organism(note: NoteCoding) -> None:
    """A pneumonia of unspecified organism (J18.-) and an organism named in its sentence are one code,
    the pneumonia due to that organism (I.B.9): "E. coli pneumonia" is J15.5, not J18.9 with B96.20 (no
    organism code beside it, I.C.1.e.1.a). An organism a culture names elsewhere is the provider's to
    link, and one the sentence could give to another infection ("pneumonia and E. coli UTI") stays."""
    organisms = note.starting(("B95", "B96", "A49"))
    for line in note.starting(("J18",)) if organisms else ():
        sentences = {m.sentence_start for m in note.mentions(line)}

        def in_sentence(other: CodeLine) -> bool:
            return bool(sentences & {m.sentence_start for m in note.mentions(other)})

        combined = [other for other in note.starting(SPECIFIED_PNEUMONIAS) if in_sentence(other)]
        if combined:  # "MRSA pneumonia" read as J15.212 and as "pneumonia"
            note.replace(line, combined[0].code, "the sentence names the pneumonia with its organism: one code (I.B.9)")
            continue
        others = [other for other in note.starting(SITE_INFECTIONS) if not other.code.startswith(PNEUMONIAS) and in_sentence(other)]
        # the organism its words link first ("MRSA": A49.02, not the B95.61 a sibling brought)
        named = sorted((o for o in organisms if in_sentence(o)),
                       key=lambda o: not any(m.candidates and m.candidates[0].code == o.code for m in note.mentions(o)))
        target = next((code for o in named for prefix, code in ORGANISM_PNEUMONIA if o.code.startswith(prefix)), None)
        if others or target is None or not note.billable(target):
            continue
        organism = next(o for o in named if any(o.code.startswith(p) for p, c in ORGANISM_PNEUMONIA if c == target))
        combined = note.replace(line, target, f"its sentence names the organism ({organism.code}): pneumonia due to it "
                                              "is one code (I.B.9)")
        note.absorb(organism, combined, f"{target} names the organism (I.C.1.e.1.a)")


# a staphylococcus the note says colonises (nares screen, carrier) -> its carrier code (I.C.1.e.2)
CARRIER_OF = {"B95.62": "Z22.322", "A49.02": "Z22.322", "B95.61": "Z22.321", "A49.01": "Z22.321"}
COLONIZED = re.compile(r"\b(?:coloni[sz](?:ation|ed)|carrier|nares (?:pcr|screen|swab|culture)|nasal swab)\b")


def colonization(note: NoteCoding) -> None:
    """MRSA or MSSA the note only says colonises the patient ("MRSA nares colonization") is a carrier, Z22.322 /
    Z22.321, not an infection's organism (I.C.1.e.2: colonization is not necessarily a disease process)."""
    for line in note.starting(tuple(CARRIER_OF), current=False):
        mentions = note.current_mentions(line)  # not "no prior MRSA infections"
        if mentions and all(COLONIZED.search(note.lower, m.sentence_start, m.sentence_end) for m in mentions):
            note.replace(line, CARRIER_OF[line.code], "the note says the patient carries it, not that it causes an infection "
                                                      "(I.C.1.e.2)")
    carriers = sorted(note.starting(("Z22.32",)), key=lambda line: -line.confidence)
    for line in carriers[1:]:  # MRSA read as MSSA too: one carrier per organism the words name
        if set(line.mention_indexes) & set(carriers[0].mention_indexes):
            note.absorb(line, carriers[0], "the same words are coded as the more likely carrier code (I.B.12)")


# intracranial bleeding read both as an injury and as a nontraumatic hemorrhage: (traumatic, nontraumatic)
INTRACRANIAL_BLEEDS = (("S06.5", "I62.0"), ("S06.6", "I60"), ("S06.4", "I62.1"))
TRAUMA = re.compile(r"\b(?:fall|fell|trauma\w*|mvc|mva|collision|struck|hit|assault\w*|injur\w*|blow to)\b")
SAID_TRAUMATIC = re.compile(r"(?<!non)(?<!non-)\btraumatic\b")
SAID_NONTRAUMATIC = re.compile(r"\b(?:non-?traumatic|spontaneous|no (?:head )?trauma|without trauma)\b")


def traumatic_or_not(note: NoteCoding) -> None:
    """A subdural, subarachnoid or epidural bleed is the injury code (S06.-) when the note names a trauma and the
    nontraumatic one (I60-I62) when it does not, or says so: one code for one bleed (I.B.12)."""
    said_traumatic, said_not = SAID_TRAUMATIC.search(note.lower) is not None, SAID_NONTRAUMATIC.search(note.lower) is not None
    # the note's word when it gives one only; else whether it names a mechanism of injury
    traumatic = said_traumatic if said_traumatic != said_not else TRAUMA.search(note.lower) is not None
    for injury, disease in INTRACRANIAL_BLEEDS:
        injuries, diseases = note.starting((injury,)), note.starting((disease,))
        if not injuries or not diseases:
            continue
        keep, drop = (injuries, diseases) if traumatic else (diseases, injuries)
        for line in drop:
            note.absorb(line, keep[0], "the note " + ("names the trauma: the injury code" if traumatic else
                                                       "names no trauma: the nontraumatic hemorrhage") + " (I.B.12)")


def nash_cirrhosis(note: NoteCoding) -> None:
    """Cirrhosis from nonalcoholic steatohepatitis is K75.81 with K74.69 "other cirrhosis of liver", not the
    unspecified K74.60 (I.B.2: the Index's "Cirrhosis, ... due to NASH")."""
    if note.starting(("K75.81",)):
        for line in note.starting(("K74.60",)):
            note.replace(line, "K74.69", "cirrhosis of a known cause (NASH, K75.81): other cirrhosis (I.B.2)")


ON_DIALYSIS = re.compile(r"\b(?:on|back on|resumed|restarted) (?:hemo|peritoneal )?dialysis\b")


def transplanted_kidney(note: NoteCoding) -> None:
    """After a kidney transplant, the end-stage kidney disease it replaced is gone unless the patient is on
    dialysis again (Z99.2): no N18.6 beside Z94.0 or a transplant complication T86.1- (I.C.14.a.2: code the
    graft's CKD stage when the note gives one)."""
    transplant = note.starting(("Z94.0", "T86.1"))
    if not transplant or note.starting(("Z99.2",)) or ON_DIALYSIS.search(note.lower):
        return
    for line in note.starting(("N18.6",), current=False):
        note.withdraw(line, f"the kidney transplant ({transplant[0].code}) ended the end-stage disease; no dialysis now "
                            "(I.C.14.a.2)", because_of=transplant[0])


# acute organ dysfunctions (I.C.1.d.4, I.C.18.g: SIRS of non-infectious origin "with acute organ dysfunction")
ORGAN_DYSFUNCTIONS = ("J96.0", "J96.2", "J80", "N17", "G93.41", "K72.0", "D65", "R57", "R40.2", "I95")


def sirs_with_organ_dysfunction(note: NoteCoding) -> None:
    """SIRS of non-infectious origin with an acute organ dysfunction the note codes (acute respiratory failure,
    acute kidney injury, encephalopathy, ...) is R65.11, not R65.10 (I.C.18.g)."""
    organs = note.starting(ORGAN_DYSFUNCTIONS)
    for line in note.starting(("R65.10",)) if organs else ():
        note.replace(line, "R65.11", f"SIRS with an acute organ dysfunction ({organs[0].code}) (I.C.18.g)")


NIHSS = re.compile(r"\bnihss(?: score)?(?: of| was| is| on arrival| at presentation)?:?\s*(\d{1,2})\b")
THROMBOLYTIC = re.compile(r"\b(?:tpa|rtpa|alteplase|tenecteplase|tnk|thrombolysis|thrombolytics?)\b")
ELSEWHERE = re.compile(r"\b(?:osh|outside hospital|outside facility|another (?:hospital|facility)|referring (?:hospital|facility|ed)|"
                       r"transferred from|transfer from)\b")


def stroke_details(note: NoteCoding) -> None:
    """With an acute ischemic stroke (I63): the NIHSS score the note documents first, R29.7- (I.C.18.j), and
    Z92.82 when the patient received tPA at another facility before this admission (I.C.21.c.3)."""
    strokes = [line for line in note.starting(("I63",))  # a stroke the provider diagnoses, not a "code stroke" activated
               if any(m.section in DIAGNOSIS_SECTIONS for m in note.current_mentions(line))]
    if not strokes:
        return
    stroke = max(strokes, key=lambda line: line.confidence)
    score = NIHSS.search(note.lower)
    code = f"R29.7{int(score.group(1)):02d}" if score is not None else ""  # R29.700-R29.742: scores 0-42
    if code and note.billable(code):
        note.add(code, f"the NIHSS score documented with the stroke, {score.group(1)} (I.C.18.j)",
                 confidence=stroke.confidence, like=[stroke])
    if note.setting == INPATIENT and any(ELSEWHERE.search(t) for t in sentences_saying(note, THROMBOLYTIC)):
        note.add("Z92.82", "tPA given at another facility before this admission (I.C.21.c.3)", confidence=stroke.confidence,
                 like=[stroke])


VENTILATOR_PNEUMONIA = "J95.851"


def ventilator_pneumonia(note: NoteCoding) -> None:
    """A ventilator-associated pneumonia is J95.851 with the organism's B95-B96 code, never a J12-J18 code
    for it (I.C.10.d.1): "VAP due to Pseudomonas" is J95.851 and B96.5, not J15.1. A pneumonia the note
    names in other sentences (the admission's pneumococcal pneumonia) stays."""
    vap = note.starting((VENTILATOR_PNEUMONIA,))
    if not vap:
        return
    sentences = {m.sentence_start for m in note.mentions(vap[0])}
    said = [line for line in note.starting(PNEUMONIAS, current=False)
            if note.mentions(line) and all(m.sentence_start in sentences for m in note.mentions(line))]
    best = max(said, key=lambda line: line.confidence, default=None)
    organism = next((prefix for prefix, code in ORGANISM_PNEUMONIA if best is not None and code == best.code
                     and prefix[:1] == "B" and len(prefix) > 4 and note.billable(prefix)), None)
    if organism is not None:
        note.add(organism, "the organism of the ventilator-associated pneumonia (I.C.10.d.1)", confidence=best.confidence,
                 like=[best])
    for line in said:
        note.absorb(line, vap[0], "a ventilator-associated pneumonia takes no J12-J18 code (I.C.10.d.1)")


# "infection, unspecified site" codes and the organism code for an infection coded by its site
SITE_UNSPECIFIED_ORGANISM = {"A49.01": "B95.61", "A49.02": "B95.62", "A49.1": "B95.5", "A49.3": "B96.0"}
SITE_INFECTIONS = ("L0", "N10", "N11", "N12", "N30", "N34", "N39.0", "N41", "N45", "N70", "N71", "N73", "J0", "J12",
                   "J13", "J14", "J15", "J16", "J18", "J20", "J22", "J85", "J86", "H60", "H66", "M00", "M46.2", "M86",
                   "K61", "K63.0", "K65", "K81", "K83.0", "I33", "G00", "G04", "G06", "T81.4", "T82.6", "T82.7",
                   "T83.5", "T84.5", "T84.6", "T84.7", "T85.7", "T80.2", "A40", "A41", "R78.81")
# combination codes that name the organism with the infection (no B95-B96 beside them)
WITH_ORGANISM = ("A40", "A41", "J15", "J13", "J14", "G00", "A04.7")


ORGANISM_CODES = ("B95", "B96", "B97")
_AS_THE_CAUSE = re.compile(r"\s+(?:infection\s+)?as the cause of diseases classified elsewhere$")


def organism_in_combination(note: NoteCoding) -> None:
    """An organism code (B95-B97) leaves beside a code whose title names that organism with the
    infection (I.C.1.e.1.a: J13 "pneumonia due to Streptococcus pneumoniae" needs no B95.3, J15.212
    no B95.62)."""
    for line in note.starting(ORGANISM_CODES, current=False):
        title = _AS_THE_CAUSE.sub("", note.description(line.code).lower())
        organism = re.sub(r"\s*(?:\([^)]*\)|\[[^\]]*\])", "", title).strip()  # "klebsiella pneumoniae", no "[k. pneumoniae]"
        organism = organism.removeprefix("unspecified ").removeprefix("other ")  # B96.20: "escherichia coli"
        naming = [other for other in note.documented("") if other is not line and not other.code.startswith(ORGANISM_CODES)
                  and organism in note.description(other.code).lower()]
        if naming:
            note.absorb(line, naming[0], f"{naming[0].code} names the organism (I.C.1.e.1.a)")


# a pyogenic arthritis by its organism (M00.- "staphylococcal", "pneumococcal", "other streptococcal")
ARTHRITIS_BY_ORGANISM = (("B95.6", "M00.0"), ("B95.7", "M00.0"), ("B95.8", "M00.0"), ("B95.3", "M00.1"), ("B95.", "M00.2"))


def arthritis_by_organism(note: NoteCoding) -> None:
    """A pyogenic (septic) arthritis whose organism the note names is M00.0-/M00.1-/M00.2- by organism
    and joint ("septic arthritis of the right knee", MSSA: M00.061), with the organism's B95 code (its
    "use additional code"), not M00.9 (I.B.1, I.C.1.e)."""
    organism = note.starting(("B95",)) if note.catalog is not None else []
    for line in note.starting(("M00.9", "M00.8"), current=False) if organism else ():
        category = next((m00 for b95, m00 in ARTHRITIS_BY_ORGANISM if organism[0].code.startswith(b95)), None)
        said = side_and_site(note.sentences(line))
        fits = [code for code in note.catalog.with_prefix(CodeSystem.ICD10CM, category or "M00.0")
                if note.billable(code) and side_and_site(note.description(code)) == said]
        if category is not None and len(fits) == 1:
            note.replace(line, fits[0], f"the note names the organism ({organism[0].code}) and the joint (I.B.1)")


def organism_of_a_site_infection(note: NoteCoding) -> None:
    """An infection coded by its site takes its organism as B95-B96, not the "infection, unspecified
    site" code (I.C.1.e.1.b: MRSA cellulitis is L03.- with B95.62, not A49.02); a combination code
    that names the organism (A41.02 MRSA sepsis, J15.212 MRSA pneumonia) needs neither."""
    for line in note.starting(tuple(SITE_UNSPECIFIED_ORGANISM), current=False):
        infections = note.starting(SITE_INFECTIONS)
        if not infections:
            continue
        combined = [other for other in infections if other.code.startswith(WITH_ORGANISM)]
        if combined:
            note.absorb(line, combined[0], f"{combined[0].code} names the organism (I.C.1.e.1.a)")
            continue
        target = SITE_UNSPECIFIED_ORGANISM[line.code]
        note.replace(line, target, f"the organism of the {note.description(infections[0].code).lower()} "
                     f"({infections[0].code}) is {target}, not an infection of unspecified site (I.C.1.e.1.b)")


# I.C.15.i: treated with insulin (with or without diet) is insulin controlled; with oral drugs (and
# diet), controlled by oral hypoglycemic drugs; else diet controlled when the note says so
GESTATIONAL_CONTROL = ((re.compile(r"(?<!declined )(?<!refused )(?<!declines )\b(?:insulin|nph|lispro|aspart|glargine|detemir)\b"),
                        "O24.4x4"),
                       (re.compile(r"\b(?:metformin|glyburide|oral (?:agent|hypoglycemic|medication)s?)\b"), "O24.4x5"),
                       (re.compile(r"\bdiet(?:[- ]controlled| alone|ary)?\b"), "O24.4x0"))


def gestational_diabetes(note: NoteCoding) -> None:
    """Gestational diabetes (O24.4-) is not diabetes mellitus: an E08-E13 code read from its words leaves
    (I.C.15.i: gestational diabetes is coded to O24.4- alone; pre-existing diabetes is O24.0-O24.3 with
    its E code)."""
    gestational = note.starting(("O24.4",), current=False)
    if not gestational:
        return
    words = set().union(*(line.mention_indexes for line in gestational))
    for line in note.starting(DIABETES, current=False):
        if line.mention_indexes and set(line.mention_indexes) <= words:
            note.absorb(line, gestational[0], "gestational diabetes is O24.4-, not diabetes mellitus (I.C.15.i)")
    control = next((code for pattern, code in GESTATIONAL_CONTROL if affirmed(pattern, note.lower)), None)
    best = max(gestational, key=lambda line: line.confidence)
    if control is not None and best.code[6:] != control[6:] and note.billable(best.code[:6] + control[6:]):
        best = note.replace(best, best.code[:6] + control[6:], "the note says how it is controlled (I.C.15.i)")
    for line in note.starting(("O24.4",), current=False):
        if line is not best and line.code[:6] == best.code[:6]:
            note.withdraw(line, f"one gestational diabetes code: {best.code} (I.C.15.i)", because_of=best)


# "acute pancreatitis due to hypertriglyceridemia": a cause the index has no code of its own for
PANCREATITIS_CAUSE = re.compile(r"\bpancreatitis,? (?:due to|secondary to|caused by|from|induced by|related to) (\w+)")
PANCREATITIS_KNOWN_CAUSE = re.compile(r"alcohol|etoh|gallstone|biliary|cholelith|choledocho|drug|medication|idiopathic|unknown|unclear|unspecified")


def pancreatitis_cause(note: NoteCoding) -> None:
    """Acute pancreatitis due to a cause the category names apart (idiopathic K85.0-, biliary K85.1-,
    alcohol K85.2-, drug K85.3-) is coded there by the words; another named cause (hypertriglyceridemia,
    hypercalcemia, a procedure) is K85.8- "other acute pancreatitis", not K85.9- (I.B.1: the index's
    "specified NEC"); the 5th character (necrosis, infection) stays."""
    for line in note.starting(("K85.9",)):
        found = PANCREATITIS_CAUSE.search(note.sentences(line))
        if found is None or PANCREATITIS_KNOWN_CAUSE.match(found.group(1)):
            continue
        other = "K85.8" + line.code[5:]
        if note.billable(other):
            note.replace(line, other, f"a named cause, {found.group(1)}, with no code of its own (I.B.1)")


# The STEMI codes by the artery or wall the note names (I21.0- anterior wall, I21.1- inferior wall,
# I21.2- other sites), most specific first: (pattern on the sentence, code, what)
STEMI_SITES: tuple[tuple[re.Pattern, str, str], ...] = tuple((re.compile(p), code, what) for p, code, what in (
    (r"\bleft main\b|\blmca?\b", "I21.01", "the left main coronary artery"),
    (r"\bleft anterior descending\b|\blad\b", "I21.02", "the left anterior descending artery"),
    (r"\bright coronary\b|\brca\b", "I21.11", "the right coronary artery"),
    (r"\bcircumflex\b|\blcx\b|\bcx\b", "I21.21", "the left circumflex artery"),
    (r"\b(?:anterior|anteroseptal|anterolateral|anteroapical)\b", "I21.09", "the anterior wall"),
    (r"\b(?:inferior|inferolateral|inferoposterior|diaphragmatic)\b", "I21.19", "the inferior wall"),
    (r"\b(?:lateral|posterior)\b", "I21.29", "another site"),
))


def stemi_site(note: NoteCoding) -> None:
    """A STEMI of unspecified site (I21.3) is coded by the artery or wall its sentence names (I.C.9.e:
    I21.0-I21.2 by site; I21.3 only when the site is not documented)."""
    for line in note.starting(("I21.3",)):
        sentence = note.sentences(line)
        for pattern, code, what in STEMI_SITES:
            if pattern.search(sentence) and note.billable(code):
                note.replace(line, code, f"a STEMI of {what} (I.C.9.e.1)")
                break


CHEMOTHERAPY_INDUCED = re.compile(r"\b(?:due to|secondary to|from|after|induced by|related to|caused by) (?:the |his |her )?"
                                  r"(?:chemo\w*|antineoplastic|cytotoxic)|\bchemo(?:therapy)?[- ]induced\b")


def chemotherapy_pancytopenia(note: NoteCoding) -> None:
    """Pancytopenia the note puts down to cancer chemotherapy is D61.810 (with the drug's adverse effect
    T45.1X5-, I.C.19.e.5.a), not D61.818 "other pancytopenia" (I.C.3.a.2, D61.81-)."""
    for line in note.starting(("D61.818", "D61.81", "D61.9")):
        if CHEMOTHERAPY_INDUCED.search(note.sentences(line)):
            note.replace(line, "D61.810", "pancytopenia due to antineoplastic chemotherapy (D61.810)")


NEUTROPENIC_FEVER = re.compile(r"\b(?:neutropenic fevers?|febrile neutropenia|fever (?:and|with|in) (?:the setting of )?neutropenia)\b")
CHEMOTHERAPY = re.compile(r"\b(?:chemo\w*|r-chop|chop|folfox|cytotoxic|antineoplastic|cycle \d)")


def neutropenic_fever(note: NoteCoding) -> None:
    """Neutropenic fever is the neutropenia (D70.1 after cancer chemotherapy, else D70.9) with the fever
    as R50.81 "fever presenting with conditions classified elsewhere" (D70: use additional code for the
    fever), not R50.9."""
    match = NEUTROPENIC_FEVER.search(note.lower)
    if match is None:
        return
    like = evidence(note, *sentence_of(note, match.start(), match.end()))
    chemo = CHEMOTHERAPY.search(note.lower) or note.starting(("T45.1X5",), current=False)
    code = "D70.1" if chemo else "D70.9"
    neutropenia = note.starting(("D70",), current=False)
    if neutropenia:
        target = note.replace(neutropenia[0], code, "neutropenia by its cause (D70)")
    else:
        target = note.add(code, "the note documents neutropenic fever (D70)", confidence=0.6, like=like)
    fever = note.starting(("R50.9",), current=False)
    if fever:
        note.replace(fever[0], "R50.81", f"fever with {target.code}: R50.81 (D70: use additional code for fever)")
    else:
        note.add("R50.81", f"fever with {target.code} (D70: use additional code for fever)", confidence=target.confidence,
                 like=[target])


def fever_a_condition_asks_for(note: NoteCoding) -> None:
    """A fever beside a condition whose tabular notes ask for "any associated fever (R50.81)" (sickle-cell
    disorders D57, neutropenia D70) is R50.81 "fever presenting with conditions classified elsewhere",
    not R50.9."""
    fever = note.starting(("R50.9",))
    if not fever or note.catalog is None:
        return
    for line in note.lines:
        record = note.catalog.get(CodeSystem.ICD10CM, line.code) if line.system == "ICD10CM" else None
        if record is not None and any("(R50.81)" in text for _, text in inherited_notes(note.catalog, record, "use_additional")):
            note.replace(fever[0], "R50.81", f"fever with {line.code}: R50.81 ({line.code[:3]}: use additional code "
                         "for any associated fever)")
            return


INFECTED_OBSTRUCTION = re.compile(r"\binfected\b|\bwith (?:an? )?(?:superimposed )?infection\b|\bpyonephrosis\b")
URINARY_INFECTIONS = ("N39.0", "N10", "N11", "N12", "N30")


def obstruction_with_infection(note: NoteCoding) -> None:
    """Hydronephrosis or obstructive uropathy (N13.0-N13.5) with infection is N13.6 "pyonephrosis" (its
    inclusion term: "conditions in N13.0-N13.5 with infection"), not the obstruction beside a UTI code:
    one combination code (I.B.9)."""
    obstructions = note.starting(("N13.0", "N13.1", "N13.2", "N13.3", "N13.4", "N13.5"))
    if not obstructions:
        return
    infections = note.starting(URINARY_INFECTIONS)
    if not infections and not INFECTED_OBSTRUCTION.search(note.sentences(obstructions[0])):
        return
    target = note.replace(obstructions[0], "N13.6", "obstruction with infection: N13.6, one combination code (I.B.9)")
    for line in obstructions[1:] + infections:
        note.absorb(line, target, "N13.6 codes the obstruction with its infection (I.B.9)")


# a secondary site's code -> the secondary neuroendocrine tumour's (C78 Excludes1 "secondary carcinoid tumors")
SECONDARY_NEUROENDOCRINE = (("C77", "C7B.01"), ("C78.7", "C7B.02"), ("C79.5", "C7B.03"), ("C78.6", "C7B.04"),
                            ("C78", "C7B.09"), ("C79", "C7B.09"))


def secondary_neuroendocrine(note: NoteCoding) -> None:
    """The metastases of a neuroendocrine (carcinoid) tumour are C7B.- by site, not C77-C79 (C78 and C79
    exclude secondary carcinoid and neuroendocrine tumours): liver C7B.02, bone C7B.03, peritoneum C7B.04,
    distant lymph nodes C7B.01 (I.C.2)."""
    if not note.starting(("C7A",)):
        return
    for line in note.starting(("C77", "C78", "C79")):
        code = next(target for prefix, target in SECONDARY_NEUROENDOCRINE if line.code.startswith(prefix))
        note.replace(line, code, f"a metastasis of the neuroendocrine tumour: {code}, not {line.code} (C78/C79 Excludes1)")
    sited = [line for line in note.starting(("C7B.0",)) if line.code != "C7B.09"]
    for line in note.starting(("C7B.09", "D3A")) if sited else ():  # "other sites" or benign beside a named site
        note.absorb(line, sited[0], f"the metastases are coded by their site ({sited[0].code})")


KNOWN_BEHAVIOUR = ("C", "D0", "D1", "D2", "D3", "D4")  # C00-D48: malignant, in situ, benign, uncertain


def unspecified_behaviour_beside_known(note: NoteCoding) -> None:
    """A neoplasm "of unspecified behavior" (D49) leaves when the sentences of its words code the neoplasm's
    behaviour (C00-D48): one neoplasm, one code (I.C.2; D49 is for a behaviour the record does not give)."""
    for line in note.starting(("D49",)):
        sentences = {(m.sentence_start, m.sentence_end) for m in note.current_mentions(line)}
        known = [other for other in note.starting(KNOWN_BEHAVIOUR) if not other.code.startswith("D49") and
                 sentences and sentences <= {(m.sentence_start, m.sentence_end) for m in note.current_mentions(other)}]
        if known:
            note.absorb(line, known[0], f"its sentence gives the neoplasm's behaviour: {known[0].code} (I.C.2)")


VALVES = {"mitral": ("I05", "I34"), "aortic": ("I06", "I35"), "tricuspid": ("I07", "I36")}
MULTIPLE_VALVES = {frozenset({"mitral", "aortic"}): "I08.0", frozenset({"mitral", "tricuspid"}): "I08.1",
                   frozenset({"aortic", "tricuspid"}): "I08.2", frozenset(VALVES): "I08.3"}
RHEUMATIC = re.compile(r"(?<!non)(?<!non-)\brheumatic\b")


def rheumatic_multiple_valves(note: NoteCoding) -> None:
    """Rheumatic disease of two or three valves is one code, I08.- (I05-I07 exclude "with aortic and/or
    tricuspid valve involvement (I08.-)"; I.B.9), not a code per valve; nonrheumatic valve codes of
    the same valves (I34-I36) leave into it too."""
    found = {valve: note.starting(prefixes) for valve, prefixes in VALVES.items()}
    found = {valve: lines for valve, lines in found.items() if lines}
    lines = [line for valve_lines in found.values() for line in valve_lines]
    rheumatic = any(line.code[:3] in ("I05", "I06", "I07") for line in lines) or affirmed(
        RHEUMATIC, "\n".join(note.sentences(line) for line in lines))
    if len(found) < 2 or not rheumatic:
        return
    code = MULTIPLE_VALVES[frozenset(found)]
    target = note.replace(max(lines, key=lambda line: line.confidence), code,
                          f"rheumatic disease of the {' and '.join(sorted(found))} valves: one code (I.B.9)")
    for line in lines:
        note.absorb(line, target, f"{target.code} codes the valves together (I.B.9)")


ULCERS = ("K25", "K26", "K27", "K28")  # gastric, duodenal, peptic, gastrojejunal: the 4th character is the course
ULCER_BLEEDING = re.compile(r"\b(?:bleed\w*|hemorrhag\w*|haemorrhag\w*|hematemesis|melena|coffee[- ]ground\w*)\b")
ULCER_PERFORATION = re.compile(r"\bperforat\w*|\bfree (?:intraperitoneal )?air\b|\bpneumoperitoneum\b")
ACUTE_ULCER = re.compile(r"\bacute (?:\w+ ){0,2}ulcers?\b")
CHRONIC_ULCER = re.compile(r"\bchronic (?:\w+ ){0,2}ulcers?\b")
BLEEDING_SIGNS = ("K92.0", "K92.1", "K92.2")  # hematemesis, melena, GI hemorrhage unspecified


def ulcer_complications(note: NoteCoding) -> None:
    """A peptic ulcer is coded with what the note says of it (I.B.9, the 4th character of K25-K28): acute
    0-3, chronic or unspecified 4-6 with hemorrhage, perforation or both, 7 chronic without, 9 neither
    said; the bleeding's own codes (hematemesis, melena, K92.2) leave into the ulcer's."""
    for line in note.starting(ULCERS):
        text = note.sentences(line)
        bleeding = affirmed(ULCER_BLEEDING, text) or bool(note.starting(BLEEDING_SIGNS))
        perforated = affirmed(ULCER_PERFORATION, text)
        acute, chronic = affirmed(ACUTE_ULCER, text), affirmed(CHRONIC_ULCER, text)
        if acute:
            digit = "2" if bleeding and perforated else "0" if bleeding else "1" if perforated else "3"
        else:
            digit = "6" if bleeding and perforated else "4" if bleeding else "5" if perforated else "7" if chronic else "9"
        code = line.code[:4] + digit
        if code != line.code and (bleeding or perforated or line.code[4:5] == "9") and note.billable(code):
            line = note.replace(line, code, f"the ulcer as the note describes it: {note.description(code)} (I.B.9)")
        if bleeding and note.is_current(line):
            for sign in note.starting(BLEEDING_SIGNS):
                note.absorb(sign, line, f"{line.code} codes the ulcer's bleeding (I.B.9)")


SMALL_BOWEL = re.compile(r"\b(?:terminal ileum|ileum|ileal|ileitis|jejun\w*|duoden\w*|small (?:bowel|intestine))\b")
LARGE_BOWEL = re.compile(r"\b(?:colon\w*|colitis|rect\w*|proctitis|cec\w*|sigmoid|large (?:bowel|intestine))\b")
BOTH_BOWELS = re.compile(r"\bileo-?colo?n?ic\b|\bileocolitis\b")


def crohn_site(note: NoteCoding) -> None:
    """Crohn's disease by the bowel it involves (the 4th character of K50): small intestine K50.0-, large
    intestine K50.1-, both K50.8-, with the complication characters kept; K50.9- only when the note
    names no site (I.B.2: the most specific code)."""
    for line in note.starting(("K50.8", "K50.9")):
        text = note.sentences(line)
        small, large = affirmed(SMALL_BOWEL, text), affirmed(LARGE_BOWEL, text)
        site = "8" if BOTH_BOWELS.search(text) or (small and large) else "0" if small else "1" if large else ""
        code = line.code[:4] + site + line.code[5:]
        if site and code != line.code and note.billable(code):
            note.replace(line, code, f"Crohn's disease of the bowel the note names: {note.description(code)} (I.B.2)")


def pulmonary_embolism_kind(note: NoteCoding) -> None:
    """One code for one embolism (I.B.12): "other pulmonary embolism" (I26.09 / I26.99) leaves beside the
    code that names its kind (septic, saddle, single or multiple subsegmental) or beside chronic pulmonary
    embolism (I27.82), which the note's chronic clot is."""
    for other in note.starting(("I26.09", "I26.99")):
        kind = next((line for line in note.starting(("I26", "I27.82")) if line is not other
                     and line.code not in ("I26.09", "I26.99") and line.confidence >= other.confidence), None)
        if kind is not None:
            note.absorb(other, kind, f"{kind.code} names the embolism's kind (I.B.12)")


def copd_with_emphysema(note: NoteCoding) -> None:
    """COPD with emphysema is the emphysema code (J43.-) alone, not J44.9 beside it: emphysema is a form of
    COPD (I.B.12; the Index's "Disease, lung, obstructive, with emphysema - see Emphysema")."""
    emphysema = note.starting(("J43",))
    for line in note.starting(("J44.9", "J44.8")) if emphysema else ():
        note.absorb(line, emphysema[0], f"{emphysema[0].code}: the emphysema is the COPD (I.B.12)")


# a COVID-19 manifestation's code (I.C.1.g.1.c): the unspecified or "other virus" code -> the COVID one
COVID_MANIFESTATIONS = ((("J18", "J12.89", "J12.9"), "J12.82", "pneumonia due to COVID-19"),
                        (("J20.9", "J40"), "J20.8", "acute bronchitis due to another specified organism"),
                        (("A41.9",), "A41.89", "sepsis due to COVID-19: other specified sepsis"))


def covid_manifestations(note: NoteCoding) -> None:
    """COVID-19 (U07.1) with pneumonia is J12.82, with acute bronchitis J20.8, with sepsis A41.89 (the
    guideline's own codes for its manifestations, I.C.1.g.1.c), not the unspecified ones."""
    if not note.starting(("U07.1",)):
        return
    for prefixes, code, what in COVID_MANIFESTATIONS:
        lines = note.starting(prefixes)
        if lines and note.billable(code):
            target = note.get(code) or note.replace(lines[0], code, f"{what} (I.C.1.g.1.c)")
            words = set(target.mention_indexes)
            for line in lines + [o for o in note.starting((code[:3],), current=False) if words & set(o.mention_indexes)]:
                if line is not target and line in note.lines:  # the category's other readings of the same words too
                    note.absorb(line, target, f"{target.code} codes it with COVID-19 (I.C.1.g.1.c)")


HIV_DISEASE = re.compile(r"\baids\b|\bhiv disease\b|\bhuman immunodeficiency virus disease\b")
# conditions HIV makes a patient prone to (opportunistic infections, AIDS-defining cancers): with one, B20
HIV_RELATED = ("A07.2", "A07.3", "A15", "A31", "B00", "B25", "B37", "B38", "B39", "B45", "B58", "B59", "C46", "C83.3",
               "R64")


def hiv_status(note: NoteCoding) -> None:
    """B20 is HIV disease: "AIDS" or "HIV disease", or an HIV-related condition the note documents; a
    patient only known to be HIV positive, without symptoms, is Z21 (I.C.1.a.2.d). Not B97.35, which is
    the virus as the cause of another disease."""
    for line in note.starting(("B20",), current=False):
        if HIV_DISEASE.search(note.lower) or any(other is not line and other.code.startswith(HIV_RELATED)
                                                  for other in note.lines):
            continue
        target = note.replace(line, "Z21", "HIV positive with no HIV-related condition documented is Z21 (I.C.1.a.2.d)")
        for other in note.starting(("B97.35",), current=False):
            note.absorb(other, target, "the virus is coded as the patient's status, Z21 (I.C.1.a.2.d)")


# angina type -> atherosclerotic heart disease of native coronary artery with that angina (I.C.9.b)
CAD_WITH_ANGINA: tuple[tuple[str, str], ...] = (
    ("I20.0", "I25.110"), ("I20.1", "I25.111"), ("I20.81", "I25.118"), ("I20.89", "I25.118"), ("I20.9", "I25.119"),
)


def coronary_disease_with_angina(note: NoteCoding) -> None:
    """Coronary atherosclerosis with angina is one code, I25.11- (the causal link is presumed,
    I.C.9.b); the separate angina code (I20.-) is not coded beside it."""
    cad = note.starting(("I25.10",))
    if not cad:
        return
    found = [(line, code) for angina, code in CAD_WITH_ANGINA for line in note.starting((angina,))]
    if not found:
        return
    angina, code = max(found, key=lambda pair: pair[0].confidence)  # the angina the note is surest of
    target = note.replace(cad[0], code, "coronary atherosclerosis with angina is presumed linked (I.C.9.b)",
                          confidence=min(cad[0].confidence, angina.confidence))
    for line in note.starting(("I20",), current=False):
        note.absorb(line, target, f"{code} names the angina (I.C.9.b)")


ULCERS = ("K25", "K26", "K27", "K28")  # gastric, duodenal, peptic, gastrojejunal
BLEEDING = ("K92.0", "K92.1", "K92.2")  # haematemesis, melaena, GI haemorrhage


def ulcer_with_bleeding(note: NoteCoding) -> None:
    """A peptic ulcer and the bleeding it explains are one code, "ulcer with hemorrhage" (K25-K28 .0 /
    .4; the Alphabetic Index's "with hemorrhage"): melena or hematemesis is not coded beside it (I.B.9, I.B.5)."""
    ulcers = [line for line in note.starting(ULCERS) if line.code[4:5] in ("9", "7", "3")]
    bleeding = note.starting(BLEEDING)
    if not ulcers or not bleeding:
        return
    ulcer = ulcers[0]
    acute = ulcer.code[4:5] == "3"  # acute without hemorrhage or perforation
    code = ulcer.code[:3] + (".0" if acute else ".4")
    if not note.billable(code):
        return
    target = note.replace(ulcer, code, "the ulcer is the source of the bleeding the note documents (I.B.9)",
                          confidence=min(ulcer.confidence, any_of(bleeding)))
    for line in bleeding:
        note.absorb(line, target, f"{code} includes the hemorrhage (I.B.5)")


DEMENTIA = ("F01", "F02", "F03")
ALZHEIMER = re.compile(r"\balzheimer'?s?\b")
ALZHEIMER_ONSET = ((re.compile(r"\bearly[- ]onset\b"), "G30.0"), (re.compile(r"\blate[- ]onset\b"), "G30.1"))


# I.C.5.d: dementia by severity (the 4th character: A mild, B moderate, C severe; the unspecified
# severity is F01.5-, F02.8-, F03.9-) and by behaviour (the 5th-6th: 11 agitation, 18 other behavioural
# disturbance, 2 psychotic, 3 mood, 4 anxiety, 0 none)
_UNSPECIFIED_SEVERITY = {"F01": "5", "F02": "8", "F03": "9"}
_SEVERITY = ((re.compile(r"\bmild\b"), "A"), (re.compile(r"\bmoderate(?:ly)?\b"), "B"),
             (re.compile(r"\bsevere(?:ly)?\b"), "C"))
_BEHAVIOUR = ((re.compile(r"\b(?:agitat\w*|aggress\w*|combative\w*|violen\w*)"), "11"),
              (re.compile(r"\b(?:psychos[ie]s|psychotic|hallucinat\w*|delusion\w*|paranoi\w*)"), "2"),
              (re.compile(r"\b(?:depress\w*|mood disturbance|apathy)"), "3"),
              (re.compile(r"\b(?:anxiety|anxious)"), "4"),
              (re.compile(r"\b(?:wander\w*|disinhibit\w*|sleep disturbance|behaviou?ral disturbance\w*)"), "18"))


def dementia_severity(note: NoteCoding) -> None:
    """Dementia at the severity and with the behaviour its sentences say (I.C.5.d: "moderate, with
    agitation" is F03.B11; without a severity, the unspecified one: F03.911); not a behaviour the note
    denies ("without agitation")."""
    for line in note.documented(DEMENTIA):
        category = line.code[:3]
        if category not in _UNSPECIFIED_SEVERITY or line.code[:5] in ("F01.1", "F01.0"):
            continue
        said = note.sentences(line)
        severity = next((letter for pattern, letter in _SEVERITY if affirmed(pattern, said)), _UNSPECIFIED_SEVERITY[category])
        behaviour = next((digits for pattern, digits in _BEHAVIOUR if affirmed(pattern, said)), "0")
        code = f"{category}.{severity}{behaviour}"
        if code != line.code and note.billable(code):
            note.replace(line, code, "the dementia's severity and behaviour as the note says them (I.C.5.d)")


# the diseases a dementia is "in" (F02.-, "code first the underlying physiological condition"): words, code, prefix
DEMENTIA_CAUSES = ((re.compile(r"\blewy bod(?:y|ies)\b"), "G31.83", "G31.83"),
                   (re.compile(r"\bfrontotemporal\b"), "G31.09", "G31.0"),
                   (ALZHEIMER, "G30.9", "G30"))


def alzheimer_dementia(note: NoteCoding) -> None:
    """Dementia in Alzheimer's disease (or Lewy body, frontotemporal disease) is two codes: the disease
    first (G30.-, G31.83, G31.0-), then the dementia F02.- it causes ("code first the underlying
    physiological condition", I.A.13); an unspecified dementia F03.- beside it becomes the F02.- of the
    same severity and behaviour."""
    for words, disease, prefix in DEMENTIA_CAUSES:
        dementia = [line for line in note.starting(DEMENTIA) if note.says(words, line)]
        if not dementia:
            continue
        for line in list(dementia):
            if line.code.startswith("F03.") and len(line.code) >= 5:
                manifest = "F02." + ("8" if line.code[4] == "9" else line.code[4]) + line.code[5:]
                if note.billable(manifest):
                    note.replace(line, manifest, f"dementia in {note.description(disease)} is F02.- (I.A.13)")
        base = max(dementia, key=lambda line: line.confidence)
        if prefix == "G30":
            disease = next((code for pattern, code in ALZHEIMER_ONSET if pattern.search(note.sentences(base))), disease)
        if not note.starting((prefix,), current=False):
            note.add(disease, "the disease coded first for the dementia it causes (I.A.13)", confidence=base.confidence, like=[base])
        return


def sciatica_with_lumbago(note: NoteCoding) -> None:
    """Sciatica with low back pain is M54.4- "lumbago with sciatica", on the sciatica's side, not
    M54.3- beside M54.5- (an Excludes1 pair; I.B.9)."""
    sciatica, back = note.documented(("M54.3",)), note.documented(("M54.5",))
    if not (sciatica and back):
        return
    line = max(sciatica, key=lambda s: s.confidence)
    side = note_side(note, line)  # the words' side, not a sibling's the ranker put forward
    digits = ("1", "2") if side == "bilateral" else (side_digit(side, "0", bilateral=False),)  # no bilateral code: both (I.B.13)
    confidence = max(line.confidence, back[0].confidence)
    targets = [note.replace(line, "M54.4" + digits[0], "sciatica with low back pain is lumbago with sciatica (I.B.9)",
                            confidence=confidence)]
    targets += [note.add("M54.4" + digit, "bilateral, with no bilateral code: each side is coded (I.B.13)",
                         confidence=confidence, like=targets) for digit in digits[1:]]
    for other in [*sciatica, *back]:
        if other not in targets:
            note.absorb(other, targets[0], f"{targets[0].code} codes the low back pain and the sciatica together (I.B.9)")


def stones_with_hydronephrosis(note: NoteCoding) -> None:
    """Hydronephrosis with a kidney or ureter stone is N13.2 (N20.- and N13.3- are Excludes1 with it;
    I.B.9)."""
    stones = note.documented(("N20.0", "N20.1", "N20.2", "N20.9"))
    hydro = [h for h in note.documented(("N13.3",)) if note.stated(h)]  # a CT's finding alone is not coded (III.B)
    if not (stones and hydro):
        return
    line = max(hydro, key=lambda h: h.confidence)
    target = note.replace(line, "N13.2", "hydronephrosis with the stone that obstructs: one code (I.B.9)",
                          confidence=max(line.confidence, max(s.confidence for s in stones)))
    for other in [*stones, *hydro]:
        note.absorb(other, target, "N13.2 codes the stone and the hydronephrosis together (I.B.9)")


def kidney_and_ureter_stones(note: NoteCoding) -> None:
    """Calculi of the kidney and of the ureter together are N20.2, not N20.0 and N20.1 (I.B.9); the
    ureter's stone on words of its own, not a second reading of "nephrolithiasis"."""
    kidney = note.starting(("N20.0",))
    ureter = [line for line in note.starting(("N20.1",)) if kidney and set(line.mention_indexes) - set(kidney[0].mention_indexes)]
    if kidney and ureter:
        target = note.replace(kidney[0], "N20.2", "stones in the kidney and the ureter are one code (I.B.9)",
                              confidence=min(kidney[0].confidence, ureter[0].confidence))
        for line in ureter:
            note.absorb(line, target, "N20.2 codes the ureteral stone too (I.B.9)")
