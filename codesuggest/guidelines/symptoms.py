"""Signs and symptoms integral to a confirmed diagnosis are not coded (I.B.5)."""

from __future__ import annotations

import re

from .engine import CM, CodeLine, NoteCoding
from .tables import INTEGRAL_SYMPTOMS
from .wording import affirmed

# codes of a bleeding the note names apart from its source, and a title that names the bleeding with it
BLEEDING = ("R58", "K92.0", "K92.1", "K92.2", "K62.5", "R04")
WITH_BLEEDING = re.compile(r"\bwith (?:\w+ )?(?:bleeding|hemorrhage)\b")
# a finding of its diagnosis that the note treats on its own is an additional diagnosis (Section III:
# it gets a procedure of its own): a heart failure's pleural effusion drained, not just diuresed
_DRAINED = re.compile(r"\b(?:thoracente[sz][ei]s|chest tubes?|pleurx|pleurodesis|pigtail catheter)\b")
TREATED_ON_ITS_OWN = {"J90": _DRAINED, "J91.8": _DRAINED}


def integral_symptoms(note: NoteCoding) -> None:
    """Drop a symptom code (``resources/integral_symptoms.tsv``) when a diagnosis it routinely goes
    with is coded as confirmed (I.B.5). Symptoms not routinely part of the diagnosis stay (I.B.6),
    and so do symptoms when the diagnosis is uncertain in outpatient care (IV.D, IV.H): the
    uncertain-diagnosis rule has withdrawn that diagnosis by then. A bleeding is not coded beside a
    code whose title has it ("diverticulosis ... with bleeding": I.B.9)."""
    for line in list(note.lines):
        if line.system != CM:
            continue
        for prefix, (what, diagnoses, section) in INTEGRAL_SYMPTOMS.items():
            if not line.code.startswith(prefix):
                continue
            treated = TREATED_ON_ITS_OWN.get(prefix)
            if treated is not None and affirmed(treated, note.lower):
                break
            explaining = _explaining(note, line, note.documented(diagnoses))
            if explaining:
                d = explaining[0]
                note.withdraw(line, f"{what} is integral to {d.code} {note.description(d.code).lower()} ({section})",
                              because_of=d)
            break
        if line in note.lines and line.code.startswith(BLEEDING):
            with_bleeding = [d for d in note.lines if d.system == CM and WITH_BLEEDING.search(note.description(d.code).lower())]
            explaining = _explaining(note, line, with_bleeding)
            if explaining:
                d = explaining[0]
                note.withdraw(line, f"{d.code} {note.description(d.code).lower()} codes the bleeding (I.B.9)", because_of=d)


def _explaining(note: NoteCoding, line: CodeLine, diagnoses: list[CodeLine]) -> list[CodeLine]:
    """The diagnoses at least as sure as the symptom, or likely on their own, or stated by the provider
    as a diagnosis (then the condition is sure, whatever its code's score)."""
    return [d for d in diagnoses if d is not line and (d.confidence >= min(line.confidence, 0.5) or note.stated(d))]
