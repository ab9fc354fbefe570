"""The most specific code the note supports (I.A.? "code to the highest specificity", I.B.? and the
chapter guidelines): the stage, type, laterality and encounter the note's words give."""

from __future__ import annotations

import re

from .engine import CM, FLOOR, NoteCoding

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
    N18.6). Other N18 codes the ranker put forward leave the list."""
    lines = note.starting(("N18",))
    if not lines:
        return
    best = max(lines, key=lambda line: line.confidence)
    said = "\n".join(note.sentences(line) for line in lines)
    stage = next((code for pattern, code in CKD_STAGES if pattern.search(said)), None)
    if stage is not None and stage != best.code:
        best = note.replace(best, stage, "the stage the note gives (I.C.14.a)")
    for line in note.starting(("N18",), current=False):
        if line is not best:
            note.withdraw(line, f"one CKD code per note: {best.code} (I.C.14.a)", because_of=best)


UNSPECIFIED = re.compile(r"\bunspecified\b")
OTHER = re.compile(r"^other\b|\bother specified\b|\bother (?:\w+ ){0,2}(?:disorders?|diseases?|conditions?)\b")


def unspecified_beside_specific(note: NoteCoding) -> None:
    """An "unspecified" code is not coded beside a code of the same category the note supports that
    says more (I.B.2, I.B.18: unspecified codes only when the record gives no more detail): J18.9
    beside J18.1, I48.91 beside I48.0, R10.9 beside R10.11. The specific code must be at least half
    as sure as the unspecified one, so that a stray low-ranked sibling does not decide."""
    for line in list(note.lines):
        if line.system != CM or not UNSPECIFIED.search(note.description(line.code).lower()):
            continue
        siblings = [
            other for other in note.starting((line.code[:3],))
            if other is not line and not UNSPECIFIED.search(note.description(other.code).lower())
            and not OTHER.search(note.description(other.code).lower())
            and other.confidence >= max(FLOOR, 0.5 * line.confidence)
        ]
        if siblings:
            best = max(siblings, key=lambda other: other.confidence)
            note.absorb(line, best, f"{best.code} says more about the same condition (I.B.2, I.B.18)")


NOT_SPECIFIC = re.compile(r"\bunspecified\b|\bwithout complications\b")


def specific_candidate(note: NoteCoding) -> None:
    """An unspecified code gives way to the more specific code of its own mention, when the mention's
    words match that code at least as well: "paroxysmal AFib" is I48.0, not I48.91; "age-related
    nuclear cataract, right eye" is H25.11, not H26.9 (I.B.2, I.B.18). Only codes of the same category
    or chapter block (first three characters) that the code set can bill."""
    for line in list(note.lines):
        if line.system != CM or line not in note.lines or not NOT_SPECIFIC.search(note.description(line.code).lower()):
            continue
        best = None
        for mention in note.mentions(line):
            own = max((c.similarity for c in mention.candidates if c.code == line.code), default=0.0)
            for cand in mention.candidates:
                if (cand.system == CM and cand.code != line.code and cand.code[:3] == line.code[:3]
                        and cand.similarity >= max(own, 0.9) and note.billable(cand.code)
                        and not NOT_SPECIFIC.search(note.description(cand.code).lower())
                        and (best is None or cand.similarity > best.similarity)):
                    best = cand
        if best is not None:
            note.replace(line, best.code, f"its mention '{best.matched_term or best.code}' names the more specific code (I.B.2)")
