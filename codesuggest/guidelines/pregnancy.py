"""Pregnancy and the newborn's birth record (ICD-10-CM Official Guidelines I.C.15, I.C.16): chapter 15
codes only on the mother's record, the trimester the weeks of gestation give, the weeks themselves
(Z3A.-), and the codes that stand alone (O80, Z33.1)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..codesets.records import CodeSystem
from .engine import CM, INPATIENT, NoteCoding
from .wording import affirmed

# The gestational age a note gives: "at 24 weeks", "24 weeks gestation", "39w2d", "GA 35 wks",
# "24 weeks by first-trimester ultrasound"; not "in 2 weeks", "for 6 weeks", "3 weeks ago".
GESTATIONAL_AGE = re.compile(
    r"\b(?:(?:at|ga|ega|iup at|gestational age(?: of)?)\s+(\d{1,2})(?:\s*(?:\+\s*\d|and \d days?))?\s*(?:weeks?|wks?|w)\b"
    r"|(\d{1,2})\s*w\s*\d\s*d\b"
    r"|(\d{1,2})\s*(?:weeks?|wks?)\s*(?:(?:and\s*)?\d\s*days?\s*)?(?:of\s+)?(?:gestation|gestational|pregnant|by\s+(?:lmp|dates|ultrasound|first))\b)"
)
TRIMESTER = re.compile(r", (first|second|third|unspecified) trimester$")
EPISODE = re.compile(r", complicating (childbirth|the puerperium)$")  # O13.4, O13.5: no trimester
HYPERTENSION_IN_PREGNANCY = ("O10", "O11", "O13", "O14", "O15", "O16")


def gestation_weeks(note: NoteCoding) -> int | None:
    """The completed weeks of gestation the note gives first, or None."""
    for match in GESTATIONAL_AGE.finditer(note.lower):
        weeks = int(next(group for group in match.groups() if group))
        if 4 <= weeks <= 45:
            return weeks
    return None


def weeks_code(weeks: int) -> str:
    """Z3A.- for completed weeks: Z3A.01 under 8 weeks, Z3A.08-Z3A.42, Z3A.49 beyond 42."""
    if weeks < 8:
        return "Z3A.01"
    return f"Z3A.{weeks:02d}" if weeks <= 42 else "Z3A.49"


def trimester_of(weeks: int) -> str:
    """I.C.15.a.3: the first trimester is under 14 weeks 0 days, the second to under 28 weeks 0 days."""
    return "first" if weeks < 14 else "second" if weeks < 28 else "third"


def birth_record(note: NoteCoding) -> None:
    """The newborn's record (Z38.- coded) takes no chapter 15 code (I.C.15.a.2: the mother's record
    only) and no outcome of delivery Z37.- or weeks of gestation Z3A.- (I.C.15.b.5); the mother's
    record takes Z34.- (supervision of a normal pregnancy) only without chapter 15 codes or a delivery
    (its Excludes1 note), Z33.1 "pregnant state, incidental" only when no chapter 15 or prenatal code
    is coded (I.C.15.a.1), and O80 only alone among chapter 15 codes (its tabular note). A delivery's
    codes (O80, O82, Z37.-) belong to the stay of the delivery, not to an office or emergency visit."""
    if MOTHER_RECORD.search(note.lower) and not newborn_record(note):
        for line in note.starting(("Z38", "P"), current=False):  # I.C.16.a.1: never on the maternal record
            note.withdraw(line, "the mother's record takes no newborn or perinatal code (I.C.16.a.1)")
    newborn = note.documented(("Z38",))
    if newborn:
        for line in note.starting(("O", "Z37", "Z3A"), current=False):
            note.withdraw(line, f"the newborn's record ({newborn[0].code}) takes no code of the mother's (I.C.15.a.2)",
                          because_of=newborn[0])
        return
    obstetric = note.starting(("O", "Z37"))
    for line in note.starting(("Z34",), current=False) if obstetric else ():
        note.withdraw(line, f"{obstetric[0].code}: a complicated pregnancy or a delivery is no normal pregnancy's "
                      "supervision (Z34 excludes O00-O9A)", because_of=obstetric[0])
    maternal = [line for line in note.starting(("O", "Z34")) if line.code != "O80"]
    for line in note.starting(("Z33.1", "O80"), current=False) if maternal else ():
        note.withdraw(line, f"{maternal[0].code} codes the pregnancy (I.C.15.a.1)", because_of=maternal[0])
    if NOT_A_NORMAL_DELIVERY.search(note.lower):
        for line in note.starting(("O80",), current=False):
            note.withdraw(line, "O80 is the spontaneous vaginal delivery of a single healthy infant: not a cesarean, "
                                "an assisted or a multiple delivery (I.C.15.b.4)")
    if note.setting != INPATIENT:  # a postpartum visit's "after an uncomplicated vaginal delivery"
        for line in note.starting(DELIVERY_ENCOUNTER, current=False):
            note.withdraw(line, "a delivery is coded on the record of the stay it happened in, not an office or "
                          "emergency visit (I.C.15.b.4, I.C.15.b.5)")


CESAREAN = re.compile(r"\b(?:cesarean|caesarean|c-section|c/s|ltcs)\b")
GESTATIONAL_WEEKS = re.compile(r"\b(2[2-9]|3[0-6])(?:\s?(?:\+|and )?\d/7)?\s?(?:w|wk|wks|weeks?)\b(?:\s?\d+\s?d\b)?|\bga (2[2-9]|3[0-6])\b")
BIRTH_WEIGHT = re.compile(r"\b(?:bw|birth ?weight|weight)\s*(?:of\s*|:\s*)?(\d,?\d{3}|\d{3})\s?(?:g|grams?)\b")
# completed weeks -> the P07.2- / P07.3- code (I.C.16.e: weeks of gestation); grams -> P07.0- / P07.1-
_WEEK_CODES = {23: "P07.22", 24: "P07.23", 25: "P07.24", 26: "P07.25", 27: "P07.26", 28: "P07.31", 29: "P07.32", 30: "P07.33",
               31: "P07.34", 32: "P07.35", 33: "P07.36", 34: "P07.37", 35: "P07.38", 36: "P07.39"}
_WEIGHT_CODES = ((500, "P07.01"), (750, "P07.02"), (1000, "P07.03"), (1250, "P07.14"), (1500, "P07.15"), (1750, "P07.16"),
                 (2000, "P07.17"), (2500, "P07.18"))


def newborn_details(note: NoteCoding) -> None:
    """A newborn's record: delivered by cesarean is Z38.x1, not Z38.x0 (I.C.16.a.2); a preterm newborn's P07.2- /
    P07.3- code by the completed weeks and its P07.0- / P07.1- code by the birth weight the note gives, the weight
    first (I.C.16.e)."""
    for line in note.starting(("Z38.0", "Z38.3", "Z38.6"), current=False):
        if line.code.endswith("0") and CESAREAN.search(note.lower) and note.billable(line.code[:-1] + "1"):
            note.replace(line, line.code[:-1] + "1", "delivered by cesarean (I.C.16.a.2)")
    preterm = note.starting(("P07.2", "P07.3"))
    weeks = GESTATIONAL_WEEKS.search(note.lower)
    if not preterm or weeks is None:
        return
    week = int(weeks.group(1) or weeks.group(2))
    code = _WEEK_CODES.get(week)
    best = max(preterm, key=lambda line: line.confidence)
    if code is not None and best.code != code and note.billable(code):
        best = note.replace(best, code, f"the note gives the gestational age: {week} completed weeks (I.C.16.e)")
    weight = BIRTH_WEIGHT.search(note.lower)
    grams = int(weight.group(1).replace(",", "")) if weight else 0
    by_weight = next((c for limit, c in _WEIGHT_CODES if grams < limit), None) if 0 < grams else None
    if by_weight is not None and note.get(by_weight) is None:
        note.add(by_weight, f"the birth weight, {grams} g, sequenced before the weeks (I.C.16.e)", confidence=best.confidence,
                 like=[best])


# what O80 is not (I.C.15.b.4: a full-term normal delivery of a single healthy infant, spontaneous and vaginal)
NOT_A_NORMAL_DELIVERY = re.compile(r"\b(?:cesarean|caesarean|c-section|c/s|ltcs|twins?|triplets|multiple gestation|dcda|mcda|mcma|"
                                   r"forceps|vacuum[- ]assisted)\b")
# the codes of the delivery itself: the encounter for it and its outcome
DELIVERY_ENCOUNTER = ("O80", "O82", "Z37")


DELIVERED = re.compile(r"\b(?:deliver(?:y|ed)|in labou?r|cesarean|c-section|svd|nsvd)\b")
PREGNANT = re.compile(r"\b(?:pregnan\w*|prenatal|antepartum|antenatal|g\d+ ?p\d+)\b")
# a delivery still to come: "delivery at 37 weeks", "plan for induction"
PLANNED_DELIVERY = re.compile(r"\b(?:delivery|induction|cesarean|c-section) (?:at|by|planned|scheduled|if)\b"
                              r"|\b(?:plan|planned|schedule|scheduled|consider|discussed|for) (?:for )?(?:delivery|induction|cesarean|c-section)\b")
POSTPARTUM = re.compile(r"\b(?:postpartum|post-partum|puerper\w*|pp day|ppd ?#?\d)\b")


def carrier_in_pregnancy(note: NoteCoding) -> None:
    """A group B streptococcus carrier in pregnancy is O99.82- by the episode (pregnancy O99.820,
    childbirth O99.824, the puerperium O99.825), not Z22.330: chapter 15 codes come first for a
    pregnant patient's conditions (I.C.15.a.1)."""
    carriers = note.starting(("Z22.330",), current=False)
    if not carriers or not (note.starting(("O", "Z3A", "Z34")) or gestation_weeks(note) is not None
                            or PREGNANT.search(note.lower) or DELIVERED.search(note.lower)):
        return
    code = "O99.824" if DELIVERED.search(note.lower) else "O99.825" if POSTPARTUM.search(note.lower) else "O99.820"
    for line in carriers:
        note.replace(line, code, "a group B streptococcus carrier in pregnancy, by its episode (I.C.15.a.1)")


def trimester(note: NoteCoding) -> None:
    """A pregnancy code gets the trimester of the weeks of gestation the note gives (I.C.15.a.3); a
    "complicating childbirth / the puerperium" code becomes it too when the note tells of no delivery
    and no puerperium (an antepartum visit at 34 weeks is O13.3, not O13.4)."""
    weeks = gestation_weeks(note)
    if weeks is None:
        return
    wanted = trimester_of(weeks)
    antepartum = not DELIVERED.search(PLANNED_DELIVERY.sub(" ", note.lower)) and not POSTPARTUM.search(note.lower)
    for line in note.starting(("O", "Z34")):
        title = note.description(line.code)
        found = TRIMESTER.search(title) or (EPISODE.search(title) if antepartum else None)
        if found is None or found.group(1) == wanted:
            continue
        sibling = _sibling_titled(note, line.code, found.re.sub(f", {wanted} trimester", title))
        if sibling is not None:
            note.replace(line, sibling, f"{weeks} weeks of gestation is the {wanted} trimester (I.C.15.a.3)")


def hypertension_in_pregnancy(note: NoteCoding) -> None:
    """Hypertension in a pregnancy is coded in O10-O16 (pre-existing, gestational, pre-eclampsia), whose
    codes come first in a pregnant patient (I.C.15.a.1, I.C.15.d): I10 is not coded beside them (O10.0-
    is the essential hypertension; I11-I13 stay, as O10.1-O10.3 ask for them)."""
    pregnancy_codes = note.documented(HYPERTENSION_IN_PREGNANCY)
    if not pregnancy_codes:
        return
    best = max(pregnancy_codes, key=lambda line: line.confidence)
    for line in note.starting(("I10",), current=False):
        note.withdraw(line, f"{best.code} codes the hypertension of the pregnancy (I.C.15.a.1, I.C.15.d)", because_of=best)


DELIVERED = re.compile(r"\b(?:delivered|delivery of (?:a|an|live|viable|healthy|twins?)|svd|nsvd|sravd|vaginal delivery|"
                       r"(?:primary |repeat |low transverse |emergency |urgent )?(?:cesarean|c-section|c/s|ltcs)(?: delivery| section)?|"
                       r"stillbirth|stillborn)\b")
STILLBORN = re.compile(r"\b(?:stillbirth|stillborn|iufd|intrauterine fetal (?:demise|death)|fetal demise)\b")
# a note about a pregnant or delivering woman: her age, then her obstetric history ("28 yo G2P1001")
MOTHER_RECORD = re.compile(r"\b(?:1[2-9]|[2-5]\d) ?(?:yo|y/o|y\.o\.|year[- ]old)\s+(?:f\s+|female\s+|woman\s+)?"
                           r"(?:g\d|gravida|primigravida|multigravida|primip|multip)")
# the baby's record, which a mother's delivery words ("SVD to a 24 yo G1") do not make hers: a NICU or newborn
# note's title, or the baby's day of life
NEWBORN_TITLE = re.compile(r"\bnicu\b|\bnewborn\b|\bneonat\w*|\bnursery\b")
DAY_OF_LIFE = re.compile(r"\bdol ?#?\d")


def newborn_record(note: NoteCoding) -> bool:
    title = note.lower.lstrip().split("\n", 1)[0]
    return NEWBORN_TITLE.search(title) is not None or DAY_OF_LIFE.search(note.lower) is not None
TWINS = re.compile(r"\btwins?\b|\btwin gestation\b|\bdi-?di\b|\bmo-?di\b")


def delivery_outcome(note: NoteCoding) -> None:
    """The mother's record of the stay in which she delivered takes the outcome of delivery, Z37.- (I.C.15.b.5:
    "should be included on every maternal record when a delivery has occurred"): a single liveborn Z37.0,
    a stillborn Z37.1, liveborn twins Z37.2. Not on the newborn's record, nor at an office or emergency visit."""
    if note.setting != INPATIENT or note.documented(("Z38",)) or newborn_record(note):
        return
    maternal = note.starting(("O",))
    if not maternal or not affirmed(DELIVERED, note.lower):
        return
    code = "Z37.1" if STILLBORN.search(note.lower) else "Z37.2" if TWINS.search(note.lower) else "Z37.0"
    if not note.starting(("Z37",)):
        note.add(code, "the outcome of the delivery this stay (I.C.15.b.5)",
                 confidence=max(line.confidence for line in maternal), like=maternal[:1])
    for line in maternal:  # the conditions the delivery stay treats complicate the childbirth (I.C.15.a.3)
        childbirth = _in_childbirth(note, line.code)
        if childbirth is not None:
            note.replace(line, childbirth, f"the delivery happened this stay: {note.description(childbirth)} (I.C.15.a.3)")


_EPISODE_WORDS = re.compile(r"\([^)]*\)|\b(?:in|complicating|pregnancy|childbirth|first|second|third|unspecified|trimester)\b|,")


def _in_childbirth(note: NoteCoding, code: str) -> str | None:
    """The "complicating childbirth" / "in childbirth" code of a condition coded by its trimester or "in pregnancy"
    (O14.23 -> O14.24, O24.414 -> O24.424, O10.013 -> O10.02), if the category has one."""
    title = note.description(code).lower()
    if not re.search(r"trimester|in pregnancy", title):
        return None
    condition = _condition_of(title)
    return _billable_sibling(note, code[:5], lambda other: "childbirth" in other and _condition_of(other) == condition)


def _condition_of(title: str) -> str:
    """A chapter 15 title without its episode words: what the pregnancy, childbirth and puerperium codes share."""
    return " ".join(_EPISODE_WORDS.sub(" ", title).split())


# the puerperium's own conditions: weeks of gestation (Z3A) are for a pregnancy, not after it
PUERPERAL = ("O85", "O86", "O87", "O89", "O90")


def no_weeks_after_pregnancy(note: NoteCoding) -> None:
    """Z3A (weeks of gestation) goes with a pregnancy's codes, not with the puerperium's alone (O85-O90 coded
    after the delivery: a postpartum cardiomyopathy O90.3 takes no Z3A; Z3A's "code first" names O09-O9A
    for the pregnancy itself)."""
    chapter = note.starting(("O",))
    if chapter and all(line.code.startswith(PUERPERAL) for line in chapter):
        for line in note.starting(("Z3A",), current=False):
            note.withdraw(line, "the note codes the puerperium, not a pregnancy: no weeks of gestation (I.C.15)")


# pregnancies with abortive outcome (ectopic, molar, abortions): Z3A's "code first" note names O09-O9A only
ABORTIVE_OUTCOMES = ("O00", "O01", "O02", "O03", "O04", "O05", "O06", "O07", "O08")


def weeks_of_gestation(note: NoteCoding) -> None:
    """The weeks of gestation (Z3A.-) beside a pregnancy's codes, from the gestational age the note
    gives (the chapter's "use additional code" note, I.C.15.a); one Z3A code, not beside a
    pregnancy with abortive outcome alone (O00-O08: Z3A's "code first" names O09-O9A)."""
    pregnancy = [line for line in note.starting(("O", "Z34")) if not line.code.startswith(("O09.A",) + ABORTIVE_OUTCOMES)]
    weeks = gestation_weeks(note)
    if not pregnancy or weeks is None or note.documented(("Z38",)):
        return
    code = weeks_code(weeks)
    if not note.billable(code):
        return
    added = note.add(code, f"{weeks} weeks of gestation (I.C.15.a)", confidence=max(line.confidence for line in pregnancy))
    for line in note.starting(("Z3A",), current=False):
        if line is not added:
            note.withdraw(line, f"the note gives {weeks} weeks: {code} (I.C.15.a)", because_of=added)


def _sibling_titled(note: NoteCoding, code: str, title: str) -> str | None:
    """The billable code of ``code``'s subcategory with exactly this title (O14.13 for "Severe
    pre-eclampsia, third trimester" from O14.12)."""
    return _billable_sibling(note, code[:-1], lambda other: other == title.lower())


def _billable_sibling(note: NoteCoding, prefix: str, title_fits: Callable[[str], bool]) -> str | None:
    """The first billable code under ``prefix`` whose lower-cased title ``title_fits``."""
    if note.catalog is None:
        return None
    for candidate in note.catalog.with_prefix(CodeSystem.ICD10CM, prefix):
        record = note.catalog.get(CM, candidate)
        if record is not None and record.billable and title_fits(record.description.lower()):
            return record.code
    return None
    for candidate in note.catalog.with_prefix(CodeSystem.ICD10CM, code[:-1]):
        record = note.catalog.get(CM, candidate)
        if record is not None and record.billable and record.description == title:
            return record.code
    return None
