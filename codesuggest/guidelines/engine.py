"""The working state of one note while the coding rules run over it, and the rule table's types.

A rule is a small function ``rule(note: NoteCoding) -> None`` that reads the note's ranked codes
(:class:`CodeLine`), their evidence (the pipeline's mentions) and the note's text, and rewrites the
codes through :class:`NoteCoding`'s four actions: ``replace``, ``withdraw``, ``add`` and ``explain``.
Every action leaves a :class:`GuidelineNote` on the code it touched, saying what was done and under
which section of the ICD-10-CM Official Guidelines for Coding and Reporting (FY2026), so a coder can
check each rewrite.

A code a rule withdraws leaves the list (it is never suggested, so never confident); the note that
explains why goes on the code that took its place, or that made it redundant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pipeline.schema import Mention, NoteAnalysis
from .tables import CHRONIC_PREFIXES

CM = "ICD10CM"
INPATIENT = "inpatient"
OUTPATIENT = "outpatient"  # includes the emergency department (Section IV)

FAMILY_HISTORY = ("Z80", "Z81", "Z82", "Z83", "Z84")
# Sections of test results and examination: "possible RML opacity vs atelectasis" there is a finding
# to be interpreted, not a diagnosis documented at discharge (II.H; III.B: abnormal findings are not
# coded unless the provider indicates their significance).
FINDING_SECTIONS = frozenset({"imaging", "labs", "findings", "physical_exam", "objective", "review_of_systems"})
# Sections where the provider states the diagnoses (the final diagnostic statement).
DISCHARGE_DIAGNOSES = "discharge_diagnoses"
DIAGNOSIS_SECTIONS = frozenset({"assessment", "assessment_plan", "impression", DISCHARGE_DIAGNOSES,
                                "postoperative_diagnosis", "preoperative_diagnosis", "problem_list"})


HISTORY_SECTIONS = frozenset({"past_medical_history", "past_surgical_history", "problem_list"})
RESOLVED_BY_TREATMENT = re.compile(r"\b(?:resolved|converted|corrected|terminated|broke|normali[sz]ed|cleared)\b[^.;\n]{0,30}?"
                                   r"\b(?:after|with|following|on|by)\b")
DATED = re.compile(r"\b(?:19|20)\d\d\b|\bago\b")  # a year or "... ago": a time before this encounter
DATED_BEFORE = re.compile(DATED.pattern + r"|\blast (?:week|month|year|admission)\b|\bprior\b|\bpreviously\b")


def established_when_uncertain(mention: Mention, analysis: NoteAnalysis) -> bool:
    """Whether an uncertain inpatient mention ("probable pneumonia") is coded as established
    (II.H, III.C): when it is documented at discharge. Not in the results of a test or an
    examination (:data:`FINDING_SECTIONS`, III.B); and in a note with a diagnostic statement
    (discharge diagnoses, assessment, ...), only there or in the hospital course."""
    if mention.section in FINDING_SECTIONS:
        return False
    if mention.section in DIAGNOSIS_SECTIONS or mention.section == "hospital_course":
        return True
    return not any(category in DIAGNOSIS_SECTIONS for category, _, _ in analysis.sections)
# Below this confidence a ranked code is too doubtful for a rule to build on (it is still suggested).
FLOOR = 0.2


@dataclass(frozen=True, slots=True)
class GuidelineNote:
    """What a rule did to a code and why, in words a coder can check."""

    rule: str  # the rule's name in the table
    section: str  # the guideline section it implements, e.g. "I.C.9.a.2"
    message: str  # e.g. "I12.9 replaces I10: hypertension with chronic kidney disease is presumed linked"


@dataclass(slots=True, eq=False)
class CodeLine:
    """One code on its way from the ranker to the coder (compared by identity: rules move lines around)."""

    system: str
    code: str
    score: float  # the ranker's score; rules never change it
    confidence: float  # what the coder is shown; a rule may lower it, or set it for a code it adds
    mention_indexes: tuple[int, ...] = ()  # indexes into NoteAnalysis.mentions: the evidence
    reason: str = ""  # the ranker's reason
    notes: list[GuidelineNote] = field(default_factory=list)
    principal: bool = False  # the principal (inpatient) / first-listed (outpatient) diagnosis
    needs_review: bool = False  # a rule asks a coder to look at this code
    added: bool = False  # a rule put it in (not the ranker)
    read_as: tuple[str, ...] = ()  # the codes it had before rules replaced it: what its words linked


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table."""

    name: str
    section: str
    summary: str
    apply: Callable[["NoteCoding"], None]


class NoteCoding:
    """One note's ranked codes while the rules rewrite them, with what the rules need to read."""

    def __init__(
        self,
        analysis: NoteAnalysis,
        lines: Iterable[CodeLine],
        catalog: Any,
        setting: str,
        setting_inferred: bool = False,
        rule: Rule | None = None,
        emergency: bool = False,
    ):
        self.analysis = analysis
        self.text = analysis.text
        self.lower = analysis.text.lower()
        self.catalog = catalog
        self.setting = setting
        self.setting_inferred = setting_inferred
        self.emergency = emergency  # an emergency department visit (coded as outpatient care, Section IV)
        self.lines: list[CodeLine] = list(lines)
        self.withdrawn: list[tuple[CodeLine, GuidelineNote]] = []
        self._current: dict[tuple[int, str], bool] = {}  # (mention index, code) -> mention_is_current
        self.rule = rule  # the rule running now: actions sign their notes with it

    # -- reading -----------------------------------------------------------------------------
    def get(self, code: str, system: str = CM) -> CodeLine | None:
        for line in self.lines:
            if line.code == code and line.system == system:
                return line
        return None

    def starting(self, prefixes: str | Sequence[str], system: str = CM, *, current: bool = True) -> list[CodeLine]:
        """The lines whose code starts with one of ``prefixes``, in rank order; ``current``: only
        those the note states as current (:meth:`is_current`) with a confidence of at least
        :data:`FLOOR`, the ones a rule may build on."""
        wanted = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return [
            line for line in self.lines
            if line.system == system and line.code.startswith(wanted)
            and (not current or (line.confidence >= FLOOR and self.is_current(line)))
        ]

    def documented(self, prefixes: str | Sequence[str], system: str = CM) -> list[CodeLine]:
        """Like :meth:`starting`, and also the less sure lines whose condition the provider states
        as a current diagnosis (:meth:`stated`): the ranker may doubt the code while the note is
        sure of the condition ("Contusion of left hip" in the impression at 0.08)."""
        wanted = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return [
            line for line in self.lines
            if line.system == system and line.code.startswith(wanted) and self.is_current(line)
            and (line.confidence >= FLOOR or self.stated(line))
        ]

    def stated(self, line: CodeLine) -> bool:
        """Whether a current mention of the line stands in a diagnostic statement (assessment,
        impression, discharge diagnoses, ...: :data:`DIAGNOSIS_SECTIONS`)."""
        mentions = self.analysis.mentions
        return any(0 <= i < len(mentions) and mentions[i].section in DIAGNOSIS_SECTIONS
                   and self._mention_current(i, line.code) for i in line.mention_indexes)

    def mentions(self, line: CodeLine) -> list[Mention]:
        mentions = self.analysis.mentions
        return [mentions[i] for i in line.mention_indexes if 0 <= i < len(mentions)]

    def is_current(self, line: CodeLine) -> bool:
        """Whether the note states the code's condition as one the patient has now.

        A code with no mention behind it (the note classifier's alone) counts as current: the
        rules have no text to judge it by. A condition the note both questions and rules out is not
        current. Otherwise one of its mentions must be current (:meth:`mention_is_current`).
        """
        mentions = self.mentions(line)
        if not mentions:
            return True
        if any(m.assertion.negated for m in mentions) and all(m.assertion.negated or m.assertion.possible for m in mentions):
            return False  # "admitted to rule out sepsis ... sepsis ruled out": ruled out beats rule out
        return any(self._mention_current(i, line.code) for i in line.mention_indexes if 0 <= i < len(self.analysis.mentions))

    def stated_now_at(self, position: int) -> bool:
        """Whether the words at ``position`` are stated as current: no mention holds them, or one
        that is current does ("believes neighbors are poisoning his food" is not; "healed fracture" is not)."""
        held = [m for m in self.analysis.mentions if m.start <= position < m.end]
        return not held or any(self.mention_is_current(m) for m in held)

    def current_indexes(self, line: CodeLine) -> list[int]:
        """The indexes of the line's mentions the note states as current for its code."""
        return [i for i in line.mention_indexes if 0 <= i < len(self.analysis.mentions) and self._mention_current(i, line.code)]

    def current_mentions(self, line: CodeLine) -> list[Mention]:
        """The line's mentions the note states as current for its code (:meth:`current_indexes`)."""
        return [self.analysis.mentions[i] for i in self.current_indexes(line)]

    def _mention_current(self, index: int, code: str) -> bool:
        key = (index, code)
        known = self._current.get(key)
        if known is None:
            known = self._current[key] = self.mention_is_current(self.analysis.mentions[index], code)
        return known

    def mention_is_current(self, mention: Mention, code: str = "") -> bool:
        """A mention of a condition the patient has now, as a coder reads it.

        Negated, family and hypothetical mentions are not (a family mention is current for a family
        history code, Z80-Z84); resolved ones only when resolved by treatment in this inpatient stay or
        emergency visit (:meth:`_resolved_in_this_encounter`). Uncertain ones ("probable",
        "suspected") are, in inpatient care only (Sections II.H and III.C; Section IV.H for
        outpatient care), when documented at discharge (:func:`established_when_uncertain`). Past-history ones are when the condition is chronic (a chronic condition
        in the past medical history is still present and coded: Section III, IV.J) unless resolved.
        """
        a = mention.assertion
        if a.family and not a.negated:
            return code.startswith(FAMILY_HISTORY)  # what a family history code codes (I.C.21.c.4)
        if a.negated or a.family or getattr(a, "hypothetical", False):
            return False
        if getattr(a, "resolved", False):
            return self._resolved_in_this_encounter(mention)
        if a.possible:
            return self.setting == INPATIENT and not a.historical and established_when_uncertain(mention, self.analysis)
        if a.historical:
            return is_chronic(code)
        return True

    def _resolved_in_this_encounter(self, mention: Mention) -> bool:
        """A condition the note says resolved with a treatment in a hospital stay or an emergency visit ("SVT,
        resolved after adenosine", "hypokalemia corrected with potassium") was present in this encounter and
        treated there: it is coded (Section III; IV.J for the emergency department), as is a discharge diagnosis
        the summary calls resolved. An office follow-up's "UTI, resolved" is not, nor a resolution the note dates
        before this encounter."""
        if (self.setting != INPATIENT and not self.emergency) or mention.section in HISTORY_SECTIONS:
            return False
        sentence = self.lower[mention.sentence_start:mention.sentence_end]
        if DATED_BEFORE.search(sentence):
            return False
        # a discharge diagnosis "resolved" resolved during the stay: "Viral gastroenteritis - resolved"
        return RESOLVED_BY_TREATMENT.search(sentence) is not None or (self.setting == INPATIENT and mention.section == DISCHARGE_DIAGNOSES)

    def sentences(self, line: CodeLine) -> str:
        """The lower-cased text of the sentences its mentions stand in, joined by newlines."""
        return self.sentences_of(self.mentions(line))

    def sentences_of(self, mentions: Sequence[Mention]) -> str:
        """The lower-cased text of the sentences ``mentions`` stand in, each once, joined by newlines."""
        spans = sorted({(m.sentence_start, m.sentence_end) for m in mentions})
        return "\n".join(self.lower[s:e] for s, e in spans)

    def clauses_of(self, mentions: Sequence[Mention]) -> str:
        """Like :meth:`sentences_of`, each sentence cut to the part between semicolons that holds the
        mention: "sacrum - stage 3 pressure injury; L heel - deep tissue injury" names one site each."""
        return "\n".join(self.lower[s:e] for s, e in self.clause_spans(mentions))

    def clause_spans(self, mentions: Sequence[Mention]) -> list[tuple[int, int]]:
        """The (start, end) offsets of the clauses :meth:`clauses_of` joins, in note order."""
        spans = set()
        for m in mentions:
            before = self.lower.rfind(";", m.sentence_start, m.start)
            after = self.lower.find(";", m.end, m.sentence_end)
            spans.add((before + 1 if before >= 0 else m.sentence_start, after if after >= 0 else m.sentence_end))
        return sorted(spans)

    def says(self, pattern: re.Pattern[str], line: CodeLine | None = None) -> bool:
        """Whether the note (or, with ``line``, the sentences of its evidence) matches ``pattern``."""
        return pattern.search(self.sentences(line) if line is not None else self.lower) is not None

    def withdrew(self, code: str, system: str = CM) -> bool:
        """Whether a rule took ``code`` out (or replaced it) and it is not back in the list: another
        rule does not bring it back through a sibling."""
        return self.get(code, system) is None and any(line.code == code and line.system == system for line, _ in self.withdrawn)

    def billable(self, code: str, system: str = CM) -> bool:
        record = self.catalog.get(system, code) if self.catalog is not None else None
        return record is not None and record.billable

    def description(self, code: str, system: str = CM) -> str:
        record = self.catalog.get(system, code) if self.catalog is not None else None
        return record.description if record is not None else ""

    # -- acting ------------------------------------------------------------------------------
    def explain(self, line: CodeLine, message: str) -> None:
        """Leave a note on ``line`` without changing it."""
        assert self.rule is not None, "actions run inside a rule"
        line.notes.append(GuidelineNote(self.rule.name, self.rule.section, message))

    def withdraw(self, line: CodeLine, message: str, because_of: CodeLine | None = None) -> None:
        """Take ``line`` out of the suggestions; the reason goes on ``because_of`` when given."""
        if line not in self.lines:
            return
        self.lines.remove(line)
        full = f"{line.code} not coded (ranker score {line.score:.2f}): {message}"
        note = GuidelineNote(self.rule.name if self.rule else "", self.rule.section if self.rule else "", full)
        self.withdrawn.append((line, note))
        if because_of is not None and because_of in self.lines and line.confidence >= FLOOR:
            because_of.notes.append(note)  # a coder needs to hear of the codes the ranker was sure of only

    def absorb(self, line: CodeLine, into: CodeLine, message: str) -> None:
        """Withdraw ``line`` because ``into`` codes its condition too: ``into`` takes its evidence."""
        if line is into:
            return
        into.mention_indexes = tuple(dict.fromkeys(into.mention_indexes + line.mention_indexes))
        self.withdraw(line, message, because_of=into)

    def replace(self, line: CodeLine, code: str, message: str, *, confidence: float | None = None) -> CodeLine:
        """Put ``code`` where ``line`` was: the new code keeps the line's evidence and scores (or
        ``confidence``) and merges with a line of that code already in the list."""
        if code == line.code:
            return line
        text = f"{code} replaces {line.code} (ranker score {line.score:.2f}): {message}"
        existing = self.get(code, line.system)
        if existing is not None:
            self.lines.remove(line)
            existing.mention_indexes = tuple(dict.fromkeys(existing.mention_indexes + line.mention_indexes))
            existing.read_as = tuple(dict.fromkeys(existing.read_as + line.read_as + (line.code,)))
            existing.confidence = max(existing.confidence, line.confidence if confidence is None else confidence)
            existing.notes.extend(line.notes)
            self.explain(existing, text)
            self.withdrawn.append((line, existing.notes[-1]))
            return existing
        self.withdrawn.append((CodeLine(line.system, line.code, line.score, line.confidence, line.mention_indexes),
                               GuidelineNote(self.rule.name, self.rule.section, text)))
        line.read_as += (line.code,)
        line.code = code
        if confidence is not None:
            line.confidence = confidence
        self.explain(line, text)
        return line

    def add(self, code: str, message: str, *, confidence: float, like: Sequence[CodeLine] = (),
            system: str = CM, review: bool = False) -> CodeLine:
        """Add ``code`` (or raise an existing line of it to ``confidence``), with the evidence of ``like``."""
        indexes = tuple(dict.fromkeys(i for line in like for i in line.mention_indexes))
        line = self.get(code, system)
        if line is None:
            line = CodeLine(system, code, score=0.0, confidence=confidence, mention_indexes=indexes, needs_review=review,
                            added=True)
            self.lines.append(line)
        else:
            line.confidence = max(line.confidence, confidence)
            line.mention_indexes = tuple(dict.fromkeys(line.mention_indexes + indexes))
        self.explain(line, f"{code} added: {message}")
        return line


def any_of(lines: Iterable[CodeLine]) -> float:
    """The chance that at least one of several codes for the same condition is right (taken as
    independent): how sure the note is of the condition when the ranker split it over codes."""
    miss = 1.0
    for line in lines:
        miss *= 1.0 - min(1.0, max(0.0, line.confidence))
    return 1.0 - miss


def is_chronic(code: str) -> bool:
    """Whether an ICD-10-CM code names a condition that lasts (listed in ``resources/chronic.tsv``)."""
    return code.startswith(CHRONIC_PREFIXES)
