"""Signs and symptoms integral to a confirmed diagnosis are not coded (I.B.5)."""

from __future__ import annotations

from .engine import CM, NoteCoding
from .tables import INTEGRAL_SYMPTOMS


def integral_symptoms(note: NoteCoding) -> None:
    """Drop a symptom code (``resources/integral_symptoms.tsv``) when a diagnosis it routinely goes
    with is coded as confirmed (I.B.5). Symptoms not routinely part of the diagnosis stay (I.B.6),
    and so do symptoms when the diagnosis is uncertain in outpatient care (IV.D, IV.H): the
    uncertain-diagnosis rule has withdrawn that diagnosis by then."""
    for line in list(note.lines):
        if line.system != CM:
            continue
        for prefix, (what, diagnoses, section) in INTEGRAL_SYMPTOMS.items():
            if not line.code.startswith(prefix):
                continue
            # the diagnosis must be at least as sure as the symptom, or likely on its own, or stated
            # by the provider as a diagnosis (then the condition is sure, whatever its code's score)
            explaining = [d for d in note.documented(diagnoses)
                          if d is not line and (d.confidence >= min(line.confidence, 0.5) or note.stated(d))]
            if explaining:
                d = explaining[0]
                note.withdraw(line, f"{what} is integral to {d.code} {note.description(d.code).lower()} ({section})",
                              because_of=d)
            break
