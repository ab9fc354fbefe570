"""The deficits a past stroke left (I.C.9.d, I69) and the side hemiplegia affects (I.C.6.a)."""

from __future__ import annotations

import re

from ..codesets.records import CodeSystem
from .engine import CM, CodeLine, NoteCoding
from .history import note_side

# stroke category -> the I69 subcategory of its sequelae (a stroke NOS is a cerebral infarction)
STROKE_SEQUELAE = {"I60": "I69.0", "I61": "I69.1", "I62": "I69.2", "I63": "I69.3"}
# a deficit code prefix -> the last characters of its I69 code, after the subcategory ("I69.3" + "20")
DEFICITS: tuple[tuple[str, str, str], ...] = (
    ("G81", "5", "hemiplegia"),  # + the side digit of the G81 code
    ("G83.1", "4", "monoplegia of a lower limb"),
    ("G83.2", "3", "monoplegia of an upper limb"),
    ("R47.01", "20", "aphasia"),
    ("R47.02", "21", "dysphasia"),
    ("R47.1", "22", "dysarthria"),
    ("R13.1", "91", "dysphagia"),
    ("R29.810", "92", "facial weakness"),
    ("R27.0", "93", "ataxia"),
)
_SIDED = ("G81", "G83.1", "G83.2")
_PAST_STROKE = re.compile(
    r"\b(?:late effects?|sequelae?|residual|since (?:a|an|her|his|the) |(?:months|years|weeks) ago|"
    r"old|prior|previous|remote|history of|h/o|hx of|s/p|status post)\b"
)
_STROKE_ORDER = ("I63", "I61", "I60", "I62")


def stroke_sequelae(note: NoteCoding) -> None:
    """Deficits a past stroke left (hemiparesis, aphasia, dysphagia, ...) are coded with I69 by the
    stroke's type and the deficit (I.C.9.d: "hemiparesis as a late effect of cerebral infarction"
    is I69.35-, not G81.9- beside I63.9); the stroke itself is not coded for this encounter, nor
    Z86.73 (history of stroke *without* residual deficits, I.C.9.d.3). A stroke is past when its
    mentions are past history or their sentences say so ("late effect", "8 months ago"), and no
    mention states it as this encounter's. Dysphagia keeps its R13.1- code for its phase, as the
    tabular's "use additional code" asks."""
    strokes = note.starting(_STROKE_ORDER, current=False)
    past = [line for line in strokes if _is_past(note, line)]
    if len(past) < len(strokes):
        return  # a stroke of this encounter: its deficits are coded as they are
    ranked = note.starting(tuple(STROKE_SEQUELAE.values()))  # the ranker's own I69 code ("aphasia following ...")
    if past:
        subcategory = STROKE_SEQUELAE[past[0].code[:3]]
    elif ranked:
        subcategory = ranked[0].code[:5]
    else:
        return
    coded = []
    for line in [line for line in note.lines if line.system == CM]:
        sequela = _sequela_code(note, line, subcategory)
        if sequela is None or not note.is_current(line):
            continue
        what = next(w for prefix, _, w in DEFICITS if line.code.startswith(prefix))
        message = f"{what} left by a past stroke is coded as its sequela (I.C.9.d)"
        if line.code.startswith("R13.1"):
            coded.append(note.add(sequela, message + f"; {line.code} stays for the phase", confidence=line.confidence,
                                  like=[line]))
        else:
            coded.append(note.replace(line, sequela, message))
    if not coded:
        return
    for line in past + note.starting(("Z86.73",), current=False):
        note.absorb(line, coded[0], "the stroke is past: its deficits are coded with I69 (I.C.9.d)")


def _is_past(note: NoteCoding, line: CodeLine) -> bool:
    mentions = note.mentions(line)
    if not mentions:
        return False
    return all(m.assertion.historical or _PAST_STROKE.search(note.lower[m.sentence_start:m.sentence_end])
               for m in mentions if not m.assertion.negated)


def _sequela_code(note: NoteCoding, line: CodeLine, subcategory: str) -> str | None:
    for prefix, tail, _ in DEFICITS:
        if line.code.startswith(prefix):
            if prefix in _SIDED:
                digit = line.code[-1] if line.code[-1] in "1234" else "9"
                tail = tail + digit
            code = f"{subcategory}{tail}"
            return code if note.billable(code) else None
    return None


_LEFT_HANDED = re.compile(r"\b(?:left|l)[- ]handed\b")
_AMBIDEXTROUS = re.compile(r"\bambidextrous\b")
# the end of a hemiplegia / monoplegia title: its side and dominance, or "unspecified side"
_SIDED_PARALYSIS = re.compile(r"(?:\b(right|left) (?:non-?)?dominant|\bunspecified) side$")


def dominant_side(note: NoteCoding, side: str) -> str:
    """'dominant' or 'nondominant' for the affected ``side`` (I.C.6.a): the note's handedness when
    it gives it; ambidextrous: dominant; otherwise the right side is dominant, the left not."""
    if _AMBIDEXTROUS.search(note.lower):
        return "dominant"
    right_dominant = _LEFT_HANDED.search(note.lower) is None
    return "dominant" if (side == "right") == right_dominant else "nondominant"


def paralysis_side(note: NoteCoding) -> None:
    """Hemiplegia and monoplegia coded for an "unspecified side" become the side the note gives,
    dominant or not by :func:`dominant_side` (I.C.6.a): "L hemiparesis" is G81.94 in a right-handed
    or unstated patient, I69.354 after a stroke."""
    for line in list(note.lines):
        title = note.description(line.code).lower()
        sided = _SIDED_PARALYSIS.search(title)
        if line.system != CM or line not in note.lines or sided is None:
            continue
        side = sided.group(1) or note_side(note, line)  # a side the code has stays; the dominance follows the note
        if side not in ("right", "left"):
            continue
        dominance = dominant_side(note, side)
        head = title[: sided.start()]
        wanted = {f"{head}{side} {dominance} side", f"{head}{side} {dominance.replace('non', 'non-')} side"}
        if title in wanted:
            continue
        for code in note.catalog.with_prefix(CodeSystem.ICD10CM, line.code[:-1]):
            if code != line.code and note.description(code).lower() in wanted:
                note.replace(line, code, f"{side} side, {dominance} by the note's handedness or by default (I.C.6.a)")
                break
