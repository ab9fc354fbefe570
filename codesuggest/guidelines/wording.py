"""A code whose title says what the note's words deny (I.B.1: the code chosen in the Index is
verified in the Tabular List against what the provider documented).

The ranker matches words, not their qualifiers: "hypoglycemia ... without coma" scores E11.641
("with coma") as high as E11.649; "chronic maxillary sinusitis" brings J01.90 ("acute sinusitis").
This module reads a title's qualifiers (its "with" / "without" phrases, acute or chronic,
noninfective, recurrent, the side) and the words of the code's evidence, and says where they
disagree. :func:`contradicted_titles` then moves the code to the sibling of its category whose title
agrees, or takes it out when the category has none.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..codesets.records import CodeSystem
from ..pipeline.schema import Mention
from .engine import CM, DIAGNOSIS_SECTIONS, CodeLine, NoteCoding
from .history import clause_before, note_side

_WORD = re.compile(r"[a-z0-9]+")
_NOISE = frozenset({"of", "the", "and", "or", "in", "to", "for", "due", "a", "an", "by", "on", "as", "unspecified",
                    "with", "without", "not", "uncomplicated", "type", "site", "initial", "encounter", "subsequent", "sequela"})
_NOT_SPECIFIED = re.compile(r"\bnot specified as \w+|\bnot elsewhere classified\b")
# a qualifier phrase of a title: "with <words>" / "without <words>" up to the next one, or a comma
_TITLE_PHRASE = re.compile(r"\b(with|without|not)\s+(.+?)(?=\s*(?:,|\bwith\b|\bwithout\b|$))")
# what the note denies / affirms of the condition it names: "without coma", "no obstruction", "with obstruction"
# where a said phrase ends: punctuation, " - ", the next item of a numbered list, or a word that starts the next phrase
_PHRASE_END = (r"(?=\s*(?:[,;.:()]|\s-\s|$)|\s+\d{1,2}[.)](?:\s|$)|\s+(?:with|without|but|on|in|due|secondary|superimposed|after|from|for|"
               r"and|at|of|since|per|likely|status)\b)")
_SAID_WITHOUT = re.compile(r"\b(?:without|w/o|no|not)\s+([a-z/-]+(?:\s+(?:or\s+)?[a-z/-]+){0,3}?)" + _PHRASE_END, re.M)
_SAID_WITH = re.compile(r"\b(?:with|w/)\s+([a-z/-]+(?:\s+[a-z/-]+){0,3}?)" + _PHRASE_END, re.M)
_CLAUSE_END = re.compile(r"[;\n]|\s\d{1,2}[.)](?:\s|$)")
_INFECTIVE = re.compile(r"\b(?:infect\w*|viral|virus|bacteri\w*|clostridi\w*|c\.? ?diff\w*|e\.? ?coli|salmonell\w*|"
                        r"shigell\w*|norovirus|rotavirus|campylobacter\w*|giardi\w*)\b")
_DISPLACED = re.compile(r"(?<!non-)(?<!non )\bdisplaced\b")
_NONDISPLACED = re.compile(r"\bnon-?\s?displaced\b|\bundisplaced\b")
# a denial just before a word, within its clause: "no agitation", "not intending self-harm", "negative for"
DENIED_BEFORE = re.compile(r"\b(?:no|not|denies|denied|without|never|negative for)\b[^.;,]{0,25}$")


def affirmed(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` occurs in ``text`` once with no denial right before it in its clause."""
    return any(not DENIED_BEFORE.search(text, 0, m.start()) for m in pattern.finditer(text))


UNCOMPLICATED = re.compile(r"\buncomplicated\b|\b(?:without|no) (?:known )?complications?\b")
_RECURRENT = re.compile(r"\brecurr\w*|\brelaps\w*|\bsecond episode\b")
SIDES = ("right", "left", "bilateral")
_SIDE_SET = frozenset(SIDES)
# the joints and limb parts titles name; a part a note names counts as the part a title names
SITES = frozenset({"shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot", "thigh", "forearm", "vertebrae"})
PART_OF = {"toe": "foot", "heel": "foot", "finger": "hand", "thumb": "hand", "knuckle": "hand", "vertebra": "vertebrae",
           "spine": "vertebrae", "spinal": "vertebrae"}


@dataclass(frozen=True, slots=True)
class Conflict:
    """Where a title and the note disagree: the title's words to drop and the note's to take."""

    drop: frozenset[str]
    take: frozenset[str]
    why: str  # in a coder's words: "the note says 'without coma'"


def side_and_site(text: str) -> frozenset[str]:
    """The side and body-site words of a text, parts read as their site ("heel" -> foot): what a status
    or complication title says of where it is ("right knee")."""
    return frozenset(PART_OF.get(w, w) for w in _WORD.findall(text.lower())) & (SITES | _SIDE_SET)


def _stem(word: str) -> str:
    """A plural's singular, roughly ("exacerbations" -> "exacerbation"), so a title and a note
    that differ in number still meet; "status", "abscess", "stasis" stay."""
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


# notes' words for what titles say otherwise: "no perforation" denies "with spontaneous rupture of ear drum"
SAME_AS = {"perforation": "rupture", "perforated": "rupture", "ruptured": "rupture",
           # "diverticulosis with hemorrhage" says K57.31's "with bleeding"
           "hemorrhage": "bleeding", "haemorrhage": "bleeding", "bleed": "bleeding", "hemorrhaging": "bleeding"}


def _words(text: str) -> list[str]:
    return [SAME_AS.get(w, w) for w in map(_stem, _WORD.findall(text))]


@lru_cache(maxsize=65536)
def title_words(title: str) -> tuple[frozenset[str], frozenset[str]]:
    """(what a title affirms, what its "without" phrases deny), as content words."""
    lower = _NOT_SPECIFIED.sub(" ", title.lower())
    denied: set[str] = set()
    for kind, phrase in _TITLE_PHRASE.findall(lower):
        if kind != "with":
            denied.update(_words(phrase))
    affirmed = set(_words(lower)) - denied
    return frozenset(affirmed - _NOISE), frozenset(denied - _NOISE)


@lru_cache(maxsize=65536)
def _with_phrases(title: str) -> tuple[frozenset[str], ...]:
    """The content words of each "with" phrase of a title ("with (acute) exacerbation")."""
    lower = _NOT_SPECIFIED.sub(" ", title.lower())
    return tuple(frozenset(_words(p)) - _NOISE for kind, p in _TITLE_PHRASE.findall(lower) if kind == "with")


@lru_cache(maxsize=65536)
def _not_phrases(title: str) -> frozenset[str]:
    """The content words of a title's "not" phrases ("Migraine ..., not intractable")."""
    lower = _NOT_SPECIFIED.sub(" ", title.lower())
    return frozenset(w for kind, p in _TITLE_PHRASE.findall(lower) if kind == "not" for w in _words(p)) - _NOISE


def _said(pattern: re.Pattern[str], text: str) -> frozenset[str]:
    return frozenset(w for phrase in pattern.findall(text) for w in _words(phrase)) - _NOISE


def said_without(text: str) -> frozenset[str]:
    """The content words ``text`` says "without" / "no" / "not" of ("without necrosis or infection")."""
    return _said(_SAID_WITHOUT, text)


_ACUTE_ON_CHRONIC = re.compile(r"\bacute (?:and|on) chronic\b")  # J96.22, I50.23: one condition, both courses
_STAGES = ("early", "intermediate", "advanced")  # a disease's stage (H35.31- macular degeneration)


def conflict(title: str, text: str, named: str = "", side: str = "") -> Conflict | None:
    """How the title of a code disagrees with the note: ``text``, the lower-cased words of its
    evidence to the end of their clause; ``named``, the evidence mentions' own words; ``side``, the
    side the note gives ("" if none). None if they agree."""
    affirmed, denied = title_words(title)
    said_without = _said(_SAID_WITHOUT, text)
    clash = affirmed & said_without
    if clash:  # the whole "with" phrase goes: "with (acute) exacerbation" for "without exacerbation"
        drop = set(clash).union(*(p for p in _with_phrases(title) if p & clash))
        return Conflict(frozenset(drop), frozenset(), f"the note says there is no {' '.join(sorted(clash))}")
    said_with = _said(_SAID_WITH, text) - said_without
    clash = denied & said_with
    if clash:
        return Conflict(frozenset(), frozenset(clash), f"the note says 'with {' '.join(sorted(clash))}'")
    clash = denied & frozenset(_words(named)) - said_without
    if clash:  # "without crisis" for the words "sickle cell pain crisis"
        return Conflict(frozenset(), frozenset(clash), f"the note says '{' '.join(sorted(clash))}'")
    clash = {w for w in _not_phrases(title) if w not in said_without and re.search(rf"\b{w}s?\b", text)}
    if clash:  # "not intractable" in the title, "intractable" in the note
        return Conflict(frozenset(), frozenset(clash), f"the note says '{' '.join(sorted(clash))}'")
    with_phrases = _with_phrases(title)
    if with_phrases and UNCOMPLICATED.search(text) and not UNCOMPLICATED.search(title.lower()):
        # "asthma, uncomplicated" is not "with exacerbation"; "with withdrawal, uncomplicated" says it itself
        return Conflict(frozenset().union(*with_phrases), frozenset(), "the note says it is uncomplicated")
    if "single" in affirmed and "episode" in affirmed and _RECURRENT.search(text):  # F32 for "MDD, recurrent"
        return Conflict(frozenset({"single", "episode"}), frozenset({"recurrent"}), "the note says it recurs")
    if "not specified as recurrent" in title.lower() and _RECURRENT.search(text):
        return Conflict(frozenset(), frozenset({"recurrent"}), "the note says it recurs")
    stages = [(said, other, named) for said in _STAGES for other in _STAGES if said != other]  # "intermediate dry stage"
    for said, other, where in [("chronic", "acute", named), ("acute", "chronic", named), ("complete", "partial", text),
                               ("partial", "complete", text)] + stages:
        if other in affirmed and said not in affirmed and re.search(rf"\b{said}\b", where) and not re.search(rf"\b{other}\b", where):
            return Conflict(frozenset({other}), frozenset({said}), f"the note says '{said}'")
    if (_ACUTE_ON_CHRONIC.search(title.lower()) and re.search(r"\bacute\b", named)
            and not re.search(r"\bchronic\b", text)):
        # J96.22 "acute and chronic ... failure" for "acute hypercapnic respiratory failure due to COPD": the
        # chronic is COPD's, not the failure's
        return Conflict(frozenset({"chronic"}), frozenset({"acute"}), "the note says 'acute', not 'chronic'")
    if "nondisplaced" in affirmed and _DISPLACED.search(text) and not _NONDISPLACED.search(text):
        return Conflict(frozenset({"nondisplaced"}), frozenset({"displaced"}), "the note says 'displaced'")
    if "displaced" in affirmed and _NONDISPLACED.search(text):
        return Conflict(frozenset({"displaced"}), frozenset({"nondisplaced"}), "the note says 'nondisplaced'")
    if "noninfective" in affirmed and _INFECTIVE.search(named):
        return Conflict(frozenset({"noninfective"}), frozenset(), "the note names an infective cause")
    if "migrainosus" in affirmed and "migrainosus" not in text:  # the Index's default: without status migrainosus
        return Conflict(frozenset({"status", "migrainosus"}), frozenset(), "the note does not say status migrainosus")
    if "recurrent" in affirmed and "(recurrent)" not in title.lower() and not _RECURRENT.search(text):
        return Conflict(frozenset({"recurrent"}), frozenset(), "the note does not say it recurs")
    title_sites = affirmed & SITES
    said_sites = {PART_OF.get(w, w) for w in _words(text)} & SITES
    if title_sites and said_sites and not title_sites & said_sites:  # M19.072 "ankle and foot" for "left knee"
        return Conflict(frozenset(title_sites), frozenset(said_sites), f"the note names the {' and '.join(sorted(said_sites))}")
    title_sides = affirmed & set(SIDES)
    if side and title_sides and side not in title_sides and not (side == "bilateral" and title_sides <= {"right", "left"}):
        return Conflict(frozenset(title_sides), frozenset({side}), f"the note gives the side: {side}")
    return None


def evidence_words(note: NoteCoding, mention: Mention) -> tuple[str, str]:
    """(a mention in its clause, the mention's own words), lower-cased. A clause ends at ";", a line
    break or the next numbered item, so that "..., without coma" and "..., with obstruction" after
    a mention count and the next diagnosis of a list does not."""
    tail = note.lower[mention.end:mention.sentence_end]
    stop = _CLAUSE_END.search(tail)
    named = note.lower[mention.start:mention.end]
    return clause_before(note, mention.start) + named + (tail[:stop.start()] if stop else tail), named


@lru_cache(maxsize=8192)
def _category_words(catalog: Any, category: str) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """The billable codes of a category: (code, title, affirmed words), cached per catalogue."""
    out = []
    for code in catalog.with_prefix(CodeSystem.ICD10CM, category):
        record = catalog.get(CM, code)
        if record is not None and record.billable:
            out.append((record.code, record.description, title_words(record.description)[0]))
    return tuple(out)


# the organ a sided title names and its bilateral sibling leaves out: "..., right eye" / "..., bilateral"
SIDED_ORGANS = frozenset({"eye", "ear"})


def _as_titled(words: frozenset[str], titles: Collection[frozenset[str]]) -> frozenset[str] | None:
    """``words`` as some title of the category says them: with or without the organ of a side."""
    if words in titles:
        return words
    for organ in SIDED_ORGANS:
        for other in (words | {organ}, words - {organ}):
            if other != words and other in titles:
                return other
    return None


def agreeing_sibling(note: NoteCoding, line: CodeLine, found: Conflict, text: str, named: str, side: str) -> str | None:
    """The code of the same category (and 7th character) whose title says what the note says:
    the line's affirmed words less ``found.drop``, plus ``found.take`` (and what the line denies,
    plus what was dropped, among titles affirming the same), and so on while the code found
    disagrees in another point ("migraine with aura, intractable" from G43.009 goes through G43.109
    to G43.119); None when there is none."""
    affirmed, denied = title_words(note.description(line.code))
    seventh = line.code[7:] if len(line.code) == 8 and line.code[7].isalpha() else ""  # an encounter letter, not H35.3112's stage
    titles: dict[frozenset[str], list[tuple[str, str, frozenset[str]]]] = {}
    for code, title, words in _category_words(note.catalog, line.code[:3]):
        if code != line.code and (not seventh or code.endswith(seventh)):
            titles.setdefault(words, []).append((code, title, title_words(title)[1]))
    for _ in range(3):
        affirmed, denied = (affirmed - found.drop) | found.take, (denied | found.drop) - found.take
        affirmed = _as_titled(affirmed, titles)
        if affirmed is None:
            return None
        code, title, denied = max(titles[affirmed], key=lambda row: len(row[2] & denied) - len(row[2] ^ denied))
        found = conflict(title, text, named, side)
        if found is None:
            return code
    return None


# titles that keep a condition's former name, whatever its stage: primary biliary cholangitis without cirrhosis is
# K74.3 "primary biliary cirrhosis" (the Index: Cholangitis, primary biliary)
OLD_NAMES = frozenset({"K74.3"})


def contradicted_titles(note: NoteCoding) -> None:
    """A ranked code whose title the evidence contradicts ("with coma" where the note says
    "without coma"; "acute" where it says "chronic"; "noninfective" for a viral gastroenteritis;
    "recurrent" for a first episode; the left ankle for "R ankle") gives way to the sibling whose
    title agrees (E11.641 -> E11.649, K80.50 -> K80.51, A04.71 -> A04.72), or leaves (I.B.1), when
    every mention of it not negated disagrees (those of the diagnostic statement, when it has some;
    a bilateral condition keeps its right and left codes
    where the category has no bilateral one, I.B.13). A
    "without" title whose category has no code "with" what the note adds (I25.10 for "CAD with
    unstable angina") stays for the combination rules after this one."""
    for line in list(note.lines):
        if (line.system != CM or line.added or line not in note.lines or not line.mention_indexes
                or line.code in OLD_NAMES):
            continue
        title = note.description(line.code)
        side = note_side(note, line) if title_words(title)[0] & _SIDE_SET else ""  # only a sided title asks
        current = [m for m in note.mentions(line) if not m.assertion.negated]
        stated = [m for m in current if m.section in DIAGNOSIS_SECTIONS]  # the diagnostic statement governs
        readings = [evidence_words(note, m) for m in stated or current]
        conflicts = [conflict(title, text, named, side) for text, named in readings]
        if not conflicts or any(found is None for found in conflicts):
            continue  # some mention of it agrees with the title (a negated one is not_current's to judge)
        found, (text, named) = conflicts[0], readings[0]
        sibling = agreeing_sibling(note, line, found, text, named, side)
        if sibling is not None:
            note.replace(line, sibling, f"{found.why}; its title agrees (I.B.1)")
        elif found.drop:  # a title that only lacks what the note adds is the combination rules' to complete
            note.withdraw(line, f"its title contradicts the note: {found.why} (I.B.1)")
    for line in list(note.lines):
        denied = title_words(note.description(line.code))[1] if line.system == CM else frozenset()
        if not denied or line not in note.lines:
            continue
        if denied & frozenset().union(*(said_without(evidence_words(note, m)[1]) for m in note.mentions(line))):
            continue  # its own words say "without" too: another condition ("..., left eye without macular edema")
        agreeing = _coded_sibling_saying(note, line, denied)
        if agreeing is not None:
            note.withdraw(line, f"{agreeing.code} says what its title denies: {' '.join(sorted(denied))} (I.B.1)",
                          because_of=agreeing)


def _coded_sibling_saying(note: NoteCoding, line: CodeLine, words: frozenset[str]) -> CodeLine | None:
    """A line of the same category, stated as a diagnosis and at least as sure, whose title and
    mentions affirm ``words``: D57.00 "Hb-SS disease with crisis" for a "pain crisis" beside D57.1
    "Sickle-cell disease without crisis"."""
    for other in note.starting((line.code[:3],)):
        if (other is line or other.confidence < line.confidence or not note.stated(other)
                or not words <= title_words(note.description(other.code))[0]):
            continue
        if words <= _mention_words(note, other):
            return other  # its own mention says it ("pain crisis"), not only its title
    return None


def _mention_words(note: NoteCoding, line: CodeLine) -> frozenset[str]:
    """The content words of a line's mentions."""
    return frozenset().union(*(_words(evidence_words(note, m)[1]) for m in note.mentions(line)))
