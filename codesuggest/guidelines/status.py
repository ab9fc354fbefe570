"""Rules on what the note says of a condition: absent, uncertain, past, resolved, hypothetical."""

from __future__ import annotations

import re
from dataclasses import replace

from ..pipeline.schema import Mention, NoteAnalysis
from .engine import CM, DIAGNOSIS_SECTIONS, INPATIENT, CodeLine, NoteCoding, established_when_uncertain, is_chronic
from .history import SURE, add_code, evidence, history_codes_for
from .tables import ALLERGY_CODES
from .wording import DENIED_BEFORE, affirmed, side_and_site


def undocumented(note: NoteCoding) -> None:
    """A diagnosis no words of the note support is not coded: "code assignment is based on the
    documentation by the patient's provider" (I.A.19). The note classifier proposes codes from
    similar training notes; without a mention behind it a coder has nothing to confirm. Nor a
    disease named only by its organism (:func:`_organism_only`)."""
    for line in list(note.lines):
        if line.system == CM and not line.mention_indexes:
            note.withdraw(line, "no words of the note support it (I.A.19)")
    for line in list(note.lines):
        if line.system == CM and not line.added and line.code[:3] not in ORGANISMS and _organism_only(note, line):
            note.withdraw(line, f"'{note.mentions(line)[0].text}' names an organism, not {note.description(line.code).lower()} "
                                "(I.A.19)")


ORGANISMS = ("B95", "B96", "B97")  # organisms as the cause of diseases classified elsewhere


def _organism_only(note: NoteCoding, line: CodeLine) -> bool:
    """Whether a disease code stands only on organism names ("Klebsiella pneumoniae" in a urine
    culture is not Klebsiella pneumonia J15.0) while no other code of its block documents the
    disease (J13 stays beside the J18.9 of "pneumococcal pneumonia")."""
    if not _on_organisms(note, line):
        return False
    return not any(other is not line and other.system == CM and other.code[:2] == line.code[:2]
                   and not _on_organisms(note, other) for other in note.lines)


def _on_organisms(note: NoteCoding, line: CodeLine) -> bool:
    mentions = note.mentions(line)
    return bool(mentions) and all(m.candidates and m.candidates[0].code[:3] in ORGANISMS
                                  and not _names_the_disease(note, m, m.candidates[0].code, line.code) for m in mentions)


def _names_the_disease(note: NoteCoding, mention: Mention, organism: str, code: str) -> bool:
    """Whether the mention says a word of ``code``'s title that the organism's title lacks: "Klebsiella
    pneumonia" names the pneumonia of J15.0, "Klebsiella pneumoniae" (a culture) only the organism."""
    said = set(_WORD.findall(mention.text.lower())) - set(_WORD.findall(note.description(organism).lower()))
    return bool(said & set(_WORD.findall(note.description(code).lower())))


_WORD = re.compile(r"[a-z]+")


def uncertain_diagnosis(note: NoteCoding) -> None:
    """Uncertain diagnoses ("probable", "suspected", "likely", "rule out", "possible").

    Inpatient (Sections II.H and III.C): coded as if established, when documented at discharge; an
    uncertain reading stated only in a test result or the examination ("CXR: possible opacity vs
    atelectasis") is a finding, not coded (III.B).
    Outpatient and emergency department (Section IV.H): not coded; the signs and symptoms are.
    """
    for line in list(note.lines):
        mentions = note.mentions(line)
        if line.system != CM or not mentions:
            continue
        uncertain = [m for m in mentions if m.assertion.possible and not m.assertion.negated]
        if not uncertain or any(note.mention_is_current(m, line.code) and not m.assertion.possible for m in mentions):
            continue
        if any(m.assertion.family and not m.assertion.negated for m in mentions):
            continue  # "screening for prostate cancer; brother had prostate cancer": the family history rule's
        if any(m.assertion.negated for m in mentions):
            note.withdraw(line, "questioned, then ruled out")
        elif note.setting == INPATIENT and any(established_when_uncertain(m, note.analysis) for m in uncertain):
            note.explain(line, "documented as uncertain; coded as if established in inpatient care (II.H, III.C)")
            line.needs_review = True
        elif note.setting == INPATIENT:
            note.withdraw(line, "uncertain, and not among the diagnoses documented at discharge: a finding, "
                                "not coded (II.H, III.B)")
        else:
            note.withdraw(line, "an uncertain diagnosis is not coded in outpatient or emergency care; "
                                "code the signs and symptoms instead (IV.H)")


def not_current(note: NoteCoding) -> None:
    """A code none of whose mentions the note states as current is not coded: negated (absent),
    family history, past and not chronic, resolved, or hypothetical. The history rules have by now
    turned past and family conditions into their history codes. A procedure the patient had before
    this encounter ("status post", "history of") is not coded for this one."""
    for line in list(note.lines):
        mentions = note.mentions(line)
        if not mentions or any(note.mention_is_current(m, line.code) for m in mentions):
            continue
        if line.system != CM and not any(_past_or_absent(m) for m in mentions):
            continue  # procedures: only past, negated and hypothetical ones leave
        note.withdraw(line, f"the note does not state it as current ({_why(mentions[0])})")


# The words before a condition named as the cause of another: "pseudocyst after acute pancreatitis"
SAID_AS_THE_CAUSE = re.compile(r"\b(?:after|following|post)\s+(?:(?:an?|the|his|her|recent|prior|episode|bout|attack|of)\s+)*$")


def resolved_before_this_visit(note: NoteCoding) -> None:
    """Outside a hospital stay or an emergency visit, a condition the note says resolved and otherwise names
    only as the cause of another ("Pancreatic pseudocyst after acute pancreatitis ... pancreatitis resolved")
    is not a condition of this encounter (IV.J: code the conditions that exist at the time of the visit)."""
    if note.setting == INPATIENT or note.emergency:
        return
    for line in list(note.lines):
        mentions = note.mentions(line)
        if line.system != CM or not any(getattr(m.assertion, "resolved", False) and not m.assertion.negated for m in mentions):
            continue
        current = [m for m in mentions if note.mention_is_current(m, line.code)]
        if current and all(SAID_AS_THE_CAUSE.search(note.lower, m.sentence_start, m.start) for m in current):
            note.withdraw(line, f"resolved; '{current[0].text}' names it only as the cause of another condition (IV.J)")


# a primary cancer removed and gone (I.C.2.d): excised in its own sentence, no evidence of disease in the note
EXCISED = re.compile(r"\b(?:s/p|status post|after)\b[^.;\n]{0,40}\b(?:excision|resection|mastectomy|lumpectomy|"
                     r"nephrectomy|prostatectomy|orchiectomy|colectomy|lobectomy|thyroidectomy|hysterectomy)\b|"
                     r"\b(?:excised|resected|removed)\b")
NO_EVIDENCE_OF_DISEASE = re.compile(r"\bned\b|\bno evidence of (?:disease|recurrence|residual)|\bno (?:local )?recurrence\b")
TREATED_NOW = re.compile(r"\b(?:on|receiving|currently|continues?|undergoing)\b[^.;\n]{0,30}\b(?:chemo\w*|radiation|"
                         r"adjuvant|tamoxifen|anastrozole|letrozole|immunotherapy|xrt)\b")
PRIMARY_CANCERS = tuple(f"C{n:02d}" for n in range(0, 77))  # C00-C76: primary malignant neoplasms of stated sites


def excised_cancer(note: NoteCoding) -> None:
    """A primary malignancy excised from its site, with no further treatment directed to it and no evidence
    of it left, is its history code (I.C.2.d): "melanoma of upper back s/p wide local excision 2020 ... NED"
    beside a brain metastasis is Z85.820 with C79.31, not C43.59."""
    if not NO_EVIDENCE_OF_DISEASE.search(note.lower):
        return
    for line in note.starting(PRIMARY_CANCERS, current=False):
        sentences = [note.lower[m.sentence_start:m.sentence_end] for m in note.current_mentions(line)]
        if not sentences or not all(EXCISED.search(t) and not TREATED_NOW.search(t) for t in sentences):
            continue
        codes = history_codes_for(line.code)
        if codes is not None and codes[0] and note.billable(codes[0]):
            note.replace(line, codes[0], f"excised, no further treatment, no evidence of it left: {codes[2]} is history (I.C.2.d)")


ALLERGY_SECTIONS = frozenset({"allergies"})


def allergies(note: NoteCoding) -> None:
    """An allergy the note lists under allergies is coded by its status code (Z88.- drugs, Z91.0-
    other agents: I.C.21.c.3, ``resources/allergy_codes.tsv``); the reaction listed with it ("penicillin
    (hives)") is what happened once, not a current condition, and is not coded. "NKDA", "no latex
    allergy" give no code."""
    for category, start, end in note.analysis.sections:
        if category not in ALLERGY_SECTIONS:
            continue
        claimed: list[tuple[int, int]] = []
        for code, pattern, what in ALLERGY_CODES:
            for match in pattern.finditer(note.lower, start, end):
                if (any(s <= match.start() < e for s, e in claimed) or DENIED_BEFORE.search(note.lower, start, match.start())
                        or not note.billable(code)):
                    continue
                claimed.append(match.span())
                add_code(note, code, f"allergy to {what} listed under allergies (I.C.21.c.3)", confidence=SURE,
                         like=evidence(note, match.start(), match.end()))
                break
    for line in list(note.lines):
        mentions = note.mentions(line)
        if (line.system == CM and not line.added and mentions and not line.code.startswith("Z")
                and all(m.section in ALLERGY_SECTIONS for m in mentions)):
            note.withdraw(line, f"'{mentions[0].text}' is a reaction listed under allergies, not a current condition (I.C.21.c.3)")


# Status codes a complication code includes (I.C.21.c.3: "Z94.1 heart transplant status is not used
# with T86.2 complications of heart transplant"): status prefix -> the complication prefixes that say it
STATUS_IN_COMPLICATION: dict[str, tuple[str, ...]] = {
    "Z96.6": ("T84.0", "T84.5", "T84.8", "T84.9"),  # artificial joints: internal joint prosthesis complications
    "Z95.0": ("T82.11", "T82.12", "T82.19", "T82.7", "Z45.01"),  # cardiac pacemaker (Z45.0 excludes Z95)
    "Z95.81": ("T82.11", "T82.12", "T82.19", "T82.7", "Z45.02"),  # automatic implantable defibrillator
    "Z95.2": ("T82.0", "T82.22", "T82.6"),  # heart valve prosthesis
    "Z96.0": ("T83",),  # urogenital implants: catheters, stents, prostheses of the genitourinary tract
    "Z94.0": ("T86.1",), "Z94.1": ("T86.2",), "Z94.2": ("T86.81",), "Z94.3": ("T86.3",), "Z94.4": ("T86.4",),
    "Z94.81": ("T86.0",), "Z94.84": ("T86.5",),
}


def status_in_complication(note: NoteCoding) -> None:
    """A status code leaves beside the complication code of the same device or transplant, which says
    it (I.C.21.c.3): Z96.651 (right artificial knee) beside T84.53XA (infection of the right knee
    prosthesis), Z94.0 beside T86.11 (kidney transplant rejection)."""
    for line in list(note.lines):
        complications = next((found for prefix, found in STATUS_IN_COMPLICATION.items() if line.code.startswith(prefix)), ())
        said = side_and_site(note.description(line.code))
        for other in note.documented(complications) if complications else ():
            if said <= side_and_site(note.description(other.code)):
                note.absorb(line, other, f"{other.code} includes the status (I.C.21.c.3)")
                break


# A replaced joint has no arthritis left: joint status prefix -> the arthritis codes of that joint
REPLACED_JOINTS: dict[str, tuple[str, ...]] = {"Z96.64": ("M16",), "Z96.65": ("M17",), "Z96.61": ("M19.01", "M12.81"),
                                               "Z96.62": ("M19.02",)}


def replaced_joint(note: NoteCoding) -> None:
    """The arthritis of a joint the note says was replaced (Z96.6-, same joint and side) is gone with
    it (IV.J: the conditions that exist at the encounter): no M17.11 beside Z96.651 after a right
    total knee replacement "for osteoarthritis"; the other knee's arthritis stays."""
    for status_prefix, arthritis in REPLACED_JOINTS.items():
        for joint in note.starting((status_prefix,)):
            replaced = side_and_site(note.description(joint.code))
            for line in note.starting(arthritis, current=False):
                if side_and_site(note.description(line.code)) <= replaced:
                    note.withdraw(line, f"the joint was replaced ({joint.code}) (IV.J)", because_of=joint)


PROCEDURE_SECTIONS = frozenset({"procedures", "procedure", "operations"})
DEVICE_STATUS = ("Z95", "Z96", "Z97", "Z98.8")
CARDIAC_DEVICES = ("Z95.0", "Z95.81")  # pacemaker, defibrillator
CARDIAC_DEVICE_PLACED_NOW = re.compile(
    r"\b(?:hd|hospital day|pod) ?#?\d+\b[^.\n]*\b(?:ppm|pacemaker|pacer|icd|aicd|defibrillator|crt-?d?)\b[^.\n]*\b"
    r"(?:implanted|placed|inserted)\b|\b(?:ppm|pacemaker|icd|aicd|defibrillator)\b (?:was )?(?:implanted|placed|inserted) "
    r"(?:today|this admission|on hd ?\d+)\b")


def device_placed_now(note: NoteCoding) -> None:
    """A device the note places at this encounter ("Procedure: dual-chamber pacemaker implanted") has
    no status code yet: Z95-Z97 say a device from before (I.C.21.c.3)."""
    for line in note.starting(DEVICE_STATUS, current=False):
        mentions = note.mentions(line)
        if mentions and all(m.section in PROCEDURE_SECTIONS for m in mentions):
            note.withdraw(line, "the device is placed at this encounter: no status code (I.C.21.c.3)")
    if note.setting == INPATIENT and CARDIAC_DEVICE_PLACED_NOW.search(note.lower):  # "HD2: dual-chamber PPM implanted"
        for line in note.starting(CARDIAC_DEVICES, current=False):
            note.withdraw(line, "the device is placed in this stay: no status code (I.C.21.c.3)")


# A replaced heart valve: the words naming the replacement -> the disease codes of that valve it ends
REPLACED_VALVES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(?:tavr|tavi|savr|aortic valve replacement|aortic valve implantation)\b"), ("I35", "I06", "Q23.0", "Q23.1", "Q25.1")),
    (re.compile(r"\b(?:tmvr|mitral valve replacement)\b"), ("I34", "I05", "Q23.2", "Q23.3")),
)


def replaced_valve(note: NoteCoding) -> None:
    """The disease of a heart valve the note says was replaced is gone with it (IV.J): no I35.0 aortic
    stenosis beside Z95.2 after a TAVR "for severe aortic stenosis"; another valve's disease stays."""
    prosthesis = note.starting(("Z95.2",))
    for words, diseases in REPLACED_VALVES if prosthesis else ():
        if not affirmed(words, note.lower):
            continue
        for line in note.starting(diseases, current=False):
            stated_now = [m for m in note.mentions(line) if m.section in DIAGNOSIS_SECTIONS and not m.assertion.historical
                          and not words.search(note.lower[m.sentence_start:m.sentence_end])]
            if not stated_now:  # said only of the valve before its replacement
                note.withdraw(line, f"the valve was replaced ({prosthesis[0].code}) (IV.J)", because_of=prosthesis[0])


# States that cannot coexist: when both are coded and one is only said of the past, the present one
# replaced it (hyperthyroidism ablated into postablative hypothyroidism)
OPPOSITE_STATES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("E05",), ("E03", "E89.0")),  # hyperthyroidism / hypothyroidism
    (("E87.0",), ("E87.1",)),  # hypernatremia / hyponatremia
    (("E87.5",), ("E87.6",)),  # hyperkalemia / hypokalemia
)


def opposite_states(note: NoteCoding) -> None:
    """Of two states that cannot coexist (hyper- and hypothyroidism), the one the note only says of
    the past leaves beside the current one (IV.J: the conditions that coexist at the encounter)."""
    for one, other in OPPOSITE_STATES:
        for past_prefixes, now_prefixes in ((one, other), (other, one)):
            now = [line for line in note.starting(now_prefixes) if not _only_past(note, line)]
            for line in note.starting(past_prefixes, current=False) if now else ():
                if _only_past(note, line):
                    note.withdraw(line, f"said of the past; now {now[0].code} (IV.J)", because_of=now[0])


def _only_past(note: NoteCoding, line: CodeLine) -> bool:
    mentions = note.mentions(line)
    return bool(mentions) and all(m.assertion.historical for m in mentions)


TEST_RESULT_SECTIONS = frozenset({"imaging", "labs"})


def abnormal_findings(note: NoteCoding) -> None:
    """A finding stated only in a test result ("CXR: cardiomegaly, small effusions") is not coded
    unless the provider indicates its significance (III.B; IV.K for outpatient care). In a note
    with a diagnostic statement (assessment, impression, discharge diagnoses), a code whose words
    stand only in imaging or laboratory sections leaves; a report with no such statement is left
    alone (its interpretation is the diagnosis)."""
    if not any(category in DIAGNOSIS_SECTIONS for category, _, _ in note.analysis.sections):
        return
    for line in list(note.lines):
        mentions = note.mentions(line)
        if line.system == CM and not line.added and mentions and all(m.section in TEST_RESULT_SECTIONS for m in mentions):
            note.withdraw(line, f"'{mentions[0].text}' is a test result the diagnoses do not mention (III.B)")


def _past_or_absent(mention: Mention) -> bool:
    a = mention.assertion
    return a.negated or a.historical or getattr(a, "hypothetical", False)


def _why(mention: Mention) -> str:
    a = mention.assertion
    for flag, words in (("negated", "negated"), ("family", "family history"), ("resolved", "resolved"),
                        ("hypothetical", "hypothetical"), ("possible", "uncertain"), ("historical", "past history")):
        if getattr(a, flag, False):
            return f"'{mention.text}' is {words}"
    return f"'{mention.text}'"


def as_a_coder_reads(analysis: NoteAnalysis, setting: str) -> NoteAnalysis:
    """The analysis a ranker should see when its codes go to a coder in ``setting``:

    - a chronic condition listed in the past history (its mention historical, not resolved, its
      best candidate a chronic condition) is current (Section III, IV.J: code all documented
      conditions that coexist and affect care);
    - inpatient, an uncertain diagnosis ("probable", "suspected", "likely") is coded as if
      established (Sections II.H, III.C), unless the note rules it out elsewhere or states it in
      the results of a test or an examination (III.B); hypothetical ones
      ("if", "return if") stay as they are.
    """
    changed = False
    mentions = []
    ruled_out = {m.candidates[0].code for m in analysis.mentions if m.assertion.negated and m.candidates}
    for mention in analysis.mentions:
        a = mention.assertion
        if a.negated or a.family or getattr(a, "resolved", False):
            mentions.append(mention)
            continue
        if (a.historical and not a.possible and mention.candidates and mention.candidates[0].system == CM
                and is_chronic(mention.candidates[0].code)):
            a = replace(a, historical=False)
        if (setting == INPATIENT and a.possible and not getattr(a, "hypothetical", False) and not a.historical
                and established_when_uncertain(mention, analysis)
                and not (mention.candidates and mention.candidates[0].code in ruled_out)):
            a = replace(a, possible=False)
        if a != mention.assertion:
            mention = replace(mention, assertion=a)
            changed = True
        mentions.append(mention)
    return replace(analysis, mentions=tuple(mentions)) if changed else analysis
