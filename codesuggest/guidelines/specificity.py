"""The most specific code the note supports (I.B.2 level of detail, I.B.13 laterality, I.B.18
unspecified codes, and the chapter guidelines): the stage, site, side and encounter the note's words
give, one code per condition (I.B.12), and the external cause of an injury (I.C.20)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..codesets.records import CodeSystem
from ..codesets.references import parse_references
from ..codesets.rules import inherited_notes
from ..pipeline.schema import Mention
from .engine import CM, DIAGNOSIS_SECTIONS, FLOOR, CodeLine, NoteCoding
from .history import (clause_before, ear_sides, evidence, mentions_within, note_side, patient_age, section_at, sentence_of, side_digit,
                      side_of)
from .tables import ACTIVITIES, EXTERNAL_CAUSES
from .combinations import DIABETES, SAID_TRAUMATIC
from .wording import DENIED_BEFORE, SITES as BODY_SITES, UNCOMPLICATED, affirmed, said_without, title_words

CKD_STAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:esrd|esrf|end[- ]stage (?:renal|kidney)|stage (?:5|v) (?:ckd|chronic kidney disease)?\W*(?:on|requiring) (?:hemo)?dialysis)\b"), "N18.6"),
    (re.compile(r"\b(?:stage (?:5|v)|ckd ?(?:5|v)|g5)\b"), "N18.5"),
    (re.compile(r"\b(?:stage (?:4|iv)|ckd ?(?:4|iv)|g4)\b"), "N18.4"),
    (re.compile(r"\b(?:stage (?:3|iii) ?b|ckd ?(?:3|iii) ?b|g3b)\b"), "N18.32"),
    (re.compile(r"\b(?:stage (?:3|iii) ?a|ckd ?(?:3|iii) ?a|g3a)\b"), "N18.31"),
    (re.compile(r"\b(?:stage (?:3|iii)|ckd ?(?:3|iii))\b"), "N18.30"),
    (re.compile(r"\b(?:stage (?:2|ii)|ckd ?(?:2|ii)|g2)\b"), "N18.2"),
    (re.compile(r"\b(?:stage (?:1|i)|ckd ?(?:1|i)|g1)\b"), "N18.1"),
)


def ckd_stage(note: NoteCoding) -> None:
    """One chronic kidney disease code, at the stage the note gives (I.C.14.a: N18.- by stage; ESRD
    N18.6), the stage of its present mentions before a past one. Other N18 codes the ranker put
    forward leave the list."""
    lines = note.starting(("N18",))
    if not lines:
        return
    best = max(lines, key=lambda line: line.confidence)
    # the patient's own: not a relative's "mother with ADPKD, now ESRD on HD", nor a denied stage
    mentions = [m for line in lines for m in note.mentions(line) if not m.assertion.family and not m.assertion.negated]
    stage = None
    for group in ([m for m in mentions if not m.assertion.historical], mentions):
        # the stage said now before one of the history ("s/p kidney transplant for ESRD ... CKD stage 3a")
        said = note.sentences_of(group)
        stage = next((code for pattern, code in CKD_STAGES if affirmed(pattern, said)), None)  # not "not yet ESRD"
        if stage is not None:
            break
    if stage is not None and stage != best.code:
        best = note.replace(best, stage, "the stage the note gives (I.C.14.a)")
    for line in note.starting(("N18",), current=False):
        if line is not best:
            note.withdraw(line, f"one CKD code per note: {best.code} (I.C.14.a)", because_of=best)


# "with unspecified type of pneumonia" (J10.00) names the pneumonia; "stage 1 through stage 4 chronic kidney disease,
# or unspecified chronic kidney disease" (I12.9, I13.0, I13.10) is a combination code whatever the stage
UNSPECIFIED = re.compile(r"(?<!, or )\bunspecified\b(?! type of)")
OTHER = re.compile(r"\bother\b")  # a residual category ("Other hyperlipidemia", "Sprain of other ligament")
OTHER_PART = re.compile(r"\bother parts? of\b", re.I)


def unspecified_beside_specific(note: NoteCoding) -> None:
    """An "unspecified" code is not coded beside a code the note supports that says more about the
    same condition (I.B.2, I.B.18: unspecified codes only when the record gives no more detail):
    J18.9 beside J18.1, I48.91 beside I48.0, R10.9 beside R10.11 in its category; H26.9 beside
    H25.11, D64.9 beside D62, C80.1 beside C50.911 in its chapter when the specific code stands on
    the same words and names the same condition (:func:`_kin`). The specific code must be at least
    half as sure as the unspecified one (or, in another category, stated as a diagnosis), so that
    a stray low-ranked sibling does not decide."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or not title_says(note.description(line.code), "unspecified"):
            continue
        chapter = (line.code[:3],) if line.code.startswith(("R", "Z")) else (line.code[0],)  # R, Z: by I.B.5, III
        if line.code.startswith("D49"):  # a neoplasm of unspecified behaviour beside its malignant code (I.C.2)
            chapter = ("C", "D0")
        siblings = [other for other in note.documented(chapter) if _says_more(note, line, other)]
        if siblings:
            best = max(siblings, key=lambda other: other.confidence)
            note.absorb(line, best, f"{best.code} says more about the same condition (I.B.2, I.B.18)")
            continue
        combined = [other for other in note.documented("") if _combines(note, line, other)]  # any chapter
        if combined:
            best = max(combined, key=lambda other: other.confidence)
            note.absorb(line, best, f"{best.code} codes the condition with what the note adds (I.B.2, I.B.9)")
            continue
        named = [other for other in note.documented(chapter) if _names_the_kind(note, line, other)]
        if named:
            best = max(named, key=lambda other: other.confidence)
            note.absorb(line, best, f"its words name the kind: {best.code} (I.B.2, I.B.12)")


def _names_the_kind(note: NoteCoding, vague: CodeLine, other: CodeLine) -> bool:
    """Whether ``other``, a surer code of another category of the chapter, stands on every mention of
    ``vague`` and is no code ``vague`` may go with: "rheumatoid arthritis" is M06.9, and the M19.90
    "arthritis" read inside the same words is no second condition."""
    if other is vague or other.code[:3] == vague.code[:3]:
        return False
    if not vague.mention_indexes or not set(vague.mention_indexes) <= set(other.mention_indexes):
        return False
    if _primary_and_secondary(vague, other) or not note.stated(other):
        return False
    mine, theirs = _reading(vague, note.mentions(vague)), _reading(other, note.mentions(vague))
    if mine > theirs or (other.confidence <= vague.confidence and mine == theirs):
        return False  # the surer code, unless the words read the other better: L20.9 for "atopic dermatitis", not L30.9
    vague_acuity = title_words(note.description(vague.code))[0] & _ACUITY
    other_acuity = title_words(note.description(other.code))[0] & _ACUITY
    if vague_acuity and other_acuity and vague_acuity.isdisjoint(other_acuity):
        return False  # acute kidney injury on CKD: two conditions (I.B.8)
    return not _asks_for(note, other, vague)  # K91.89 "use additional code ... to further specify disorder": K56.7


def _combines(note: NoteCoding, vague: CodeLine, other: CodeLine) -> bool:
    """Whether ``other``, of another category, codes ``vague``'s condition with more: it stands on a mention
    of ``vague``, its title names every word that names ``vague``'s condition (by their first five letters:
    "pneumonitis" says "pneumonia"; not a word the title leaves unspecified: "organism") and it is not
    itself unspecified, a symptom or a code that follows its cause; and it does not ask for ``vague``'s
    category as an additional code (E11.22 asks for the CKD stage, N18.-). K73.9 "chronic hepatitis" leaves
    beside B18.2 "chronic viral hepatitis C"; J18.9 "pneumonia" beside J69.0 "pneumonitis due to inhalation
    of food"."""
    if other is vague or other.code[:3] == vague.code[:3] or not set(vague.mention_indexes) & set(other.mention_indexes):
        return False
    title = note.description(other.code)
    if title_says(title, "unspecified") or title_says(title, "other") or other.code.startswith("R"):
        return False  # a symptom codes no cause
    if _primary_and_secondary(vague, other):
        return False
    vague_title = note.description(vague.code).lower()
    named = {w[:5] for w in _named_words(vague_title) - _GENERIC if f"unspecified {w}" not in vague_title}
    if not named or not named <= {w[:5] for w in title_words(title)[0]}:
        return False
    if _tabular_notes(note, other, "code_first"):
        return False  # a code that follows its cause (R65.21 after A41.9) codes no cause
    asks = _tabular_notes(note, other, "use_additional", "code_also")
    return not any(ref.covers(vague.code, strict=False) or ref.start[:3] == vague.code[:3]
                   for text in asks for ref in parse_references(text))


def _tabular_notes(note: NoteCoding, line: CodeLine, *fields: str) -> list[str]:
    """The tabular list's notes of these kinds ("code_first", "use_additional", ...) at the line's code or
    above it."""
    record = note.catalog.get(CM, line.code) if note.catalog is not None else None
    return [] if record is None else [text for field in fields for _, text in inherited_notes(note.catalog, record, field)]


def _says_more(note: NoteCoding, vague: CodeLine, other: CodeLine) -> bool:
    """Whether ``other`` (a documented line of ``vague``'s chapter) is a specific code of the same
    condition that may replace ``vague``: not itself unspecified or a residual "other" code; in the
    category, at least half as sure; in another category, of the same condition (:func:`_kin`) and
    at least half as sure or stated as a diagnosis. A stated line below the rules' floor must also
    have its mention say a word of the detail its title adds (M17.11 "... right knee" for
    "osteoarthritis of the right knee", not N28.1 "cyst of kidney" for "acute kidney injury")."""
    title = note.description(other.code)
    if other is vague or title_says(title, "unspecified") or (
            title_says(title, "other") and not OTHER_PART.search(title) and not _names_its_kind(note, other, vague)):
        return False  # "other part of trunk" (C43.59) is a site, not a residual kind; nor is an "other" the words name
    said = note.sentences_of(_current_mentions(note, vague))
    if title_words(title)[1] & (_words_of(said) - said_without(said)):
        return False  # D57.1 "... without crisis" says less than D57.00 for a "pain crisis"
    sure = other.confidence >= max(FLOOR, 0.5 * vague.confidence)
    if other.code[:3] == vague.code[:3]:
        return sure and not _another_kind(note, vague, other)
    if not _kin(note, vague, other):
        return False
    if sure:
        return True
    return note.stated(other) and _mention_says_its_detail(note, vague, other)


def _another_kind(note: NoteCoding, vague: CodeLine, other: CodeLine) -> bool:
    """Whether two codes of a category read apart in the note are two conditions: ``other``'s title
    drops a word of ``vague``'s that ``vague``'s own words say and ``other``'s do not (L40.50
    "arthropathic psoriasis" for "psoriatic arthritis" beside L40.0 "psoriasis vulgaris"; not O00.90
    "ectopic pregnancy" beside O00.101 read from "right tubal ectopic pregnancy")."""
    vague_words, other_words = (_named_words(note.description(line.code)) for line in (vague, other))
    if set(vague.mention_indexes) & set(other.mention_indexes) or not (vague_words & other_words) - _GENERIC:
        return False  # one phrase, or titles of nothing in common (no two kinds of one disease)
    words = frozenset().union(*(_words_of(m.text) for m in _current_mentions(note, vague)))
    theirs = frozenset().union(*(_words_of(m.text) for m in note.mentions(other)))
    return _loses_a_kind(vague_words - theirs, note.description(other.code), words)  # their words may say it


def _mention_says_its_detail(note: NoteCoding, vague: CodeLine, specific: CodeLine) -> bool:
    detail = title_words(note.description(specific.code))[0] - title_words(note.description(vague.code))[0] - _GENERIC
    said = frozenset().union(*(title_words(m.text)[0] for m in note.mentions(specific)))
    return bool(detail & said)


def uncomplicated_beside_complication(note: NoteCoding) -> None:
    """A code titled "uncomplicated" (F10.20 "Alcohol dependence, uncomplicated") is not coded beside
    a code of its category that names a complication with "with" (F10.230 "Alcohol dependence with
    withdrawal, uncomplicated") whose complication the note says: the combination code codes the
    condition (I.B.9). Nor beside its "in remission" code the note says (F11.21: I.C.5.b.1, the
    remission codes by the provider's documentation). Diabetes has its own rule (E11.9 beside E11.22).
    The ".9" of a category of one disease's forms ("B02.9 Zoster without complications") gives way to any
    other code of it: each names a complication, "with" or not (B02.29 postherpetic neuralgia). A hernia
    "without obstruction or gangrene" (K40.90) gives way to its code "with obstruction" the note says (K40.30)."""
    for line in list(note.lines):
        title = note.description(line.code).lower()
        if (line.system != CM or line not in note.lines or not (UNCOMPLICATED.search(title) or _HERNIA_PLAIN.search(title))
                or " with " in title or line.code.startswith(DIABETES)):
            continue
        every_other = _LAST_OF_ITS_FORMS.fullmatch(line.code) is not None
        if every_other and UNCOMPLICATED.search(note.sentences(line)):
            continue  # the note itself says so: "herpes zoster, without complications"
        hernia = _HERNIA_PLAIN.search(title) is not None
        combined = [other for other in note.documented((line.code[:3],))
                    if other is not line
                    and (every_other or _names_a_course(note.description(other.code).lower()))
                    and not title_says(note.description(other.code).lower(), "unspecified")
                    and (every_other or not _unsaid(note, other, line, note.mentions(line) + note.mentions(other)))
                    and (not hernia or affirmed(_HERNIA_COMPLICATED, note.sentences(other)))
                    and (other.confidence >= max(FLOOR, 0.5 * line.confidence) or note.stated(other))]
        if combined:
            best = max(combined, key=lambda other: other.confidence)
            note.absorb(line, best, f"{best.code} codes the condition with its complication (I.B.9)")


_HERNIA_PLAIN = re.compile(r"\bwithout obstruction or gangrene\b")  # a hernia's "uncomplicated" (K40-K46)
_HERNIA_COMPLICATED = re.compile(r"\b(?:obstruct\w*|incarcerat\w*|irreducible|strangulat\w*|gangren\w*)")
_LAST_OF_ITS_FORMS = re.compile(r"[A-Z]\d\d\.9")  # B02.9: a category's last code, one level below it
_NO_COMPLICATION_NAMED = re.compile(r" with (?:other|unspecified|other specified) complications?\b")


def _names_a_course(title: str) -> bool:
    """A complication ("... with withdrawal") or a remission ("... in remission") in a title; "with
    other complication" (B27.89) names none."""
    return (" with " in title and not _NO_COMPLICATION_NAMED.search(title)) or " in remission" in title


# words that name no condition of their own: sharing them does not make two codes one condition
_GENERIC = frozenset({"disease", "diseases", "disorder", "disorders", "syndrome", "condition", "conditions", "acute",
                      "chronic", "other", "specified", "right", "left", "bilateral", "abnormal", "nos", "part", "parts",
                      "primary", "secondary", "organ", "organs", "system", "systems", "elsewhere", "classified"})


_ACUITY = frozenset({"acute", "chronic"})
# nouns a title puts after what it names ("cervical disc disorder"): a note need not say them
_KIND_NOUNS = frozenset({"disease", "diseases", "disorder", "disorders", "syndrome", "condition", "conditions"})


def _primary_and_secondary(one: CodeLine, other: CodeLine) -> bool:
    """A primary neoplasm and a secondary one (C77-C79) are two conditions (C50.919 and C79.51), never
    one coded "with more" than the other; C80 (site unspecified) is either."""
    neoplasms = [line.code for line in (one, other) if line.code[:1] == "C" and line.code[:3] != "C80"]
    return len(neoplasms) == 2 and neoplasms[0].startswith(SECONDARY) != neoplasms[1].startswith(SECONDARY)


def _kin(note: NoteCoding, vague: CodeLine, specific: CodeLine) -> bool:
    """Whether ``specific`` (another category of the chapter) codes the condition of ``vague``: they
    stand on a mention in common and their titles share a word naming the condition. An acute and a
    chronic condition are two, each coded (I.B.8: "acute kidney injury on CKD 3a" is N17.9 and N18.31)."""
    if not set(vague.mention_indexes) & set(specific.mention_indexes):
        return False
    if _primary_and_secondary(vague, specific):
        return False
    vague_words = title_words(note.description(vague.code))[0]
    specific_words = title_words(note.description(specific.code))[0]
    vague_acuity, specific_acuity = vague_words & _ACUITY, specific_words & _ACUITY
    if vague_acuity and specific_acuity and vague_acuity.isdisjoint(specific_acuity):
        return False
    return bool((vague_words & specific_words) - _GENERIC)


NOT_SPECIFIC = re.compile(r"(?<!, or )\bunspecified\b(?! type of)|\bwithout complications\b")
MULTIPLE_SITES = re.compile(r"\bmultiple sites\b")
_MULTIPLE = re.compile(r"\b(?:multiple|several|multifocal|many|widespread|generali[sz]ed)\b")
_TITLE_PATTERNS = {"unspecified": UNSPECIFIED, "other": OTHER, "not specific": NOT_SPECIFIC,
                   "multiple sites": MULTIPLE_SITES}


@lru_cache(maxsize=65536)
def title_says(title: str, what: str) -> bool:
    """Whether a code title is "unspecified", a residual "other" category, "not specific" or for "multiple sites"
    (unspecified or "without complications"); cached, as rules ask it of the same titles often."""
    return _TITLE_PATTERNS[what].search(title.lower()) is not None


def _current_mentions(note: NoteCoding, line: CodeLine) -> list[Mention]:
    """The line's mentions the note states as current, or all of them when none is: a mention the
    note questions or denies ("lumbar radiculopathy suspected") names no detail of a current one."""
    mentions = note.mentions(line)
    current = [m for m in mentions if note.mention_is_current(m, line.code)]
    return current or mentions


def specific_candidate(note: NoteCoding) -> None:
    """An unspecified code gives way to the more specific code of its own mention, when the mention's
    words match that code at least as well: "paroxysmal AFib" is I48.0, not I48.91; "age-related
    nuclear cataract, right eye" is H25.11, not H26.9 (I.B.2, I.B.18). Only codes of the same category
    or chapter block (first three characters) that the code set can bill."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or not title_says(note.description(line.code), "not specific"):
            continue
        best = None
        for mention in _current_mentions(note, line):
            own = max((c.similarity for c in mention.candidates if c.code == line.code), default=0.0)
            for cand in mention.candidates:
                if (cand.system == CM and cand.code != line.code and cand.code[:3] == line.code[:3]
                        and cand.similarity >= max(own, 0.9) and note.billable(cand.code) and not note.withdrew(cand.code)
                        and not title_says(note.description(cand.code), "not specific")
                        # a residual "other" code names nothing more, unless it is the mention's own wording
                        and (cand.similarity >= 1.0 or not title_says(note.description(cand.code), "other"))
                        # a side the sentence does not say is the laterality rule's to give ("bilateral sciatica")
                        and _sides_said(note, cand.code, mention)
                        # "cannabis use, unspecified with anxiety disorder" keeps its disorder: not "cannabis abuse"
                        and (" with " not in note.description(line.code) or " with " in note.description(cand.code))
                        and (not title_says(note.description(cand.code), "multiple sites") or _MULTIPLE.search(
                            note.lower[mention.sentence_start:mention.sentence_end]))
                        and (best is None or cand.similarity > best.similarity)):
                    best = cand
        if best is not None:
            note.replace(line, best.code, f"its mention '{best.matched_term or best.code}' names the more specific code (I.B.2)")


_BILATERAL = re.compile(r"\b(?:bilateral(?:ly)?|both|b/l)\b")


def _both_sides(note: NoteCoding, line, other) -> bool:
    """Whether the two codes are the right and the left of one condition the note says is bilateral, in
    a category with no bilateral code: each side is coded (I.B.13)."""
    mine, theirs = _words_of(note.description(line.code).lower()), _words_of(note.description(other.code).lower())
    return ({"right", "left"} == (mine ^ theirs) and _BILATERAL.search(note.sentences(line)) is not None)


def _sides_said(note: NoteCoding, code: str, mention: Mention) -> bool:
    """Whether the sentence of ``mention`` says every side word of ``code``'s title."""
    sides = _words_of(note.description(code).lower()) & SIDES
    return sides <= _words_of(note.lower[mention.sentence_start:mention.sentence_end])


# -- laterality (I.B.13) ---------------------------------------------------------------------------

_SIBLINGS: dict[tuple[int, str], dict[str, str]] = {}  # (id(catalog), category) -> description -> code


def _by_description(catalog: Any, category: str) -> dict[str, str]:
    key = (id(catalog), category)
    if key not in _SIBLINGS:
        codes = catalog.with_prefix(CodeSystem.ICD10CM, category)
        records = (catalog.get(CM, code) for code in codes)
        _SIBLINGS[key] = {r.description.lower(): r.code for r in records if r is not None and r.billable}
    return _SIBLINGS[key]


def lateral_siblings(catalog: Any, code: str, side: str) -> list[str]:
    """The billable codes that say ``side`` ('right', 'left', 'bilateral') where the description of
    ``code`` says "unspecified" (femur, knee, eye, side, ...): found in the catalogue by description,
    with "right"/"left" in place of "unspecified". Bilateral with no bilateral code: the right and
    the left codes (I.B.13). Empty when the classification has no such sibling."""
    record = catalog.get(CM, code) if catalog is not None else None
    if record is None or "unspecified" not in record.description.lower():
        return []
    index = _by_description(catalog, code[:3])
    description = record.description.lower()
    for found in re.finditer(r"\bunspecified\b", description):
        head, tail = description[:found.start()], description[found.end():]
        wordings = {
            "right": [f"{head}right{tail}"],
            "left": [f"{head}left{tail}"],
            "bilateral": [f"{head}bilateral{tail}", re.sub(r",\s*$", "", head) + ", bilateral" + re.sub(r"^\s*\w+", "", tail),
                          f"{head}bilateral{tail}s"],
        }[side]
        hits = [index[w] for w in wordings if w in index]
        if hits:
            return hits[:1]
    if side == "bilateral" and "unilateral" not in description:  # "unilateral ..., unspecified knee": M17.0 is elsewhere
        pair = lateral_siblings(catalog, code, "right") + lateral_siblings(catalog, code, "left")
        return pair if len(pair) == 2 else []
    return []


def laterality(note: NoteCoding) -> None:
    """A code for an unspecified side becomes the right, left or bilateral code when the sentence
    of its evidence gives the side (I.B.13: a bilateral condition with no bilateral code is coded
    for each side). The code keeps its confidence. Mentions with different sides leave it as is."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or "unspecified" not in note.description(line.code).lower():
            continue
        side = note_side(note, line)
        if not side:
            continue
        codes = lateral_siblings(note.catalog, line.code, side)
        if not codes:
            continue
        original = line.code
        target = note.replace(line, codes[0], f"the note gives the side: {side} (I.B.13)")
        for code in codes[1:]:
            note.add(code, f"bilateral, with no bilateral code: each side is coded (I.B.13); {original} for the other side",
                     confidence=target.confidence, like=[target])


# -- the 7th character from the encounter (I.C.19.a) -----------------------------------------------

SEVENTH = {  # encounter -> the 7th characters by kind: closed / non-fracture, open I-II, open IIIA-C
    "initial": "ABC", "subsequent": "DEF", "delayed healing": "GHJ", "nonunion": "KMN", "malunion": "PQR",
    "sequela": "SSS",
}
_COLUMN = {letter: i for letters in SEVENTH.values() for i, letter in enumerate(letters) if letters != "SSS"} | {"S": 0}
SUBSEQUENT = re.compile(
    r"\b(?:(?:here|presents?|seen|returns?|comes?|came|back)(?: today| in| to (?:the )?(?:clinic|office))? for "
    r"(?:an? |her |his |their |routine |scheduled |(?:\d+|one|two|three|four|six)[- ]weeks? )*"
    r"(?:follow[- ]?up|f/u|recheck|re-check|cast (?:check|change|removal)|suture removal|staple removal|wound check|"
    r"dressing change|repeat x-?rays?)|follow[- ]?up (?:visit|appointment|encounter|exam(?:ination)?) (?:for|of|after)|"
    r"cast (?:check|change|removal)|suture removal|staple removal|routine healing|healing (?:well|appropriately|as expected|nicely)|"
    r"interval healing|callus formation|subsequent encounter)\b"
)
# a visit after surgery: routine healing for the injury operated on, but the first encounter of a
# complication found at it (a wound infection treated there is "A", I.C.19.a)
POSTOPERATIVE_VISIT = re.compile(r"\bpost-?op(?:erative)? (?:visit|check|follow[- ]?up)\b")
COMPLICATIONS_OF_CARE = tuple(f"T8{digit}" for digit in range(9))  # T80-T88
ROUTINE_AFTER_OPERATION = re.compile(r"\b(?:wound|incision|pocket|site) checks?\b|\b(?:suture|staple) removal\b|\bdressing change\b")
SEQUELA = re.compile(
    r"\b(?:late effects?|sequela[e]?|residual (?:\w+ ){0,3}(?:from|after|due to|of) (?:an? |the |his |her )?(?:old|prior|previous|remote)|"
    r"(?:scar|contracture|deformity) (?:from|after|due to|secondary to) (?:an? |the |his |her )?(?:old|prior|previous|remote|healed))\b"
)
INITIAL = re.compile(r"\binitial encounter\b")
NONUNION = re.compile(r"\bnon-?union\b")
MALUNION = re.compile(r"\bmal-?union\b")
DELAYED = re.compile(r"\bdelayed (?:healing|union)\b")
OPEN_FRACTURE = re.compile(r"\b(?:open(?!\s+reduction)|compound)\s+(?:\w+\s+){0,3}?(?:fracture|fx)|\bgustilo\b|\bfracture\b[^.;\n]{0,30}\bopen\b(?! reduction)")
GUSTILO_III = re.compile(r"\b(?:type|gustilo|grade)\s+(?:iii|3)\s?[abc]?\b")
FUTURE_SECTIONS = frozenset({"plan", "instructions", "past_medical_history", "family_history"})


def encounter(note: NoteCoding, complication: bool = False) -> str:
    """What this encounter is for the injury, from the note's words outside its plan and history:
    'sequela' (late effect), 'subsequent' (follow-up, cast check, routine healing, a post-operative
    visit; with 'delayed healing', 'nonunion' or 'malunion' when said), else 'initial' (active
    treatment: ED, admission, surgery; the default). For a complication of care
    (``complication``), a post-operative visit or the operation's wound check is where it is first treated: initial."""
    text = _encounter_text(note)
    if SEQUELA.search(text):
        return "sequela"
    if complication:  # the wound check of the operation is not a follow-up of the complication found at it
        text = ROUTINE_AFTER_OPERATION.sub(" ", text)
    if not complication and not INITIAL.search(text):  # a healing problem is a later encounter's by definition
        for pattern, kind in ((NONUNION, "nonunion"), (MALUNION, "malunion"), (DELAYED, "delayed healing")):
            if affirmed(pattern, text):  # "delayed union; not a nonunion at this point"
                return kind
    followed_up = SUBSEQUENT.search(text) or (not complication and POSTOPERATIVE_VISIT.search(text))
    if INITIAL.search(text) or not followed_up:
        return "initial"
    return "subsequent"


def _encounter_text(note: NoteCoding) -> str:
    text = note.lower
    cuts = sorted((s, e) for category, s, e in note.analysis.sections if category in FUTURE_SECTIONS)
    if not cuts:
        return text
    parts, at = [], 0
    for s, e in cuts:
        parts.append(text[at:max(at, s)])
        at = max(at, e)
    return "\n".join(parts + [text[at:]])


def has_seventh(code: str) -> bool:
    """An injury (S00-T88) code with a 7th character (the encounter)."""
    return code[:1] in "ST" and len(code) == 8 and code[-1] in _COLUMN


def injury_encounter(note: NoteCoding) -> None:
    """Injury codes carry the encounter in their 7th character (I.C.19.a): A initial (active
    treatment: ED, admission, surgery, evaluation by a new physician), D subsequent (routine care
    in the healing phase: cast change, x-ray of healing, follow-up; G/K/P for delayed healing,
    nonunion, malunion), S sequela (a late effect). From the note's words (:func:`encounter`);
    A by default. The column (closed A/D/G..., open type I-II B/E/H..., open type IIIA-C C/F/J...)
    comes from :func:`_fracture_column`."""
    kinds = {False: encounter(note), True: encounter(note, complication=True)}
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or not has_seventh(line.code):
            continue
        kind = kinds[line.code.startswith(COMPLICATIONS_OF_CARE)]
        letters = SEVENTH[kind]
        column = _fracture_column(note, line)
        wanted = letters[column]
        code = line.code[:-1] + wanted
        if wanted not in SEVENTH["sequela"] + SEVENTH["initial"] + SEVENTH["subsequent"] and not note.billable(code):
            code = line.code[:-1] + SEVENTH["subsequent"][column]  # no delayed / nonunion letters
        if code != line.code and note.billable(code):
            note.replace(line, code, f"the 7th character gives the encounter: {kind} (I.C.19.a)")


def _fracture_column(note: NoteCoding, line) -> int:
    """0 for a closed fracture (and any injury not said to be open: I.C.19.c.1, "a fracture not
    indicated as open or closed should be coded to closed"), 2 for an open one of Gustilo type
    III, else 1 (open, type I or II: also the open fracture whose type is not given, I.C.19.c.1)."""
    if not note.says(OPEN_FRACTURE, line):
        return 0
    return 2 if note.says(GUSTILO_III, line) else 1


# -- external causes of injuries (I.C.20) ----------------------------------------------------------

NOT_AN_EVENT = re.compile(
    r"\b(?:no|denies|denied|without|not|never|risk|precautions?|prevention|history of|h/o|recurrent|frequent|"
    r"fear of|at risk|screen\w*)\b"
)
INJURY_PREFIXES = ("S", "T0", "T10", "T11", "T12", "T13", "T14", "T15", "T16", "T17", "T18", "T19", "T2", "T30",
                   "T31", "T32", "T33", "T34", "T66", "T67", "T68", "T69", "T70", "T71", "T73", "T75")  # and effects of heat, cold, ...
BURNS = ("T20", "T21", "T22", "T23", "T24", "T25")
BURN_EXTENT = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s?%\s?(?:of (?:the )?)?(?:tbsa|total body surface|body surface|bsa)\b|"
                         r"\bless than (10)\s?% (?:of )?(?:the )?(?:tbsa|total body surface|body surface)")
THIRD_DEGREE_EXTENT = re.compile(r"\b(\d{1,2})\s?%\s?(?:of (?:the )?(?:tbsa|body surface) )?(?:is )?(?:third[- ]degree|3rd[- ]degree|full[- ]thickness)")


BURN_DEGREES = (("3", re.compile(r"\b(?:third|3rd)[- ]degree\b|\bfull[- ]thickness\b")),
                ("2", re.compile(r"\b(?:second|2nd)[- ]degree\b|\bpartial[- ]thickness\b")),
                ("1", re.compile(r"\b(?:first|1st)[- ]degree\b|\bsuperficial (?:burn|scald|thickness)\b")))
CORROSION = re.compile(r"\b(?:corrosion|chemical burn|alkali|lye|acid burn|caustic)\b")


def burn_degree(note: NoteCoding) -> None:
    """A burn of unspecified degree (4th character 0, a corrosion's 4) takes the highest degree its sentences
    give: first 1, second 2 (partial thickness), third 3 (full thickness); a corrosion (chemical burn) the
    corrosion characters 5-7 (I.C.19.d: burns are classified by depth). T30.0 "burn of unspecified body
    region, unspecified degree" leaves beside a burn coded by its site."""
    sited = []
    for line in note.starting(BURNS):
        text = note.sentences(line)
        degree = _burn_degree_of(note, line) or next((digit for digit, pattern in BURN_DEGREES if affirmed(pattern, text)), None)
        corrosion = line.code[4:5] in "4567" or CORROSION.search(text) is not None
        if degree is not None and line.code[4:5] in ("0", "4"):
            code = line.code[:4] + (str(int(degree) + 4) if corrosion else degree) + line.code[5:]
            if note.billable(code):
                line = note.replace(line, code, "the burn's degree as the note gives it (I.C.19.d)")
        sited.append(line)
    for line in note.starting(("T30",), current=False) if sited else ():
        note.absorb(line, sited[0], f"{sited[0].code} codes the burn by its site (I.C.19.d)")


def _burn_degree_of(note: NoteCoding, line: CodeLine) -> str | None:
    """The degree said in the clause of one of the line's mentions, up to the mention ("1st degree R forearm")."""
    for mention in note.current_mentions(line):
        said = clause_before(note, mention.start)[-60:] + note.lower[mention.start:mention.end]
        degree = next((digit for digit, pattern in BURN_DEGREES if pattern.search(said)), None)
        if degree is not None:
            return degree
    return None


LOC_UNKNOWN = re.compile(r"\bloc (?:status )?unknown\b|\bunknown (?:loc|loss of consciousness)\b|"
                         r"\b(?:does not|doesn't|cannot|can't|unable to) (?:know|recall|say) (?:whether|if) (?:he|she|they) "
                         r"(?:passed out|lost consciousness)\b")
LOC_NONE = re.compile(r"\b(?:no|without|denies|denied|negative for) (?:\w+ ){0,2}(?:loc|loss of consciousness)\b|"
                      r"\bdid not (?:lose consciousness|pass out)\b")
LOC_SAID = re.compile(r"\b(?:loc|loss of consciousness|lost consciousness|unresponsive|unconscious|passed out|knocked out)\b")
LOC_DURATION = re.compile(r"\b(?:loc|loss of consciousness|lost consciousness|unresponsive|unconscious|passed out|knocked out|"
                          r"regained consciousness)\b[^.;\n]{0,60}?(?:~|approx\.?|about|around|x|for)?\s*(\d+(?:\.\d+)?)\s*"
                          r"(sec\w*|s\b|min\w*|h\b|hr\w*|hour\w*)")
# minutes of loss of consciousness -> the S06 code's 6th character (I.C.19; the S06 subcategory notes)
LOC_CHARACTERS = ((30, "1"), (59, "2"), (359, "3"), (1440, "4"))


def loss_of_consciousness(note: NoteCoding) -> None:
    """An intracranial injury (S06) by the loss of consciousness the note documents, its 6th character: 0 none,
    1 30 minutes or less, 2 31-59 minutes, 3 1-5 hours 59 minutes, 4 6-24 hours, 5 over 24 hours, 9 of
    unspecified duration, A unknown whether it occurred; a loss of consciousness (R55) in the injury code leaves."""
    lines = [line for line in note.starting(("S06",)) if len(line.code) == 8 and line.code[6] in "09"]
    if not lines:
        return
    character = _loc_character(note.lower)
    for line in lines:
        code = line.code[:6] + character + line.code[7:] if character else line.code
        if code != line.code and note.billable(code):
            line = note.replace(line, code, f"the loss of consciousness the note documents: {note.description(code)} (I.C.19)")
        if line.code[6] not in "0A":
            for syncope in note.starting(("R55", "R40.2")):
                note.absorb(syncope, line, f"{line.code} codes the loss of consciousness")


def _loc_character(text: str) -> str:
    if LOC_UNKNOWN.search(text):
        return "A"
    duration = LOC_DURATION.search(text)
    if duration and not LOC_NONE.search(text):
        amount, unit = float(duration.group(1)), duration.group(2)
        minutes = amount / 60 if unit.startswith("s") else amount * 60 if unit.startswith("h") else amount
        return next((char for limit, char in LOC_CHARACTERS if minutes <= limit), "5")
    if LOC_NONE.search(text):
        return "0"
    return "9" if affirmed(LOC_SAID, text) else ""


def burn_extent(note: NoteCoding) -> None:
    """A burn takes the extent of body surface burned, T31.- (I.C.19.d.6: with the site codes when
    the note gives the percentage): tens of the total, then tens of the third-degree part."""
    burns = note.starting(BURNS)
    found = BURN_EXTENT.search(note.lower)
    if not burns or found is None or note.starting(("T31",), current=False):
        return
    total = 5.0 if found.group(2) else float(found.group(1))  # "less than 10%"
    third = THIRD_DEGREE_EXTENT.search(note.lower)
    tens = min(9, int(total // 10))
    code = "T31.0" if tens == 0 else f"T31.{tens}{min(tens, int(third.group(1)) // 10) if third else 0}"
    if note.billable(code):
        extent = "less than 10%" if tens == 0 else f"{tens}0-{tens}9%"
        note.add(code, f"{found.group(0)}: burns of {extent} of the body surface (I.C.19.d.6)",
                 confidence=max(line.confidence for line in burns), like=burns[:1])

UNSPECIFIED_FALL = "W19.XXX"


def _activity(note: NoteCoding, injury: CodeLine, confidence: float) -> None:
    """The activity the injury happened at (Y93.-, ``resources/activities.tsv``), at the initial
    encounter only (I.C.20.c)."""
    for code, pattern, what in ACTIVITIES:
        match = next((m for m in pattern.finditer(note.lower) if _an_event(note, m)), None)
        if match is not None and note.billable(code):
            note.add(code, f"activity at the injury ({injury.code}): {what} (I.C.20.c)", confidence=confidence,
                     like=[injury] + evidence(note, match.start(), match.end()))
            return


def external_cause(note: NoteCoding) -> None:
    """A current injury with the cause the note gives gets the external cause code (I.C.20: falls
    by where from, motor vehicle collisions, bites, ...; ``resources/external_causes.tsv``, the
    most specific row first), with the injury's 7th character (I.C.20.a.2: A, D or S). Never
    first-listed (the principal diagnosis rule refuses V00-Y99). The ranker's own external cause
    codes take the injury's 7th character too, and an unspecified fall leaves beside a specific one.

    An injury the provider states as a diagnosis counts however sure the ranker is of its code. With no
    injury or poisoning in the list, an external cause code leaves ("disease activity" is no Y93.9).
    Confidence: that of the surest current injury (the note states the cause in words; a code
    ranked below its injury would fall out of a short list)."""
    injuries = [line for line in note.documented(INJURY_PREFIXES) if has_seventh(line.code)]
    if not injuries:
        if not note.starting(("S", "T"), current=False):  # an external cause says how an injury happened
            for line in [line for line in note.lines if line.system == CM and line.code[:1] in "VWXY" and not line.added]:
                note.withdraw(line, "no injury or poisoning for an external cause to explain (I.C.20)")
        return
    injury = max(injuries, key=lambda line: (not line.code.startswith("T14"), line.confidence))  # the site's code
    letter = _external_letter(injury.code[-1])
    added = None
    for stem, pattern, what in EXTERNAL_CAUSES:
        match = next((m for m in pattern.finditer(note.lower) if _an_event(note, m)), None)
        if match is None:
            continue
        code = stem + letter if len(stem) == 7 else stem
        if not note.billable(code):
            continue
        confidence = max(line.confidence for line in injuries)
        added = note.add(code, f"external cause of {injury.code}: {what} (I.C.20)", confidence=confidence,
                         like=[injury] + evidence(note, match.start(), match.end()))
        break
    if letter == "A":
        _activity(note, injury, max(line.confidence for line in injuries))
    for line in [line for line in note.lines if line.system == CM and line.code[:1] in "VWXY" and line is not added]:
        if len(line.code) == 8 and line.code[-1] in "ADS" and line.code[-1] != letter and note.billable(line.code[:-1] + letter):
            line = note.replace(line, line.code[:-1] + letter, f"the injury's encounter: {injury.code} (I.C.20.a.2)")
        if added is not None and line.code.startswith(UNSPECIFIED_FALL) and not added.code.startswith(UNSPECIFIED_FALL) \
                and added.code.startswith("W"):
            note.withdraw(line, f"{added.code} says how the patient fell (I.C.20)", because_of=added)
        elif added is not None and line.code[:3] == added.code[:3] and line.code != added.code:
            note.withdraw(line, f"{added.code} is the cause the note gives (I.C.20)", because_of=added)


def _external_letter(seventh: str) -> str:
    if seventh == "S":
        return "S"
    return "A" if seventh in SEVENTH["initial"] else "D"


def _an_event(note: NoteCoding, match: re.Match[str]) -> bool:
    if section_at(note, match.start()) in FUTURE_SECTIONS:
        return False
    if re.match(r"\s*(?:asleep|precautions?|risk|prevention|screen\w*)", note.lower[match.end():match.end() + 14]):
        return False  # "falls asleep", "fall precautions", "fall risk"
    return not NOT_AN_EVENT.search(clause_before(note, match.start()))


# categories where one phrase often stands for several codes at once (diabetes with two complications,
# history and status Z codes, pregnancy): left out of the alternatives rule
MANY_CODES_PER_PHRASE = ("E08", "E09", "E10", "E11", "E13", "I25", "Z", "O")
# of those, pregnancy categories with one code per condition: an ectopic or molar pregnancy, an
# abortion, hyperemesis; long-term drug therapy (Z79.01 or Z79.02 for "anticoagulated", not both); the encounters
# for a cancer treatment, contraception, a postpartum visit or a general exam ("encounter for immunotherapy" is
# Z51.12, not also Z51.11); and housing problems ("homelessness" is Z59.00 alone)
ONE_CODE_PER_PHRASE = ("O00", "O01", "O02", "O03", "O04", "O07", "O08", "O21", "Z79", "Z51", "Z39", "Z00", "Z59", "Z30")


def alternatives(note: NoteCoding) -> None:
    """Two codes of one category backed by the same words are two readings of one condition, not
    two conditions: one leaves ("left ankle sprain" is S93.402A, not also S93.401A; "persistent
    AFib" I48.19, not also I48.0); so are two codes whose words overlap in the note, and two
    injuries read from overlapping words ("fracture R femoral neck": not also S12.9 "fracture of neck").
    The specific one stays over an "unspecified" one (I.B.18), else the surer one. A code with words of its own stays (I.B.12: a code is reported once per condition)."""
    for line in list(note.lines):
        if (line.system != CM or line not in note.lines or not line.mention_indexes or line.added
                or (line.code.startswith(MANY_CODES_PER_PHRASE) and not line.code.startswith(ONE_CODE_PER_PHRASE))):
            continue  # a code a rule added is deliberate: J44.0 and J44.1 on one COPD mention
        # its words the note states now: a denied "HI" makes R45.850 no condition of its own
        own = set(note.current_indexes(line)) or set(line.mention_indexes)
        for other in note.starting((line.code[:3], "S") if line.code[0] == "S" else (line.code[:3],), current=False):
            if other is line or other.added:
                continue
            same_category = other.code[:3] == line.code[:3]
            if not ((same_category and own <= set(other.mention_indexes)) or _overlapping(note, line, other)
                    or (same_category and _reads_around(note, other, line))):
                continue
            if _both_said(note, line, other) or _both_sides(note, line, other):
                continue
            if _better_reading(note, other, line):
                if _reads_around(note, other, line) or (_vagueness(note, line) == 1 and _names_its_kind(note, other, line)):
                    # the longer or exact reading takes the surety of the words the vaguer one stood on
                    other.confidence = max(other.confidence, line.confidence)
                note.absorb(line, other, f"the same words are coded as {other.code}: one code per condition (I.B.12)")
                break


def second_reading(note: NoteCoding) -> None:
    """A code of another category that stands only on words another code reads exactly (the words
    are that code's own wording) and that reads them only in part is a second reading of the one
    condition, not a second condition (I.B.12): "LTBI" is Z22.7 latent tuberculosis, not also A15.9
    read from its "tuberculosis". It stays when either code's tabular notes ask for the other (use
    additional, code also, code first: I12.9 with N18.-) or when it is the surer of the two."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or line.added or not line.mention_indexes:
            continue
        current = note.current_indexes(line)
        exact = [_exact_reader(note, line, i) for i in current]
        if not current or None in exact:
            continue
        best = max(exact, key=lambda other: other.confidence)
        note.absorb(line, best, f"the same words are {best.code}'s own wording; {line.code} reads them in part: "
                    "one code per condition (I.B.12)")


def excluded_here(note: NoteCoding) -> None:
    """A residual code ("not elsewhere classified", "unspecified") whose own Excludes1 note ("not coded
    here"), or its category's, names a code coded on the same words, which reads them at least as well,
    leaves for it (I.A.12.a): J90 "pleural effusion, not elsewhere classified" excludes "malignant pleural
    effusion (J91.0)", so "malignant pleural effusion" is J91.0 alone."""
    for line in list(note.lines):
        title = note.description(line.code).lower()
        if (line.system != CM or line not in note.lines or not line.mention_indexes
                or not ("not elsewhere classified" in title or title_says(title, "unspecified"))):
            continue
        references = _own_excludes1(note, line)
        for other in list(note.lines):
            if (other is line or other.system != CM or other.code[:3] == line.code[:3]
                    or not (other.confidence >= FLOOR or note.stated(other))
                    or not any(ref.covers(other.code) for ref in references)
                    or not set(line.mention_indexes) & set(other.mention_indexes)):
                continue
            shared = _shared_mentions(note, line, other)
            if _match(other, shared) >= _match(line, shared):
                note.absorb(line, other, f"its Excludes1 note names {other.code}, coded on the same words (I.A.12.a)")
                break


def excluded_by_name(note: NoteCoding) -> None:
    """A code leaves for a code its category's Excludes1 note sends a condition to, when a current
    mention of that code says the note's words for the condition: H90 (conductive and sensorineural
    hearing loss) excludes "noise-induced hearing loss (H83.3-)", so a note's "noise-induced hearing loss"
    is H83.3X3 alone, its audiogram's "sensorineural hearing loss" not H90.3 beside it (I.A.12.a)."""
    for line in list(note.lines):
        if (line.system != CM or line not in note.lines or not line.mention_indexes or note.catalog is None
                or note.catalog.get(CM, line.code) is None):
            continue
        for phrase, words, references in _named_exclusions(note.catalog, line.code):
            other = next((o for o in note.lines if o is not line and o.system == CM and o.code[:3] != line.code[:3]
                          and any(ref.covers(o.code) for ref in references)
                          and any(i not in line.mention_indexes and words <= _words_of(note.analysis.mentions[i].text)
                                  for i in note.current_indexes(o))), None)
            if other is not None:
                note.absorb(line, other, f"its Excludes1 note sends '{phrase}', which the note says, to {other.code} (I.A.12.a)")
                break


def nos_beside_its_kind(note: NoteCoding) -> None:
    """A code for a condition "NOS" leaves when a code whose category's Excludes1 note sends that NOS to it
    reads the same words: M1A (chronic gout) excludes "gout NOS (M10.-)", so "chronic tophaceous gout" is
    M1A.0711 alone, not M10.071 beside it (I.A.12.a)."""
    for line in list(note.lines):
        if (line.system != CM or line not in note.lines or not line.mention_indexes or note.catalog is None
                or note.catalog.get(CM, line.code) is None):
            continue
        mine = set(note.current_indexes(line))
        for references in _nos_exclusions(note.catalog, line.code):
            for other in list(note.lines):
                if (other is not line and other.system == CM and other.code[:3] != line.code[:3]
                        and any(ref.covers(other.code) for ref in references)
                        and mine & set(note.current_indexes(other))):
                    note.absorb(other, line, f"{line.code}'s Excludes1 note sends the condition NOS to "
                                f"{other.code}: the note names its kind (I.A.12.a)")


@lru_cache(maxsize=8192)
def _nos_exclusions(catalog: Any, code: str) -> tuple[tuple, ...]:
    """The exact references of the "<condition> NOS" Excludes1 notes of ``code``'s category."""
    record = catalog.get(CM, code)
    if record is None:
        return ()
    return tuple(refs for owner, text in inherited_notes(catalog, record, "excludes1")
                 if owner.startswith(code[:3]) and _NOS.search(text.lower().split("(")[0])
                 and (refs := tuple(ref for ref in parse_references(text) if ref.exact)))


_NOS = re.compile(r"\bnos\b")
# nonessential modifiers in parentheses, "sudden (idiopathic) hearing loss (H91.2-)": not a code reference
_OPTIONAL_WORDS = re.compile(r"\((?![A-Z][0-9])[^()]*\)")
_NOT_NAMING = frozenset({"nec", "of", "the", "and", "or", "in", "with", "due", "to"})


@lru_cache(maxsize=8192)
def _named_exclusions(catalog: Any, code: str) -> tuple[tuple[str, frozenset[str], tuple], ...]:
    """(the condition, its words, its exact references) of each Excludes1 note of ``code`` and its category."""
    record = catalog.get(CM, code)
    if record is None:
        return ()
    out = []
    for owner, text in inherited_notes(catalog, record, "excludes1"):
        references = tuple(ref for ref in parse_references(text) if ref.exact)
        phrase = _OPTIONAL_WORDS.sub("", text).split("(")[0].strip().lower()
        words = frozenset(_WORD.findall(phrase)) - _NOT_NAMING
        # "uterine atony NOS (O62.2)": the condition said alone; the note's "hemorrhage due to atony" is O72.1's
        if owner.startswith(code[:3]) and references and len(words) >= 2 and not _NOS.search(phrase):
            out.append((phrase, words, references))
    return tuple(out)


def _own_excludes1(note: NoteCoding, line: CodeLine) -> tuple:
    """The exact references of the Excludes1 notes of ``line``'s code and its category (not of its block or
    chapter, whose notes exclude whole groups)."""
    return _excludes1_of(note.catalog, line.code) if note.catalog is not None else ()


@lru_cache(maxsize=8192)
def _excludes1_of(catalog: Any, code: str) -> tuple:
    record = catalog.get(CM, code)
    if record is None:
        return ()
    return tuple(ref for owner, text in inherited_notes(catalog, record, "excludes1") if owner.startswith(code[:3])
                 for ref in parse_references(text) if ref.exact)


def kind_over_site_reading(note: NoteCoding) -> None:
    """A code whose words are a condition's head noun and then only its site ("contracture, left hand":
    M24.542) leaves for the code of another category that reads exactly the words ending in that noun
    ("Dupuytren's contracture": M72.0): they are one condition, and the index codes a named kind by
    its kind (I.B.12). Unless either code's tabular notes ask for the other (E11.621 "use additional code"
    for the L97.4- of "diabetic foot ulcer, left heel")."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or line.added:
            continue
        mentions = note.current_mentions(line)
        stated = [m for m in mentions if m.section in DIAGNOSIS_SECTIONS]  # the diagnostic statement governs
        readers = [_kind_reader(note, line, m) for m in stated or mentions]
        if not readers or None in readers:
            continue
        best = max(readers, key=lambda other: other.confidence)
        note.absorb(line, best, f"the words are {best.code}'s condition and its site: one code per condition (I.B.12)")


def _kind_reader(note: NoteCoding, line: CodeLine, mention: Mention) -> CodeLine | None:
    """The coded line of another category that reads exactly a mention ending in ``mention``'s first word,
    when the rest of ``mention`` is words of ``line``'s title (its site and side)."""
    words = _WORD.findall(mention.text.lower())
    if len(words) < 2 or not set(words[1:]) <= _words_of(note.description(line.code)):
        return None
    head_end = mention.start + note.lower[mention.start:].index(words[0]) + len(words[0])
    for other in note.lines:
        if other is line or other.system != CM or other.code[:3] == line.code[:3] or other.confidence < FLOOR:
            continue
        if any(kind.start < mention.start and kind.end == head_end and _match(other, [kind]) >= EXACT
               for kind in note.mentions(other)) and not (_asks_for(note, other, line) or _asks_for(note, line, other)):
            return other
    return None


def _exact_reader(note: NoteCoding, line: CodeLine, index: int) -> CodeLine | None:
    """A surer coded line of another category that reads mention ``index`` exactly where ``line``
    reads it in part, and that neither asks for ``line`` nor is asked for by it."""
    mention = note.analysis.mentions[index]
    candidates = mention.candidates
    mine = _reading(line, [mention])
    if mine == 0.0 or mine >= EXACT:
        return None  # a code a rule put here (no candidate of it), or an exact reading itself
    for other in note.lines:
        if (other is line or other.system != CM or other.code[:3] == line.code[:3] or index not in other.mention_indexes
                or other.confidence < line.confidence):
            continue
        if not any(c.similarity >= EXACT and c.code[:3] == other.code[:3] for c in candidates if c.system == CM):
            continue
        if _asks_for(note, other, line) or _asks_for(note, line, other):
            continue
        return other
    return None


def _asks_for(note: NoteCoding, line: CodeLine, other: CodeLine) -> bool:
    """Whether ``line``'s tabular notes (use additional, code also, code first) may ask for ``other``:
    they name its code, or ask in words alone ("use additional code to identify infection")."""
    for text in _tabular_notes(note, line, "use_additional", "code_also", "code_first"):
        references = parse_references(text)
        if not references or any(ref.covers(other.code, strict=False) or ref.start[:3] == other.code[:3] for ref in references):
            return True
    return False


CONGENITAL_SAID = re.compile(r"\b(?:congenital\w*|born with|since birth|at birth|newborn|neonat\w*|infant|infantile|hereditary|inherited|"
                             r"autosomal|x-linked|genetic|adpkd|arpkd)\b")


def congenital_unsaid(note: NoteCoding) -> None:
    """A congenital anomaly code (Q00-Q99) on words another code reads as an acquired condition
    leaves when the note does not say the condition was present at birth: "aortic stenosis" is
    I35.0, the Index sending "congenital" aortic stenosis to chapter 17 (I.C.17). In an infant (under one
    year) the congenital reading stands."""
    if CONGENITAL_SAID.search(note.lower) or patient_age(note) == 0:
        return
    for line in note.starting(("Q",), current=False):
        own = set(line.mention_indexes)
        acquired = [other for other in note.lines if other.system == CM and not other.code.startswith("Q")
                    and own <= set(other.mention_indexes)] if own else []
        if line in note.lines and acquired:
            best = max(acquired, key=lambda other: other.confidence)
            note.absorb(line, best, f"the note does not say the condition is congenital: {best.code} (I.C.17)")


def _both_said(note: NoteCoding, line, other) -> bool:
    """Whether each title adds a detail the other lacks and the words they share say both: two
    conditions, not two readings of one ("acute on chronic hypoxic and hypercapnic respiratory
    failure" is J96.21 and J96.22). Not for sides: "right and left" is a bilateral code."""
    mine = _named_words(note.description(line.code)) - _named_words(note.description(other.code))
    theirs = _named_words(note.description(other.code)) - _named_words(note.description(line.code))
    if not mine or not theirs or (mine | theirs) & SIDES or {w[:5] for w in mine} & {w[:5] for w in theirs}:
        return False  # sides, or one word read two ways ("diverticulitis" / "diverticulosis")
    shared = _shared_mentions(note, line, other)
    return not _unsaid(note, line, other, shared) and not _unsaid(note, other, line, shared)


def _better_reading(note: NoteCoding, other, line) -> bool:
    """Whether ``other`` reads the words better than ``line``: the longer reading that links more words
    ("... with radiculopathy", :func:`_reads_around`); the code whose own wording (title, inclusion term,
    index term) the words they share are, over one whose title says more than those words; a kind the
    words name over the unspecified code (:func:`_names_its_kind`); else the less vague (at least half as
    sure), else the surer ("atypical chest pain" is
    R07.89 by the index, though "other chest pain" is vaguer than R07.81 "pleurodynia", a sibling
    the ranker put forward on the same words)."""
    if _reads_around(note, line, other):
        return False  # "L5-S1 disc herniation with left S1 radiculopathy": M51.17, not the M51.27 of its first words
    if _reads_around(note, other, line):
        return True  # however unsure the ranker of the longer reading: the words say it
    shared = _shared_mentions(note, line, other)
    if _own_reading(note, line, other, shared):
        return False  # some words are the line's own wording; the other's title says what they do not
    if _own_reading(note, other, line, shared) and _unsaid(note, line, other, note.mentions(line)):
        return other.confidence >= FLOOR  # the line's title says what none of its words say
    if _uncomplicated_of(note, line, other) and _unsaid(note, other, line, note.mentions(other)):
        return False  # "intoxication": F10.920 "... uncomplicated", not F10.921 "... with delirium" (I.B.18)
    if _uncomplicated_of(note, other, line) and _unsaid(note, line, other, note.mentions(line)):
        return other.confidence >= FLOOR
    vague, other_vague = _vagueness(note, line), _vagueness(note, other)
    if other_vague == 1 and _names_its_kind(note, line, other):
        return False  # words that name the line's kind exactly ("ATFL sprain": other ligament); I.B.18
    if vague == 1 and _names_its_kind(note, other, line):
        return other.confidence >= FLOOR
    if other_vague == vague:
        line_side_unsaid = _side_unsaid(note, line, other)
        if line_side_unsaid != _side_unsaid(note, other, line) and _names_a_side(note, line) and _names_a_side(note, other):
            return line_side_unsaid  # the side the note says: "bilateral" H90.3, not "unilateral, right ear" H90.41
        if other.confidence == line.confidence:  # a tie: the code some mention names exactly, past ones too
            return _match(other, note.mentions(other)) >= _match(line, note.mentions(line))
        return other.confidence >= line.confidence
    return other_vague < vague and other.confidence >= max(FLOOR, 0.5 * line.confidence)


EXACT = 1.0  # a mention's candidate that is a wording of the code itself


def _shared_mentions(note: NoteCoding, line, other) -> list[Mention]:
    """The mentions both lines stand on (those the note states now, when some are); all of both when
    they share none (crossing readings)."""
    mentions = note.analysis.mentions
    common = {i for i in set(line.mention_indexes) & set(other.mention_indexes) if 0 <= i < len(mentions)}
    if not common:
        return note.mentions(line) + note.mentions(other)
    now = common & set(note.current_indexes(line))
    return [mentions[i] for i in sorted(now or common)]


_LINKED = re.compile(r"\b(?:with|due to|secondary to|caused by|complicated by)\b")  # "X with Y": a combination (I.A.15)
# "sarcoidosis of lung and lymph nodes" is D86.2 "... of lung with sarcoidosis of lymph nodes": a title's "with"
# reads the two said together
_LINKED_OR_AND = re.compile(r"\b(?:with|due to|secondary to|caused by|complicated by|and)\b")


def _names_its_kind(note: NoteCoding, line, other) -> bool:
    """Whether some words of ``line`` are its own wording (or its category's) and not ``other``'s: the
    unspecified ``other`` is for words that name no kind (I.B.18)."""
    return any(_reading(line, [m]) >= EXACT > _reading(other, [m]) for m in note.mentions(line))


def _reads_around(note: NoteCoding, line, other) -> bool:
    """Whether ``line`` stands on longer words that hold a mention of ``other``, link it to more ("with",
    "due to") and say a word of its title that ``other``'s lacks ("radiculopathy"): the combination the
    whole phrase names (I.B.9), not a reading of its first words."""
    linked = _LINKED_OR_AND if " with " in note.description(line.code).lower() else _LINKED
    mine = [m for m in note.mentions(line) if _links(line, m)
            and any(_inside(o, m) and linked.search(note.lower, o.end, m.end) for o in note.mentions(other))]
    if not mine:
        return False
    said = _words_of("\n".join(note.lower[m.start:m.end] for m in mine))
    extra = _named_words(note.description(line.code)) - _named_words(note.description(other.code))
    return bool(extra & said)


def _unsaid(note: NoteCoding, line, other, mentions: list[Mention]) -> bool:
    """Whether the title of ``line`` names a word that ``mentions`` do not say and the title of
    ``other`` lacks (compared by their first five letters: "hypoxic" says "hypoxia"). The mentions'
    own words, not their sentences: a sentence often names two conditions; but a side or a body site may
    be said in the mentions' clauses ("acute osteomyelitis of the right foot")."""
    words = _words_of("\n".join(note.lower[m.start:m.end] for m in mentions))
    title = note.description(line.code)
    extra = _named_words(title) - _named_words(note.description(other.code)) - _KIND_NOUNS
    stems = {w[:5] for w in words}
    unsaid = {w for w in extra if w[:5] not in stems}
    if not unsaid or not unsaid <= _CLAUSE_SITES:
        return bool(unsaid)
    words = words | (_words_of(note.clauses_of(mentions)) & _CLAUSE_SITES)
    if "bilateral" in words:
        words = words | {"right", "left"}  # each side of a bilateral condition with no bilateral code (I.B.13)
    return bool(unsaid - words - _either_said(title.lower(), frozenset(words)))


def _side_unsaid(note: NoteCoding, line, other) -> bool:
    """Whether the title of ``line`` names a side (or "unilateral") that the title of ``other`` lacks and
    the clauses of the line's mentions do not say."""
    sides = (_named_words(note.description(line.code)) - _named_words(note.description(other.code))) & _SIDE_WORDS
    if not sides:
        return False
    said = _words_of(note.clauses_of(note.mentions(line)))
    if "ear" in _named_words(note.description(line.code)):
        said = said | ear_sides(note, note.mentions(line))
    if said & {"right", "left"}:
        said = said | {"unilateral"}
    if "bilateral" in said:
        said = said | {"right", "left"}  # each side of a bilateral condition with no bilateral code (I.B.13)
    return bool(sides - said)


def _names_a_side(note: NoteCoding, line) -> bool:
    return bool(_named_words(note.description(line.code)) & _SIDE_WORDS)


def _uncomplicated_of(note: NoteCoding, line, other) -> bool:
    """Whether the line's title differs from the other's only by saying there is no complication
    ("uncomplicated"): what a note says by naming none."""
    extra = _named_words(note.description(line.code)) - _named_words(note.description(other.code))
    return bool(extra) and extra <= _SAID_BY_SILENCE


def _own_reading(note: NoteCoding, line, other, mentions: list[Mention]) -> bool:
    """Whether one of ``mentions`` is the line's own wording and not the other's, and the other's
    title says what that mention does not ("panic attacks": F41.0, not F41.1 "generalized ...")."""
    return any(_match(line, [m]) >= EXACT > _match(other, [m]) and _unsaid(note, other, line, [m]) for m in mentions)


def _reading(line, mentions: list[Mention]) -> float:
    """How well ``mentions`` name the line's code or a code above it (the mention's candidate L20
    reads L20.9), or the code a rule made it from (M86.10 "acute osteomyelitis" reads the M86.171 the
    site rule made of it)."""
    return max((c.similarity for m in mentions for c in m.candidates
                if c.system == line.system and (line.code.startswith(c.code) or c.code in line.read_as)), default=0.0)


def _match(line, mentions: list[Mention]) -> float:
    """How well ``mentions`` name the line's code: the best candidate similarity of the code."""
    return max((c.similarity for m in mentions for c in m.candidates
                if c.system == line.system and c.code == line.code), default=0.0)


def _links(line, mention: Mention) -> bool:
    """Whether ``mention`` linked the line's code, or the code a rule replaced by it (M50.10, which the
    site rule made M50.122)."""
    return any(c.system == line.system and (c.code == line.code or c.code in line.read_as) for c in mention.candidates)


def _overlapping(note: NoteCoding, line, other) -> bool:
    """Whether every mention of ``line`` crosses a mention of ``other`` (or holds one): two readings of
    one phrase ("subcapital fracture of the right femoral neck" read as "subcapital fracture of the
    right femoral" and as "fracture of the right femoral neck")."""
    theirs = note.mentions(other)
    return bool(theirs) and all(any(_crossing(m, o) or _inside(o, m) for o in theirs) for m in note.mentions(line))


def _inside(a, b) -> bool:
    return b.start <= a.start and a.end <= b.end and (a.start, a.end) != (b.start, b.end)


def _crossing(a, b) -> bool:
    """Two spans that share words, neither inside the other (a span inside another is a condition
    of its own, "chronic interstitial cystitis" in "acute cystitis superimposed on chronic ...")."""
    return a.start < b.start < a.end < b.end or b.start < a.start < b.end < a.end


def _vagueness(note: NoteCoding, line) -> int:
    """0 for a code that names the condition, 1 for "unspecified" (the NOS code), 2 for "other"
    (which needs a specific other type the words do not give)."""
    description = note.description(line.code).lower()
    return 2 if title_says(description, "other") else 1 if title_says(description, "unspecified") else 0


# -- the site the note names (I.B.2) ----------------------------------------------------------------

_WORD = re.compile(r"[a-z]+")
_ALNUM = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
# how notes name a site, in the words of the code titles
SITE_WORDS: dict[str, tuple[str, ...]] = {
    "leg": ("lower", "limb", "leg"), "legs": ("lower", "limb", "leg"), "calf": ("lower", "limb", "leg"),
    "shin": ("lower", "limb", "leg"), "thigh": ("lower", "limb", "thigh"), "arm": ("upper", "limb", "arm"),
    "arms": ("upper", "limb", "arm"), "forearm": ("upper", "limb", "forearm"), "r": ("right",), "rt": ("right",),
    "l": ("left",), "lt": ("left",), "bilat": ("bilateral",), "both": ("bilateral",), "lle": ("left", "lower", "limb"),
    "rle": ("right", "lower", "limb"), "lue": ("left", "upper", "limb"), "rue": ("right", "upper", "limb"),
    "od": ("right", "eye"), "os": ("left", "eye"), "ou": ("bilateral", "eye"),
    # the lobes of the lungs ("SCLC of the RUL": C34.11)
    "rul": ("right", "upper", "lobe"), "rml": ("right", "middle", "lobe"), "rll": ("right", "lower", "lobe"),
    "lul": ("left", "upper", "lobe"), "lll": ("left", "lower", "lobe"),
    "mca": ("middle", "cerebral", "artery"), "aca": ("anterior", "cerebral", "artery"),
    "pca": ("posterior", "cerebral", "artery"),
    # the musculoskeletal chapter's sites: "ankle and foot" holds the toes, "hand" the fingers
    "toe": ("ankle", "foot", "toe"), "toes": ("ankle", "foot", "toe"), "mtp": ("ankle", "foot"),
    "finger": ("hand", "finger"), "fingers": ("hand", "finger"), "feet": ("foot",),
    # lymph nodes by region, in the words of the lymphoma titles (C81-C85)
    "mediastinal": ("intrathoracic",), "hilar": ("intrathoracic",), "cervical": ("neck",), "axillary": ("axilla",),
    "retroperitoneal": ("intra-abdominal",), "mesenteric": ("intra-abdominal",),
    # the regions of the abdomen
    "quadrant": ("quadrant", "abdominal"), "epigastric": ("epigastric", "abdominal"),
    "periumbilic": ("periumbilic", "abdominal"), "periumbilical": ("periumbilical", "abdominal"),
    "suprapubic": ("suprapubic", "abdominal"),
    # the sacral region holds the coccyx (L89.15- "pressure ulcer of coccyx", "of tailbone")
    "sacrum": ("sacral",), "coccyx": ("sacral",), "coccygeal": ("sacral",), "tailbone": ("sacral",),
    # a kind by its noun: "urticaria ..., drug allergy" is L50.0 allergic urticaria
    "allergy": ("allergic",), "allergies": ("allergic",),
}
SIDES = frozenset({"right", "left", "bilateral"})
_SIDE_WORDS = SIDES | {"unilateral"}  # the words a title names a side with
# what a clause may say of a mention's site beside its words: "lung cancer of the right upper lobe" (C34.11)
_CLAUSE_SITES = SIDES | BODY_SITES | {"upper", "lower", "middle", "lobe"}
_TITLE_NOISE = frozenset({"of", "the", "and", "or", "with", "without", "due", "initial", "encounter", "subsequent", "sequela",
                          "for", "in", "to", "unspecified", "site", "other", "part", "region", "at", "level"})
# title words a note says by not naming a complication: "intoxication, uncomplicated" is what "intoxication" is
_SAID_BY_SILENCE = frozenset({"uncomplicated"})
# the kind the index gives a condition the note names by its site only: "gout, toe" is M10.07-
# idiopathic gout; "osteoarthritis, knee" M17.1- primary
INDEX_DEFAULT_KIND = {"M10": "idiopathic", "M16": "primary", "M17": "primary", "M18": "primary", "M19": "primary"}


# a spinal level, "C5-C6" / "L4-5" / "L5-S1": one word ("c5c6", "l4l5", "l5s1") in titles and notes alike
_SPINAL_LEVEL = re.compile(r"\b([ctls])(\d{1,2}) ?[-/] ?([ctls]?)(\d{1,2})\b")


def _spinal_levels(lower: str) -> set[str]:
    return {f"{a}{n}{b or a}{m}" for a, n, b, m in _SPINAL_LEVEL.findall(lower)}


@lru_cache(maxsize=8192)
def _words_of(text: str) -> frozenset[str]:
    words = _spinal_levels(text.lower())
    for token in _ALNUM.findall(text.lower()):
        w = token if token.isalpha() else _DIGITS.sub("", token)
        if not w:
            continue
        words.add(w)
        if w == token:  # "l" of "L knee" is left; of "PD-L1" or "L5" it is not
            words.update(SITE_WORDS.get(w, ()))
        if w[-1:] == "s" and w[:-1] in BODY_SITES:
            words.add(w[:-1])  # "both hands" says the hand of each side
    return frozenset(words)


_OTHER_WORD = re.compile(r"\bother\b")
_SITE_PAIR = re.compile(r"\b([a-z]+) and ([a-z]+)\b")
# sites a title names in pairs, "ankle and foot", "heel and midfoot" (I70.234): one of them said is the pair
PAIRED_SITES = BODY_SITES | {"heel", "midfoot"}


def _either_said(title: str, said: frozenset[str]) -> set[str]:
    """The words of a title's "X and Y" site (M86.171 "right ankle and foot") when the note says one of them:
    a foot is in the ankle-and-foot code."""
    return {w for pair in _site_pairs(title) if said & pair for w in pair}


@lru_cache(maxsize=65536)
def _site_pairs(title: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(pair) for pair in _SITE_PAIR.findall(title) if set(pair) <= PAIRED_SITES)


def _forms(words: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """Words of six letters or more by their first six: the lengths of each stem's words."""
    forms: dict[str, tuple[int, ...]] = {}
    for w in words:
        if len(w) >= 6:
            forms[w[:6]] = forms.get(w[:6], ()) + (len(w),)
    return forms


def _restates(word: str, own: dict[str, tuple[int, ...]]) -> bool:
    """Whether ``word`` is another form of one of the words ``own`` holds (:func:`_forms`: "arthropathy",
    "arthropathic"): the same six first letters and about the same length, not a compound of more
    ("cervicothoracic" is no "cervical")."""
    return any(abs(len(word) - n) <= 3 for n in own.get(word[:6], ()))


def _numbered_tail(title: str) -> str:
    """A title's part after its last comma when it holds a number ("stage 3"), else ""."""
    tail = title.rpartition(",")[2].strip() if "," in title else ""
    return tail if any(c.isdigit() for c in tail) else ""


_UNSPECIFIED_PART = re.compile(r"\bdue to unspecified ((?:\w+ )*?\w+) of\b")


@lru_cache(maxsize=65536)
def _named_words(title: str) -> frozenset[str]:
    """The words a title needs the note to say: its content words, less those of an unspecified
    part ("due to unspecified occlusion or stenosis of right middle cerebral artery" needs the
    artery and the side, not the occlusion)."""
    lower = title.lower()
    vague = {w for part in _UNSPECIFIED_PART.findall(lower) for w in _WORD.findall(part)}
    return frozenset(_WORD.findall(lower)) - _TITLE_NOISE - vague | _spinal_levels(lower)


@lru_cache(maxsize=4096)
def _category_titles(catalog: Any, category: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The billable codes of a category with the words of their titles (cached per catalogue)."""
    out = []
    for code in catalog.with_prefix(CodeSystem.ICD10CM, category):
        record = catalog.get(CM, code)
        if record is not None and record.billable:
            out.append((record.code, _named_words(record.description)))
    return tuple(out)


def _loses_a_kind(own: frozenset[str], title: str, said: frozenset[str]) -> bool:
    """Whether ``title`` drops a word of ``own`` (the unspecified code's title words) that the note
    says and the title does not say another way (a site by its part: "limb" by "leg"; a kind by its
    stem, even inside a word: "arthropathic" by "arthropathy", "neuropathy" by "polyneuropathy"):
    "psoriatic arthritis" keeps L40.50's "arthropathic"."""
    words = _words_of(title)
    spoken = {w[:5] for w in said}
    return any(w[:5] in spoken and not any(w[:5] in other for other in words) for w in own - words)


def site_from_words(note: NoteCoding) -> None:
    """A code for an unspecified site becomes the code of the site (and side) the evidence sentence
    names, when one code of the category has every word of its title that the unspecified code lacks
    in that sentence ("cellulitis of the left lower leg": L03.116, not L03.90). Injury codes keep
    their 7th character. Several sites that fit equally leave the code as it is."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or "unspecified" not in note.description(line.code).lower():
            continue
        current = _current_mentions(note, line)
        # the words that link the code itself, not those another reading brought to it (alternatives)
        linking = [m for m in current if any(c.code == line.code for c in m.candidates)] or current
        if len({m.sentence_start for m in linking}) == 1:  # two clauses of one sentence name a site each
            best = max(_match(line, [m]) for m in linking)  # ("sacrum - stage 3 ...; L heel - deep tissue ..."):
            linking = [m for m in linking if _match(line, [m]) == best]  # the clause that reads the code best
        sentences = note.clauses_of(linking)
        said = _words_of(sentences) | {INDEX_DEFAULT_KIND.get(line.code[:3], "")}
        denied = said_without(sentences)
        own_title = note.description(line.code)
        own = frozenset(_WORD.findall(own_title.lower())) - _TITLE_NOISE
        seventh = line.code[7:] if len(line.code) == 8 else ""
        sides = own & SIDES  # a side the code already has is kept: changing it is the laterality rule's call
        fits = []
        own_forms = _forms(title_words(note.description(line.code))[0])  # what it affirms
        staged = _numbered_tail(note.description(line.code).lower())
        for code, words in _category_titles(note.catalog, line.code[:3]):
            extra = words - own
            unsaid = {w for w in extra - said if not _restates(w, own_forms)}  # "arthropathy" restates "arthropathic"
            if unsaid and unsaid <= PAIRED_SITES:  # a foot is in the ankle-and-foot code
                unsaid -= _either_said(note.description(code).lower(), said)
            if (code == line.code or not extra or unsaid or (seventh and not code.endswith(seventh))
                    or not sides <= words):
                continue
            title = note.description(code).lower()
            if staged and _numbered_tail(title) != staged:
                continue  # L89.93 "..., stage 3" takes the site's stage 3 code, not its stage 4 one
            if (title_says(_UNSPECIFIED_PART.sub("due to of", title), "unspecified")
                    or len(_OTHER_WORD.findall(title)) > len(_OTHER_WORD.findall(own_title.lower()))):
                continue  # no more "other" than its own: M86.10 "other acute osteomyelitis" -> M86.171, not E13.8 -> E13.69
            if title_words(title)[1] & (said - denied):
                continue  # "sickle-cell disease without crisis" for a note that says "pain crisis"
            if _loses_a_kind(own, title, said):
                continue  # a site, not another kind: L40.50 "arthropathic psoriasis" is no L40.0 "psoriasis vulgaris"
            fits.append((len(extra), code))
        if not fits:
            continue
        fits.sort(reverse=True)
        if len(fits) > 1 and fits[0][0] == fits[1][0]:
            continue  # two sites fit as well: the coder decides
        note.replace(line, fits[0][1], f"the note names the site: {note.description(fits[0][1]).lower()} (I.B.2)")


# "metastatic breast cancer": a primary of the breast that has spread (the Index's "Metastasis, from specified
# site", the primary by site), not a secondary neoplasm of the breast
METASTATIC_FROM = re.compile(r"\bmetastatic ((?:\w+ ){1,3}?)(?:cancer|carcinoma|adenocarcinoma|malignancy|tumou?r|melanoma|sarcoma)\b")
SECONDARY = ("C77", "C78", "C79")
_NEOPLASM_WORDS = frozenset({"secondary", "malignant", "neoplasm", "other", "unspecified", "site", "sites", "and", "of"})


def _site_stems(note: NoteCoding, code: str) -> set[str]:
    """The site of a neoplasm code by its title's words (first five letters), less the neoplasm words."""
    return {w[:5] for w in title_words(note.description(code))[0] - _NEOPLASM_WORDS}


def metastatic_primary(note: NoteCoding) -> None:
    """A secondary neoplasm code (C77-C79) whose site is the one "metastatic <site> cancer" names gives
    way to the primary of that site coded on the same words (I.C.2: the site named is where the cancer
    comes from): C79.81 leaves for C50.919 on "metastatic breast cancer to bone"; C79.51 (bone) stays."""
    primaries = [line for line in note.lines if line.system == CM and line.code[:1] == "C" and "C00" <= line.code[:3] <= "C76"]
    for line in note.starting(SECONDARY, current=False):
        site = _site_stems(note, line.code)
        named = [found.group(1) for m in note.mentions(line) if (found := METASTATIC_FROM.search(note.lower[m.start:m.end]))]
        if not site or not any(site & {w[:5] for w in words.split()} for words in named):
            continue
        shared = [p for p in primaries if set(p.mention_indexes) & set(line.mention_indexes)]
        if shared:
            primary = max(shared, key=lambda p: p.confidence)
            note.absorb(line, primary, f"'metastatic ... cancer' names the primary site ({primary.code}), not a secondary one (I.C.2)")


# "carcinoma to the brain", "brain ... metastatic": words that place the cancer at a site it spread to (the
# "metastatic <site> cancer" of a primary has lost its secondary code to metastatic_primary by then)
SPREAD_TO = re.compile(r"\b(?:to the|to|into the)\s+(?:\w+\s+)?(?:brain|bones?|liver|lungs?|adrenals?|nodes?|spine|peritoneum)\b|metasta")


def spread_site_no_primary(note: NoteCoding) -> None:
    """A primary neoplasm code read from words that place the cancer where it spread ("metastatic
    lung carcinoma to the brain": C71.9 from "carcinoma to the brain") leaves beside the secondary
    code of those words (I.C.2: a secondary site is coded C77-C79, not as a primary of that site)."""
    secondaries = note.starting(SECONDARY, current=False)
    for line in [line for line in note.lines if line.system == CM and "C00" <= line.code[:3] <= "C76"] if secondaries else ():
        mentions = note.mentions(line)
        if line not in note.lines or not mentions or not all(SPREAD_TO.search(note.lower[m.start:m.end]) for m in mentions):
            continue
        there = [s for s in secondaries if _site_stems(note, line.code) & _site_stems(note, s.code)]
        if there:
            note.absorb(line, there[0], f"the words say the cancer spread there: {there[0].code} (I.C.2)")


NEOPLASTIC_CAUSE = re.compile(r"\b(?:metasta\w*|tumou?r|malignan\w*|neoplas\w*|myeloma|lytic lesion|cancer|carcinoma|lymphoma)")


def neoplastic_fracture(note: NoteCoding) -> None:
    """A pathological fracture through a neoplasm is M84.5- "pathological fracture in neoplastic
    disease" by site, with the neoplasm coded also (I.C.13.c; M84.5's "code also underlying
    neoplasm"), not M84.4- (pathological fracture, other)."""
    neoplasms = note.starting(("C", "D0", "D3", "D4"))
    for line in note.starting(("M84.4",)) if neoplasms else ():
        code = "M84.5" + line.code[5:]
        if note.billable(code) and note.says(NEOPLASTIC_CAUSE, line):
            note.replace(line, code, f"a pathological fracture through a neoplasm ({neoplasms[0].code}) (I.C.13.c)")


# I.C.13.d.1: a fracture of a patient with osteoporosis, without major trauma, is M80.- by site
OSTEOPOROTIC_FRACTURE = re.compile(r"\b(?:compression|fragility|osteoporotic|pathologic(?:al)?|insufficiency|low[- ]energy)?"
                                   r"\s*fractures?\b")
MAJOR_TRAUMA = re.compile(r"\b(?:mva|mvc|motor vehicle|car accident|high[- ]energy|fall from (?:a )?(?:height|ladder|roof))\b")
# (site words, M80.0- code without side and 7th character, whether the site has a side)
_OSTEOPOROTIC_SITES = (
    (re.compile(r"\b(?:vertebra\w*|spine|spinal|compression|[tl]\d{1,2})\b"), "M80.08X", False),
    (re.compile(r"\b(?:hip|femoral neck|femur|intertrochanteric)\b"), "M80.05", True),
    (re.compile(r"\b(?:wrist|radius|radial|distal forearm|colles)\b"), "M80.03", True),
    (re.compile(r"\b(?:humerus|humeral|shoulder)\b"), "M80.02", True),
)


def osteoporotic_fracture(note: NoteCoding) -> None:
    """A fracture in a patient with osteoporosis and no major trauma is a pathological fracture of
    osteoporosis, M80.0- by site and side with the encounter's 7th character ("a code from category M80,
    not a traumatic fracture code, should be used for any patient with known osteoporosis who suffers a
    fracture, even if the patient had a minor fall or trauma", I.C.13.d.1); M81.0 and a traumatic or
    unspecified-site injury code on the fracture's words leave. A healed one is Z87.310 (I.C.13.d.2)."""
    osteoporosis = note.documented(("M81.0",))
    if not osteoporosis or MAJOR_TRAUMA.search(note.lower):
        return
    for line in note.starting(("Z87.81",), current=False):  # a healed fracture of osteoporosis (I.C.13.d.2)
        note.replace(line, "Z87.310", "a healed fracture of a patient with osteoporosis, no major trauma (I.C.13.d.2)")
    for match in OSTEOPOROTIC_FRACTURE.finditer(note.lower):
        if not note.stated_now_at(match.start()):
            continue  # "a healed fracture from 2023": its history code, above
        start, end = sentence_of(note, match.start(), match.end())
        sentence = note.lower[start:end]
        if DENIED_BEFORE.search(note.lower, start, match.start()):
            continue
        site = next(((code, sided) for pattern, code, sided in _OSTEOPOROTIC_SITES if pattern.search(sentence)), None)
        if site is None:
            continue
        code, sided = site
        if sided:
            code += side_digit(side_of(sentence), "9", bilateral=False)
        code += SEVENTH[encounter(note)][0]  # as a closed fracture's: A, D, G, K, P, S
        if not note.billable(code):
            continue
        target = note.replace(osteoporosis[0], code, "a fracture of a patient with osteoporosis, no major trauma (I.C.13.d.1)")
        in_sentence = set(mentions_within(note, start, end))
        for line in note.starting(("S", "T14"), current=False):
            if in_sentence & set(line.mention_indexes):
                note.absorb(line, target, f"{target.code}: not a traumatic fracture code (I.C.13.d.1)")
        for line in note.starting(("M81",), current=False):  # M81 Excludes1: "with current pathological fracture"
            note.absorb(line, target, f"{target.code} is the osteoporosis with its fracture: no M81 beside it (I.A.12.a)")
        return


def traumatic_rotator_cuff_tear(note: NoteCoding) -> None:
    """A rotator cuff tear the note calls traumatic is the injury S46.01- by side with the encounter's 7th
    character: M75.1- excludes "tear of rotator cuff, traumatic (S46.01-)" (I.A.12.a, I.C.19.a)."""
    for line in note.starting(("M75.1",)):
        if not SAID_TRAUMATIC.search(note.sentences(line)):
            continue
        code = "S46.01" + side_digit(note_side(note, line), "9", bilateral=False) + SEVENTH[encounter(note)][0]
        if note.billable(code):
            note.replace(line, code, "a traumatic rotator cuff tear is the injury's code: M75.1 excludes it (I.A.12.a)")


# (a child's code, the adult's code of the same condition): "failure to thrive" in a 71-year-old is R62.7
BY_AGE = (("R62.51", "R62.7"), ("Q40.0", "K31.1"))  # pyloric stenosis: infantile (congenital) or adult
ADULT = 18


def by_patient_age(note: NoteCoding) -> None:
    """A condition with one code for children and one for adults takes the one of the patient's age
    (the tabular list's "(child)" / "adult" titles; I.B.1: the code the Index and Tabular give)."""
    age = patient_age(note)
    for child, adult in BY_AGE if age is not None else ():
        wrong, right = (child, adult) if age >= ADULT else (adult, child)
        for line in note.starting((wrong,), current=False):
            note.replace(line, right, f"the patient is {age}: {note.description(right).lower()} (I.B.1)")
