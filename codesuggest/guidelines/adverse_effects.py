"""The adverse effect of a drug taken as prescribed (I.C.19.e.5.a): the effect first, then the
drug's T36-T50 code with 5th or 6th character 5."""

from __future__ import annotations

import re

from ..codesets.records import CodeSystem
from ..codesets.references import parse_references
from ..codesets.rules import inherited_notes
from .engine import CM, CodeLine, NoteCoding
from .history import evidence, sentence_of, sentences_saying
from .specificity import encounter, title_says
from .tables import ADVERSE_EFFECTS
from .wording import affirmed

# "hyponatremia due to hydrochlorothiazide", "lisinopril-induced angioedema"; not "HTN on lisinopril"
CAUSED_BY = re.compile(
    r"\b(?:due to|secondary to|induced by|caused by|related to|attributed to|side effect of|residual (?:effects? )?of|late effects? of|"
    r"adverse (?:drug )?(?:reaction|effect) (?:to|of|from))\s+(?:(?:the|his|her|a|an|high[- ]dose|low[- ]dose|chronic|long[- ]term|daily|"
    r"prior|previous|past)\s+)?$"
    # "gout flare, drug-induced (thiazide)"
    r"|\bdrug[- ]induced\s*\(\s*$"
    # "epistaxis due to a supratherapeutic INR on warfarin": the drug's level caused it
    r"|\b(?:due to|secondary to|from|with)\s+(?:an?\s+)?(?:supratherapeutic|elevated|high|labile|toxic)\s+(?:inr|level|levels)\s+"
    r"(?:on|from)\s+(?:his|her|the)?\s*$"
)
INDUCED = re.compile(r"^[- ](?:induced|related|associated)\b")
# a drug taken wrongly is a poisoning (I.C.19.e.5.b), which this rule does not code
POISONING = re.compile(r"\b(?:overdose|overdosed|intentional|suicid\w*|took too many|wrong (?:drug|medication|dose)|"
                       r"accidental ingestion|poisoning|toxicity from taking extra)\b")
# allergic reactions of unnamed cause: a drug taken as prescribed makes an anaphylaxis T88.6
ALLERGIC_REACTIONS = ("T78.2", "T78.3", "T78.4")
ANAPHYLAXIS = re.compile(r"\banaphyla\w*")
DRUG_CODES = re.compile(r"T(?:3[6-9]|[45]\d|6[0-5])\.")  # drugs, poisonings and toxic effects: not an effect
ENCOUNTER_LETTER = {"initial": "A", "sequela": "S"}
OVERDOSE = re.compile(r"\b(?:overdos\w*|od'?d|poisoning|took too many|ingest(?:ed|ion) of (?:\d+|too many|an? (?:bottle|handful)))")
# the intent's character (6th, or 5th for codes with a placeholder X): 1 accidental (the default when the
# note gives none, I.C.19.e.5.b), 2 intentional self-harm, 3 assault, 4 undetermined (only when so documented)
INTENT = ((re.compile(r"\b(?:intentional\w*|suicid\w*|self[- ]harm|to (?:kill|hurt) (?:him|her)self)"), "2", "intentional self-harm"),
          (re.compile(r"\b(?:assault\w*|poisoned by (?:her|his|a) )"), "3", "assault"),
          (re.compile(r"\b(?:intent (?:is |was )?(?:unknown|unclear|undetermined)|undetermined intent|"
                      r"intent (?:could not|cannot|can't|couldn't) be (?:determined|established|ascertained))"), "4", "undetermined"))


def adverse_effects(note: NoteCoding) -> None:
    """A current condition the note says a drug caused ("hyponatremia due to hydrochlorothiazide",
    "lisinopril-induced angioedema") gets the drug's adverse-effect code (T50.2X5A), listed after
    it (I.C.19.e.5.a); a sentence that speaks of overdose or a wrong drug is a poisoning and is left
    to the coder. The code goes with the condition's confidence."""
    _named_drug(note)
    effects = [line for line in note.lines if line.system == CM and not line.code.startswith(("V", "W", "X", "Y", "Z"))
               and not DRUG_CODES.match(line.code)]
    letter = ENCOUNTER_LETTER.get(encounter(note), "D") if effects else ""
    for line in effects:
        if not note.is_current(line):
            continue
        for mention in note.mentions(line):
            sentence = note.lower[mention.sentence_start:mention.sentence_end]
            if POISONING.search(sentence):
                continue
            found = (_drug_named_as_cause(note.lower, mention.start, mention.sentence_end, mention.end - mention.start)
                     or _drug_before(note.lower, mention.sentence_start, mention.end)
                     or _drug_after(note.lower, mention.end, mention.sentence_end))
            if found is None:
                continue
            stem, what = _the_drug_taken(note, *found)
            code = stem + letter
            if note.billable(code):
                if line.code.startswith(ALLERGIC_REACTIONS) and ANAPHYLAXIS.search(sentence) and note.billable("T88.6XX" + letter):
                    line = note.replace(line, "T88.6XX" + letter, "anaphylaxis due to a drug taken as prescribed: T88.6, "
                                        "which T78.2's Excludes1 note names (I.C.19.e.5.a)")
                added = note.add(code, f"adverse effect of a {what} taken as prescribed, after {line.code} (I.C.19.e.5.a)",
                                 confidence=line.confidence, like=[line])
                _drug_kind(note, line)
                _no_substance_use(note, added)
                for vague in note.starting(("T50.90",), current=False):  # "adverse effect" of unspecified drugs
                    if vague is not added:
                        note.absorb(vague, added, f"{added.code} names the drug (I.B.2)")
                break


def _named_drug(note: NoteCoding) -> None:
    """"Lithium toxicity" read as T50.905- (an unspecified drug's adverse effect) is the named drug's
    adverse effect (T43.595-) when the note speaks of no overdose (I.C.19.e.5.a)."""
    for line in note.starting(("T50.905", "T50.995"), current=False):
        for mention in note.mentions(line):
            if POISONING.search(note.lower[mention.sentence_start:mention.sentence_end]):
                break
            drug = _drug_nearest(note.lower[mention.sentence_start:mention.sentence_end], mention.start - mention.sentence_start)
            if drug is not None and note.billable(drug[0] + line.code[7:]):
                note.replace(line, drug[0] + line.code[7:], f"the adverse effect of the {drug[1]} it names (I.C.19.e.5.a)")
                break


def _drug_nearest(sentence: str, at: int) -> tuple[str, str] | None:
    """The drug of the sentence named nearest to position ``at`` ("lithium toxicity (adverse effect)
    due to interaction with HCTZ": lithium), as (code stem, class)."""
    found = [(abs(match.start() - at), stem, what) for pattern, stem, what in ADVERSE_EFFECTS for match in pattern.finditer(sentence)]
    return min(found)[1:] if found else None


# a prescribed drug's adverse effect -> the "use" codes of its substance (F11.9- opioid use, ...)
SUBSTANCE_OF_DRUG = {"T40.2": "F11.9", "T40.4": "F11.9", "T40.6": "F11.9", "T42.4": "F13.9", "T43.6": "F15.9"}


def _no_substance_use(note: NoteCoding, effect: CodeLine) -> None:
    """A drug taken as prescribed is no substance use: "opioid-induced constipation" on prescribed
    oxycodone is K59.03 and T40.2X5-, not F11.9- "opioid use with opioid-induced disorder"
    (I.C.19.e.5.a; I.C.5.b.3: use codes only for use the provider documents as such)."""
    use = SUBSTANCE_OF_DRUG.get(effect.code[:5])
    for line in note.starting((use,), current=False) if use else ():
        note.withdraw(line, f"the drug was taken as prescribed: {effect.code} codes its adverse effect (I.C.19.e.5.a, I.C.5.b.3)",
                      because_of=effect)


DRUG_KIND = re.compile(r"\b(?:due to (?:drugs?|medicaments)|drug[- ]induced)\b")


def _drug_kind(note: NoteCoding, line: CodeLine) -> None:
    """An unspecified effect's "due to drugs" code when its category has exactly one (I95.9 -> I95.2
    "hypotension due to drugs"), the adverse effect's T code beside it."""
    if note.catalog is None:
        return
    by_exclusion = _excluded_drug_kind(note, line.code)
    if by_exclusion is not None:  # I95.1 orthostatic hypotension excludes "orthostatic hypotension due to drugs (I95.2)"
        note.replace(line, by_exclusion, "the note names the drug that caused it; the code's Excludes1 note sends its "
                                         "drug-induced form there (I.A.12.a, I.C.19.e.5.a)")
        return
    if not title_says(note.description(line.code), "unspecified"):
        return  # only a vague code: D64.81 "anemia due to antineoplastic chemotherapy" already names its cause
    kinds = [code for code in note.catalog.with_prefix(CodeSystem.ICD10CM, line.code[:3])
             if (record := note.catalog.get(CM, code)) is not None and record.billable and DRUG_KIND.search(record.description.lower())]
    if len(kinds) == 1:
        note.replace(line, kinds[0], "the note names the drug that caused it (I.C.19.e.5.a)")


def _excluded_drug_kind(note: NoteCoding, code: str) -> str | None:
    """The billable code an Excludes1 note of ``code`` sends its form "due to drugs" to, if any."""
    record = note.catalog.get(CM, code)
    for owner, text in inherited_notes(note.catalog, record, "excludes1") if record is not None else ():
        if owner.startswith(code[:3]) and DRUG_KIND.search(text.lower()):
            for ref in parse_references(text):
                if ref.exact and ref.start == ref.end and note.billable(ref.start):
                    return ref.start
    return None


def _drug_named_as_cause(text: str, start: int, end: int, within: int = 0) -> tuple[str, str] | None:
    """The drug a cause phrase names in the condition's words (``within`` characters from ``start``:
    "anemia due to antineoplastic chemotherapy") or right after them: "... due to [the] hydrochlorothiazide"."""
    tail = text[start:end]
    for pattern, stem, what in ADVERSE_EFFECTS:
        for match in pattern.finditer(tail):
            if match.start() <= within + 40 and CAUSED_BY.search(tail[:match.start()]):
                return stem, what
    return None


def _drug_before(text: str, start: int, end: int) -> tuple[str, str] | None:
    """The drug of "<drug>-induced <condition>" just before the condition or in its words
    ("heparin-induced thrombocytopenia"): ``end`` is where the condition's words end."""
    return _induced_by(text[max(start, end - 40):end])


def _drug_after(text: str, end: int, sentence_end: int) -> tuple[str, str] | None:
    """The drug of "<condition>, <drug>-induced" ("acute duodenal ulcer with hemorrhage, NSAID-induced")."""
    return _induced_by(text[end:min(sentence_end, end + 40)], leading=True)


def _induced_by(window: str, leading: bool = False) -> tuple[str, str] | None:
    """The drug of a "<drug>-induced" in ``window`` (``leading``: only at its start, after a comma,
    dash or parenthesis)."""
    for pattern, stem, what in ADVERSE_EFFECTS:
        for match in pattern.finditer(window):
            if (not leading or re.fullmatch(r"\s*[,(-]?\s*", window[:match.start()])) and INDUCED.match(window[match.end():]):
                return stem, what
    return None


def _the_drug_taken(note: NoteCoding, stem: str, what: str) -> tuple[str, str]:
    """A drug class the note names as the cause ("NSAID", T39.395-) is the one drug of that class the
    note says the patient takes when it has a code of its own ("on naproxen": T39.315-, the Table of
    Drugs and Chemicals' row for the drug)."""
    taken = {s for pattern, s, w in ADVERSE_EFFECTS if w == what and s != stem and pattern.search(note.lower)}
    return (taken.pop(), what) if len(taken) == 1 else (stem, what)


# drugs never taken as prescribed (no adverse-effect code): their poisoning codes without the intent character
ILLICIT_DRUGS = ((re.compile(r"\bheroin\b"), "T40.1X", "heroin"), (re.compile(r"\bcocaine\b"), "T40.5X", "cocaine"),
                 (re.compile(r"\b(?:methamphetamine|meth)\b"), "T43.65", "methamphetamine"))


def poisonings(note: NoteCoding) -> None:
    """An overdose of a drug (more than prescribed, the wrong drug, by accident or on purpose) is a
    poisoning (I.C.19.e.5.b): the drug's T36-T50 code with the intent's character (accidental when
    the note does not say otherwise), coded first; it carries its external cause, so an X58 code
    on the same words leaves."""
    letter = ENCOUNTER_LETTER.get(encounter(note), "D")
    for match in OVERDOSE.finditer(note.lower):
        if not note.stated_now_at(match.start()):
            continue  # "denies overdose", "believes neighbors are poisoning his food"
        start, end = sentence_of(note, match.start(), match.end())
        sentence = note.lower[start:end]
        drug = _drug_nearest(sentence, match.start() - start)
        drug = (drug[0][:-1], drug[1]) if drug else None  # the poisoning's stem: its intent character follows
        drug = drug or next(((stem, what) for pattern, stem, what in ILLICIT_DRUGS if pattern.search(sentence)), None)
        if drug is None:
            continue
        stem, what = drug
        digit, intent = next(((d, name) for pattern, d, name in INTENT if affirmed(pattern, sentence)),
                             ("4", "undetermined") if affirmed(INTENT[-1][0], note.lower) else ("1", "accidental"))
        code = stem + digit + letter
        if not note.billable(code):
            continue
        added = note.add(code, f"poisoning by a {what}, {intent} (I.C.19.e.5.b)", confidence=0.6,
                         like=evidence(note, start, end))
        for line in note.starting(("X58",) + (("T14.91",) if digit == "2" else ()), current=False):
            note.absorb(line, added, f"{added.code} names the poisoning's cause and intent (I.C.19.e.5.b)")


# Taking less of a drug than prescribed (I.C.19.e.5.c): "ran out of insulin", "could not afford",
# "stopped taking", "missed doses"; the reason, when the note gives one, is the Z91.12- / Z91.13- code
UNDERDOSING = re.compile(r"\b(?:underdos\w*|(?<!we )(?<!i )(?<!team )stopped (?:his|her|their) |ran out of|"
                         r"run(?:ning)? out of|out of (?:his|her|their) |could ?n[o']t afford|"
                         r"unable to afford|can ?n?[o']?t afford|stopped taking|not (?:been )?taking|missed (?:\w+ ){0,2}doses?|"
                         r"skipp(?:ed|ing) (?:\w+ ){0,2}doses?|rationing|forg[eo]t(?:ten)? to take|non-?complian\w* with|"
                         r"non-?adheren\w* (?:to|with))")
UNDERDOSING_REASONS = ((re.compile(r"\b(?:afford|cost|financial\w*|insurance|money)\b"), "Z91.120", "intentional, financial hardship"),
                       (re.compile(r"\b(?:forg[eo]t\w*|confus\w*|memory|unintentional\w*)\b"), "Z91.138", "unintentional"),
                       (re.compile(r"\b(?:did ?n[o']t (?:think|feel|want|believe)|does ?n[o']t (?:think|want|believe)|"
                                   r"felt (?:he|she|they) did ?n[o']t need|chose|refus\w*|side effects?|intentional\w*|"
                                   r"on (?:his|her|their) own|self[- ]discontinu\w*)\b"),
                        "Z91.128", "intentional, other reason"))


def underdosing(note: NoteCoding) -> None:
    """A drug taken in less than the prescribed amount, or stopped on the patient's own (I.C.19.e.5.c):
    the drug's underdosing code (T36-T50 with 5th or 6th character 6), never first-listed, with the
    reason's Z91.12- / Z91.13- code when the note gives one; the condition it made worse stays the
    one coded first. A denied or hypothetical sentence ("denies missing doses") codes nothing."""
    letter = ENCOUNTER_LETTER.get(encounter(note), "D")
    conditions = [line for line in note.starting("") if not line.code.startswith(("T", "Z"))]
    for match in UNDERDOSING.finditer(note.lower):
        start, end = sentence_of(note, match.start(), match.end())
        sentence = note.lower[start:end]
        if not conditions or not affirmed(UNDERDOSING, sentence):
            continue
        drug = _drug_nearest(sentence, match.start() - start)
        if drug is None:
            continue
        stem, what = drug
        code = stem[:-1] + "6" + letter
        if not note.billable(code):
            continue
        confidence = min(0.8, max(line.confidence for line in conditions))
        note.add(code, f"underdosing of a {what} (I.C.19.e.5.c)", confidence=confidence, like=evidence(note, start, end))
        said = [text for text in sentences_saying(note, UNDERDOSING) if affirmed(UNDERDOSING, text)]
        reason = next(((z_code, why) for pattern, z_code, why in UNDERDOSING_REASONS  # the reason any such sentence gives
                       if any(pattern.search(text) for text in said)), None)
        if reason is not None:
            note.add(reason[0], f"the underdosing's reason: {reason[1]} (I.C.19.e.5.c)", confidence=confidence,
                     like=evidence(note, start, end))
        return
