"""History, status, tobacco and long-term drug codes (ICD-10-CM Official Guidelines I.C.21.c.3-4,
I.C.9.e.4, I.C.5.b, I.C.4.a.3).

A condition the patient had and no longer has is coded by its history code (old MI I25.2, Z85-Z87),
a family member's by the family history code (Z80-Z84); what a past procedure left (a stent, a new
knee, no gallbladder) by its status code (Z89-Z96); tobacco as current dependence (F17.2-) or as
history (Z87.891); the drugs a patient takes for the long term by Z79.-. These rules run before
``not_current``, which then withdraws what is left of past conditions and past procedures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..pipeline.schema import Mention
from .engine import CM, DATED, FAMILY_HISTORY, HISTORY_SECTIONS, CodeLine, NoteCoding, is_chronic
from .tables import ANY_STATUS, DRUGS, HISTORY_CODES, STATUS_CODES

# What a rule-made history, status or drug code is worth when the note states it plainly (the
# condition is the best candidate of its mention; a status phrase with past wording or in a history
# section; a drug in the medication list): above the ranker's review thresholds (0.27-0.33 out of
# fold), below what it gives the codes it is sure of. Anything less plain gets LESS_SURE and review.
SURE = 0.6
LESS_SURE = 0.4

MEDICATION_SECTIONS = frozenset({"medications"})


def history_code(code: str, family: bool) -> str | None:
    """The Z80-Z87 code for a CM condition mentioned as family or personal history (coarse map).

    The ranker's features derive a history candidate from each past or family mention with it;
    the :func:`personal_history` rule codes by the finer table ``resources/history_codes.tsv``.
    """
    letter, num = code[0], code[1:3]
    if family:
        if letter == "C":
            return "Z80.9"
        if letter == "I" and num in {"20", "21", "22", "23", "24", "25"}:
            return "Z82.49"
        if letter == "I" and num.startswith("6"):
            return "Z82.3"
        if letter == "E" and num in {"10", "11", "13"}:
            return "Z83.3"
        if letter == "F":
            return "Z81.8"
        return "Z84.89"
    if letter == "C":
        return "Z85.9"
    if letter == "I" and num in {"21", "22"}:
        return "I25.2"
    if letter == "I" and num.startswith("6"):
        return "Z86.73"
    if letter == "D" and num.isdigit() and int(num) <= 49:
        return "Z86.01"
    return "Z87.898"


# -- shared helpers ------------------------------------------------------------------------------


def section_at(note: NoteCoding, offset: int) -> str:
    """The section category the character at ``offset`` stands in ("unknown" outside any)."""
    for category, start, end in note.analysis.sections:
        if start <= offset < end:
            return category
    return "unknown"


AGE = re.compile(r"\b(\d{1,3})[- ]?(?:yo|y/o|y\.o\.|year[- ]old|yr[- ]old)\b|\b\d{1,2}[- ]?(?:mo|months?|wks?|weeks?|days?)[- ]?old\b"
                 r"|\b\d{1,2} mo\b")


def patient_age(note: NoteCoding) -> int | None:
    """The patient's age in whole years from "45 yo", "67 year-old" ("4 mo old", "5 wk old": 0), else None."""
    found = AGE.search(note.lower)
    if found is None:
        return None
    return int(found.group(1)) if found.group(1) else 0


def sentence_of(note: NoteCoding, start: int, end: int) -> tuple[int, int]:
    """The sentence around ``start:end``: the mention's when a mention holds it, else up to the
    nearest full stop (not a decimal point) or line break."""
    for m in note.analysis.mentions:
        if m.start <= start and end <= m.end or m.sentence_start <= start < m.sentence_end:
            return m.sentence_start, m.sentence_end
    text = note.lower
    left = max(text.rfind("\n", 0, start), _last_stop(text, start)) + 1
    right_candidates = [i for i in (text.find("\n", end), _next_stop(text, end)) if i >= 0]
    return left, min(right_candidates) if right_candidates else len(text)


def sentences_saying(note: NoteCoding, pattern: re.Pattern[str]) -> list[str]:
    """The lower-cased sentences (:func:`sentence_of`) of the note that match ``pattern``."""
    return [note.lower[slice(*sentence_of(note, m.start(), m.end()))] for m in pattern.finditer(note.lower)]


def _last_stop(text: str, before: int) -> int:
    for match in reversed(list(re.finditer(r"\.(?!\d)", text[:before]))):
        return match.start()
    return -1


def _next_stop(text: str, after: int) -> int:
    match = re.compile(r"\.(?!\d)").search(text, after)
    return match.start() if match else -1


def clause_before(note: NoteCoding, start: int) -> str:
    """The lower-cased text from the start of the clause (sentence start, ';', ',' or line break)
    up to ``start``: where a negation or a "status post" that governs a phrase stands."""
    s, _ = sentence_of(note, start, start)
    head = note.lower[s:start]
    cut = max(head.rfind(";"), head.rfind("\n"), head.rfind(","), head.rfind(":"))
    return head[cut + 1:]


def mentions_within(note: NoteCoding, start: int, end: int) -> tuple[int, ...]:
    """Indexes of the mentions that overlap ``start:end``: evidence for a code found in the text."""
    return tuple(i for i, m in enumerate(note.analysis.mentions) if m.start < end and start < m.end)


def evidence(note: NoteCoding, start: int, end: int) -> list[CodeLine]:
    """A stand-in line carrying the mentions of ``start:end``, for ``NoteCoding.add(like=...)``."""
    return [CodeLine(CM, "", 0.0, 0.0, mentions_within(note, start, end))]


def add_code(note: NoteCoding, code: str, message: str, *, confidence: float, like: list[CodeLine],
             review: bool = False) -> CodeLine:
    """``NoteCoding.add``, asking for review when the rule is unsure and its confidence is what the
    coder sees (the ranker did not rank the code higher)."""
    line = note.add(code, message, confidence=confidence, like=like, review=review)
    if review and line.confidence <= confidence:
        line.needs_review = True
    return line


# -- personal and family history (I.C.21.c.4, I.C.9.e.4) ---------------------------------------


def history_codes_for(code: str) -> tuple[str, str, str] | None:
    """(personal, family, what) for a condition code, by the longest prefix in the table."""
    for prefix, personal, family, what in HISTORY_CODES:
        if code.startswith(prefix):
            return personal, family, what
    return None


# Words right before a mention that make it past or family history when the pipeline's ConText
# missed them (abbreviations: "hx of colon polyps", "Hx CVA", "FHx prostate Ca").
SAID_PAST = re.compile(r"\b(?:hx|h/o|history|pmh|pmhx|s/p|status post)(?: of)?:?\s*(?:(?:right|left|r|l|rt|lt|bilateral)\s+)?$")
SAID_FAMILY = re.compile(r"\b(?:fhx|fh|family (?:history|hx)(?: of)?):?\s*$")


def _said_before(note: NoteCoding, mention: Mention, pattern: re.Pattern[str]) -> bool:
    return pattern.search(note.lower[max(0, mention.start - 24):mention.start]) is not None


def _past(note: NoteCoding, mention: Mention) -> bool:
    a = mention.assertion
    if a.negated or a.possible or a.family or _said_before(note, mention, SAID_FAMILY):
        return False
    return a.historical or bool(getattr(a, "resolved", False)) or _said_before(note, mention, SAID_PAST)


def _family(note: NoteCoding, mention: Mention) -> bool:
    a = mention.assertion
    return not (a.negated or a.possible) and (a.family or _said_before(note, mention, SAID_FAMILY))


def personal_history(note: NoteCoding) -> None:
    """A condition the note mentions only as past (or a family member's) is coded by its history
    code: old myocardial infarction I25.2 (I.C.9.e.4), a malignancy no longer present Z85.- by site
    (I.C.2.d), past stroke / TIA Z86.73, DVT Z86.718, PE Z86.711, pneumonia Z87.01, UTI Z87.440,
    kidney stones Z87.442, ... (I.C.21.c.4, ``resources/history_codes.tsv``); a family member's by
    Z80-Z84. Chronic conditions are still present and keep their code; a condition with no history
    code is left to ``not_current``.

    Confidence: the condition's own when the ranker ranked the history code higher; else
    :data:`SURE` when the condition is the best candidate of a past mention, the condition's
    confidence otherwise. A family history code added beside a personal one likewise.
    """
    for line in list(note.lines):
        if line.system != CM or line not in note.lines:
            continue
        mentions = note.mentions(line)
        if not mentions or any(note.mention_is_current(m, line.code) and not _past(note, m) and not _family(note, m)
                               for m in mentions):
            continue
        codes = history_codes_for(line.code)
        if codes is None:
            continue
        personal, family, what = codes
        past = [i for i in line.mention_indexes if 0 <= i < len(note.analysis.mentions) and _past(note, note.analysis.mentions[i])]
        kin = [i for i in line.mention_indexes if 0 <= i < len(note.analysis.mentions) and _family(note, note.analysis.mentions[i])]
        if kin and family and note.billable(family):
            _history_line(note, line, family, kin, f"{what} in the family is coded by its family history code (I.C.21.c.4)",
                          replace=not (past and personal and not is_chronic(line.code)))
        if past and personal and note.billable(personal) and not is_chronic(line.code):
            section = "I.C.9.e.4" if personal == "I25.2" else "I.C.21.c.4"
            _history_line(note, line, personal, past, f"{what} is past history, no longer present ({section})", replace=True)
    _unranked_history(note)
    _refine_coarse(note)


def _unranked_history(note: NoteCoding) -> None:
    """A past condition the note names in the words of its code, that no ranked line stands on (the ranker
    puts the codes of past mentions low, below the list's cut), is coded by its history code all the same
    (I.C.21.c.4): a long past medical history's "pulmonary embolism in 2016" is Z86.711."""
    mentions = note.analysis.mentions
    covered = {i for line in note.lines for i in line.mention_indexes}
    covered |= {i for line, _ in note.withdrawn for i in line.mention_indexes}
    spans = [(mentions[i].start, mentions[i].end) for i in covered if 0 <= i < len(mentions)]
    for i, mention in enumerate(mentions):
        top = mention.candidates[0] if mention.candidates else None
        inside = any(s <= mention.start and mention.end <= e for s, e in spans)  # "breast cancer" of "History of breast cancer"
        if (i in covered or inside or top is None or top.system != CM or top.similarity < 1.0 or mention.kind != "diagnosis"
                or not _past(note, mention) or is_chronic(top.code)):
            continue
        codes = history_codes_for(top.code)
        if codes is None or not codes[0] or not note.billable(codes[0]) or note.get(codes[0]) is not None:
            continue
        personal, _, what = codes
        section = "I.C.9.e.4" if personal == "I25.2" else "I.C.21.c.4"
        note.add(personal, f"{what} is past history, no longer present ({section})", confidence=LESS_SURE,
                 like=[CodeLine(CM, "", 0.0, 0.0, (i,))])


def _refine_coarse(note: NoteCoding) -> None:
    """The ranker's catch-all history code (Z85.9 "malignant neoplasm, unspecified", Z80.9, ...)
    becomes the specific one when a mention inside its evidence names the condition ("History of
    left breast cancer": C50 -> Z85.3). The ranker's confidence stays."""
    mentions = note.analysis.mentions
    for line in note.starting(COARSE_PERSONAL + COARSE_FAMILY, current=False):
        family = line.code in COARSE_FAMILY
        found = None
        for m in note.mentions(line):
            for i in mentions_within(note, m.start, m.end):
                for cand in mentions[i].candidates:
                    codes = history_codes_for(cand.code) if cand.system == CM else None
                    specific = codes and (codes[1] if family else codes[0])
                    if specific and specific != line.code and note.billable(specific):
                        found = found or (specific, codes[2])
        if found is not None and line in note.lines:
            note.replace(line, found[0], f"{found[1]}: the specific {'family' if family else 'personal'} history code "
                                         "(I.C.21.c.4)")


def _history_line(note: NoteCoding, line: CodeLine, code: str, indexes: list[int], message: str, *, replace: bool) -> None:
    mentions = note.analysis.mentions
    plain = any(mentions[i].candidates and line.code.startswith(mentions[i].candidates[0].code) for i in indexes)
    confidence = max(line.confidence, SURE) if plain else line.confidence
    existing = note.get(code)
    if not replace and existing is not None and set(indexes) <= set(existing.mention_indexes):
        existing.confidence = max(existing.confidence, confidence)
        return
    if replace:
        line.mention_indexes = tuple(indexes) if set(indexes) != set(line.mention_indexes) else line.mention_indexes
        target = note.replace(line, code, message, confidence=confidence)
    else:
        target = note.add(code, message, confidence=confidence, like=[CodeLine(CM, "", 0.0, 0.0, tuple(indexes))])
    _drop_coarse(note, target)


# The catch-all history codes the ranker proposes for any past or family mention (history_code):
# not coded beside the specific one a rule found for the same mention.
COARSE_PERSONAL = ("Z85.9", "Z87.898")
COARSE_FAMILY = ("Z80.9", "Z84.89")


def _drop_coarse(note: NoteCoding, target: CodeLine) -> None:
    coarse = COARSE_FAMILY if target.code.startswith(FAMILY_HISTORY) else COARSE_PERSONAL
    if target.code in coarse:
        return
    mine = set(target.mention_indexes)
    for other in note.starting(coarse, current=False):
        if other is not target and mine & set(other.mention_indexes):
            note.withdraw(other, f"{target.code} is the specific history code", because_of=target)


# -- status after a procedure (I.C.21.c.3) -------------------------------------------------------

PAST_WORDS = re.compile(
    r"\b(?:status[- ]post|s/p|h/o|hx of|history of|prior|previous|previously|remote|(?:19|20)\d\d|"
    r"\d+ (?:years?|yrs?|months?|weeks?|wks?|days?) (?:ago|after|following|since)|presence of)\b|\bs/p\b"
)
PRESENT_DEVICE = re.compile(r"\b(?:has (?:a|an)|with (?:a|an)|in place|dependent|functioning|interrogat\w*|paced)\b")
NOT_DONE = re.compile(
    r"\b(?:no|denies|denied|never|without|not|scheduled|planned|planning|plan|candidate|consider\w*|"
    r"recommend\w*|refer\w*|will|awaiting|await|needs?|possible|pending)\b"
)
FOR_NEXT = re.compile(r"\b(?:for|to have|to undergo)\s+(?:(?:an?|the|elective|urgent|possible|planned|repeat|redo)\s+)*$")
THIS_STAY = re.compile(r"\b(?:pod ?#?\d|post-?op(?:erative)? day|today|this admission|on hospital day)\b")
NOT_HISTORY_SECTIONS = frozenset({
    "procedures", "findings", "postoperative_diagnosis", "preoperative_diagnosis", "indications", "hospital_course",
    "plan", "instructions", "family_history", "allergies",
})
SIDE_WORDS = re.compile(r"\b(?:(bilateral|both|b/l)|(right|rt|r)|(left|lt|l))\b")
EYES = {"od": "right", "os": "left", "ou": "bilateral"}  # oculus dexter / sinister / uterque, after an eye's condition
SIDE_DIGITS = {"right": ("1",), "left": ("2",), "bilateral": ("3",), "": ("9",), "unspecified": ("0",)}


def side_digit(side: str, default: str, bilateral: bool = True) -> str:
    """The character a sided code gives ``side``: 1 right, 2 left, 3 bilateral (only where the category
    has a bilateral code, ``bilateral``), else ``default`` (9 or 0: unspecified)."""
    if side == "bilateral" and not bilateral:
        return default
    return SIDE_DIGITS[side][0] if side in ("right", "left", "bilateral") else default


def side_of(text: str) -> str:
    """'right', 'left', 'bilateral' or '' from words like "right", "lt", "bilateral", "both"."""
    found = {("bilateral", "right", "left")[m.lastindex - 1] for m in SIDE_WORDS.finditer(text)}
    if "bilateral" in found or {"right", "left"} <= found:
        return "bilateral"
    return found.pop() if found else ""


def side_near(note: NoteCoding, start: int, end: int) -> str:
    """The side of the phrase at ``start:end``: the side word nearest before it in its clause (not
    past an "and"), else one right after it ("knee replacement, right")."""
    before = re.split(r"\band\b|&", clause_before(note, start)[-40:])[-1]
    sides = [("bilateral", "right", "left")[m.lastindex - 1] for m in SIDE_WORDS.finditer(before + " " + note.lower[start:end])]
    if sides:
        return sides[-1]
    tail = re.match(r"\s*(?:,\s*|\(\s*)?(bilateral|both|right|left|rt|lt|od|os|ou|[rl](?=\s+[a-z]{3}))\b",
                    note.lower[end:end + 20])  # "gout R great toe"
    return EYES.get(tail.group(1)) or side_of(tail.group(1)) if tail else ""


def note_side(note: NoteCoding, line: CodeLine) -> str:
    """The one side the code's current mentions give ("" when none, or they disagree); for an ear's
    condition (H60-H95) also the AD / AS / AU of their clauses."""
    mentions = [m for m in note.mentions(line) if not m.assertion.negated]
    sides = {side_near(note, m.start, m.end) for m in mentions} - {""}
    if not sides and line.code[:2] in EAR_CHAPTER:
        sides = ear_sides(note, mentions)
    return sides.pop() if len(sides) == 1 else ""


EAR_CHAPTER = ("H6", "H7", "H8", "H9")  # diseases of the ear and mastoid process
EARS = {"AD": "right", "AS": "left", "AU": "bilateral"}  # auris dextra / sinistra / utraque, in capitals only
_EAR_ABBREVIATION = re.compile(r"\b(AD|AS|AU)\b")


def ear_sides(note: NoteCoding, mentions: Sequence[Mention]) -> set[str]:
    """The sides the clauses of ``mentions`` give an ear in capitals, "SNHL, AD": in lower case "as" and
    "ad" are words."""
    text = note.analysis.text
    return {EARS[m.group(1)] for start, end in note.clause_spans(mentions) for m in _EAR_ABBREVIATION.finditer(text, start, end)}


def procedure_status(note: NoteCoding) -> None:
    """What a procedure before this encounter left the patient with is coded by its status code
    (I.C.21.c.3): PCI / stent Z95.5, CABG Z95.1, pacemaker Z95.0, ICD Z95.810, knee / hip
    replacement Z96.65- / Z96.64- by side, cholecystectomy / appendectomy Z90.49, hysterectomy
    Z90.710, transplants Z94.-, amputations Z89.- by side (``resources/status_codes.tsv``). The
    procedure's own code is not coded for this encounter: ``not_current`` withdraws it when its
    mention is past history; one standing inside the status phrase leaves here.

    A phrase counts with past wording in its clause ("status post", "history of", a year, "prior")
    or in a history section; a device also when the note says the patient has it. Not when the
    clause negates it or plans it ("no prior CABG", "scheduled for"), nor in the sections of this
    encounter's procedures. Confidence :data:`SURE` with past wording or in a history section,
    :data:`LESS_SURE` and review for a device present only ("has a pacemaker").
    """
    if ANY_STATUS.search(note.lower) is None:
        return
    found: dict[str, tuple[float, str, list[tuple[int, int]]]] = {}
    for code, kind, pattern, what in STATUS_CODES:
        for match in pattern.finditer(note.lower):
            sure = _status_wording(note, match.start(), match.end(), kind)
            if sure is None or _claimed(found, match):
                continue
            for final in _with_side(note, code, match.start(), match.end()):
                previous = found.get(final)
                spans = (previous[2] if previous else []) + [(match.start(), match.end())]
                found[final] = (max(sure, previous[0] if previous else 0.0), what, spans)
    for code, (confidence, what, spans) in _merge_sides(note, found).items():
        like = [line for s, e in spans for line in evidence(note, s, e)]
        target = add_code(note, code, f"status after {what} before this encounter (I.C.21.c.3)", confidence=confidence,
                          like=like, review=confidence < SURE)
        _withdraw_procedures_within(note, spans, target)


def _status_wording(note: NoteCoding, start: int, end: int, kind: str) -> float | None:
    before = clause_before(note, start)
    if NOT_DONE.search(before) or FOR_NEXT.search(before):  # "no prior CABG", "admitted for CABG"
        return None
    sentence = note.lower[slice(*sentence_of(note, start, end))]
    section = section_at(note, start)
    if section in NOT_HISTORY_SECTIONS and not DATED.search(sentence):
        return None
    if THIS_STAY.search(sentence):
        return None
    rest = re.split(r"[,;:]", note.lower[end:sentence_of(note, start, end)[1]])[0]
    if PAST_WORDS.search(before) or DATED.search(rest) or section in HISTORY_SECTIONS:
        return SURE
    if kind == "device" and (PRESENT_DEVICE.search(sentence)):
        return LESS_SURE
    return None


def _claimed(found: dict[str, tuple[float, str, list[tuple[int, int]]]], match: re.Match[str]) -> bool:
    """A phrase an earlier row already coded (e.g. "supracervical hysterectomy")."""
    return any(s < match.end() and match.start() < e for _, _, spans in found.values() for s, e in spans)


def _with_side(note: NoteCoding, code: str, start: int, end: int) -> list[str]:
    if not code.endswith("#"):
        return [code]
    stem = code[:-1]
    side = side_near(note, start, end)
    fallback = ("1", "2") if side == "bilateral" else SIDE_DIGITS["unspecified"] if not side else ()
    for digits in (SIDE_DIGITS[side], fallback):
        codes = [stem + d for d in digits]
        if digits and all(note.billable(c) for c in codes):
            return codes
    return []


def _merge_sides(note: NoteCoding, found: dict) -> dict:
    """A right and a left of the same kind found apart are the bilateral code where there is one."""
    for code in [c for c in found if c.endswith("1")]:
        left, both = code[:-1] + "2", code[:-1] + "3"
        if left in found and note.billable(both) and note.description(code).lower().find("right") >= 0:
            right_entry, left_entry = found.pop(code), found.pop(left)
            found[both] = (max(right_entry[0], left_entry[0]), right_entry[1], right_entry[2] + left_entry[2])
    return found


def _withdraw_procedures_within(note: NoteCoding, spans: list[tuple[int, int]], target: CodeLine) -> None:
    for line in [line for line in note.lines if line.system != CM]:
        mentions = note.mentions(line)
        if mentions and all(any(m.start < e and s < m.end for s, e in spans) for m in mentions):
            note.withdraw(line, f"a procedure before this encounter: {target.code} codes its status (I.C.21.c.3)",
                          because_of=target)


# -- tobacco (I.C.5.b, Alphabetic Index: smoker, history of tobacco dependence) -------------------

TOBACCO = re.compile(r"\b(?:smok(?:er|ers|es|ing|ed)|tobacco|cigarettes?|cigs|cigars?|pipe|nicotine|vap(?:e|es|ing)|e-cig\w*|snuff|ppd|pack[- ]?years?)\b")
NEVER = re.compile(r"\b(?:never|non-?smoker|nonsmoker|denies|denied|no|not|doesn't|does not|negative|none|nil)\b")
CURRENTLY = re.compile(r"\b(?:current(?:ly)?|active(?:ly)?|still|continues to|continuing to)\b")
NOT_USE = re.compile(r"\b(?:second[- ]?hand|passive|exposure|exposed|inhalation|detector|cessation counsel\w*|"
                     r"marijuana|marihuana|cannabis|weed|crack|cocaine|meth\w*|heroin|opium|tuberculin|quantiferon|igra|"
                     r"ppd (?:\d+(?:\.\d+)? ?mm|tests?|skin|placed|read|positive|negative|pos|neg|reactive|nonreactive|was|is|"
                     r"\+|-))\b")  # not tobacco use: a PPD that is a tuberculin skin test
FORMER = re.compile(
    r"\b(?:former|ex|quit|quitting|stopped|remote|previous(?:ly)?|used to|gave up|h/o|history of|hx of|"
    r"until (?:19|20)\d\d)\b|\bex-?smoker\b"
)
CIGARETTES = re.compile(r"\b(?:cigarettes?|cigs|packs?|ppd|pack[- ]?years?|pk[- ]?yrs?|half a pack)\b")
CHEWING = re.compile(r"\b(?:chew(?:s|ing)? tobacco|smokeless|snuff|dip)\b")
E_CIGARETTES = re.compile(r"\b(?:electronic|e-) ?cig\w*")  # not cigarettes (F17.21-): other products (F17.29-)
OTHER_PRODUCT = re.compile(r"\b(?:cigars?|pipe|vap(?:e|es|ing)|e-cig\w*|electronic cigarettes?)\b")


def tobacco_statements(note: NoteCoding) -> Iterator[tuple[str, int, int, str]]:
    """('current' | 'former' | 'never', start, end, clause) for each clause of the note on tobacco."""
    text = note.lower
    for clause in re.finditer(r"[^.;\n]+", text):
        words = clause.group()
        first = TOBACCO.search(words)
        if first is None or NOT_USE.search(words) or section_at(note, clause.start()) in ("family_history", "allergies"):
            continue
        said = _tobacco_piece(words, first)
        if FORMER.search(said) and not CURRENTLY.search(said):
            yield "former", clause.start(), clause.end(), words
        elif NEVER.search(said[:said.find(first.group()) + len(first.group())]):
            yield "never", clause.start(), clause.end(), words
        else:
            yield "current", clause.start(), clause.end(), words


def _tobacco_piece(clause: str, first: re.Match[str]) -> str:
    """The part of a clause that speaks of tobacco: the comma-separated piece of its first tobacco
    word, with the next piece when that one goes on about it ("smoker, quit in 2005"), not the
    pieces on other conditions ("history of COPD, a 15 pack-year smoker")."""
    start = clause.rfind(",", 0, first.start()) + 1
    end = clause.find(",", first.end())
    piece = clause[start:] if end < 0 else clause[start:end]
    if end >= 0:
        following = clause[end + 1:].split(",")[0]
        if re.match(r"\s*(?:quit|stopped|gave up|former|ex\b|until|\d+ (?:pack|ppd|cig))", following):
            piece += "," + following
    return piece


def tobacco(note: NoteCoding) -> None:
    """Tobacco as the note states it (I.C.5.b; the Alphabetic Index: "Smoker - see Dependence, drug,
    nicotine"; "History, personal, nicotine dependence" Z87.891).

    A former smoker ("former smoker", "quit", "ex-smoker", "remote tobacco use") is Z87.891 and
    never F17.2-: F17.2- and Z72.0 leave. A current smoker is F17.210 (cigarettes), F17.220
    (chewing tobacco), F17.290 (other products: cigars, pipe, vaping) or F17.200 (product not
    stated). A never smoker has neither. When the note says both current and former, the current
    statement wins and the code is marked for review.

    Confidence: an existing line keeps the ranker's (raised to :data:`SURE` in the social history);
    an added code :data:`SURE` in the social history, :data:`LESS_SURE` and review elsewhere.
    """
    statements = list(tobacco_statements(note))
    kinds = {kind for kind, *_ in statements}
    dependence = note.starting(("F17.2", "Z72.0"), current=False)
    history = note.starting(("Z87.891",), current=False)
    if "current" in kinds:
        _current_smoker(note, [s for s in statements if s[0] == "current"], dependence, history, review="former" in kinds)
    elif "former" in kinds:
        where = next(s for s in statements if s[0] == "former")
        confidence = _tobacco_confidence(note, where[1])
        target = history[0] if history else None
        for line in dependence:
            target = note.replace(line, "Z87.891", "the note states tobacco use in the past only (I.C.21.c.4): "
                                  f"'{where[3].strip()}'", confidence=max(line.confidence, confidence))
        if target is None:
            target = add_code(note, "Z87.891", f"former tobacco use: '{where[3].strip()}' (I.C.21.c.4)", confidence=confidence,
                              like=evidence(note, where[1], where[2]), review=confidence < SURE)
        for line in history[1:]:
            note.withdraw(line, "one history code", because_of=target)
    elif "never" in kinds:
        for line in dependence + history:
            note.withdraw(line, "the note says the patient does not use tobacco")


def _current_smoker(note: NoteCoding, statements: list, dependence: list[CodeLine], history: list[CodeLine], *, review: bool) -> None:
    said = " ".join(s[3] for s in statements)
    if CHEWING.search(said):
        code, product = "F17.220", "chewing tobacco"
    elif CIGARETTES.search(E_CIGARETTES.sub(" ", said)):
        code, product = "F17.210", "cigarettes"
    elif OTHER_PRODUCT.search(said):
        code, product = "F17.290", "other tobacco product"
    else:
        code, product = "F17.200", "product not stated"
    confidence = _tobacco_confidence(note, statements[0][1])
    message = f"current tobacco use, {product} (I.C.5.b): '{statements[0][3].strip()}'"
    f17 = [line for line in dependence if line.code.startswith("F17.2")]
    if f17:
        target = note.get(code) or f17[0]
        if target.code == code:
            target.confidence = max(target.confidence, confidence)
            note.explain(target, message)
        else:
            target = note.replace(target, code, message, confidence=max(target.confidence, confidence))
        for line in f17:
            if line is not target and line in note.lines:
                note.replace(line, code, "one nicotine dependence code")
    else:
        target = add_code(note, code, message, confidence=confidence, like=evidence(note, statements[0][1], statements[0][2]),
                          review=confidence < SURE)
    for line in note.starting(("Z72.0",), current=False):
        note.withdraw(line, f"a smoker is coded as nicotine dependence {code} (Alphabetic Index: Smoker)", because_of=target)
    target.needs_review = target.needs_review or review
    for line in history:  # Z87.891 excludes current nicotine dependence (F17.2-): a switch of product is no past use
        note.withdraw(line, "the patient uses tobacco now (Z87.891 Excludes1)", because_of=target)


def _tobacco_confidence(note: NoteCoding, offset: int) -> float:
    return SURE if section_at(note, offset) in ("social_history", "past_medical_history", "problem_list") else LESS_SURE


# -- long-term (current) drug therapy (I.C.21.c.3 Z79, I.C.4.a.3) --------------------------------

_DRUG_NAMES = re.compile(r"\b(?:" + "|".join(sorted((re.escape(n) for n in DRUGS), key=len, reverse=True)) + r")\b")
TAKES = re.compile(r"\b(?:on|takes|taking|continue[sd]?|maintained on|chronic|long[- ]term|home|daily|bid|tid|qd|qhs|mg)\b")
NOT_TAKEN = re.compile(
    r"\b(?:allerg\w*|intoleran\w*|stopped|discontinued?|d/c|off|no longer|avoid|not on|never|denies|completed|finished|"
    r"refused|instead of|switched from|was on|given|received|administered|in the ed|loading dose|x ?1|once)\b"
)
NOT_SYSTEMIC = re.compile(r"\b(?:cream|ointment|lotion|topical|gel|drops|ophthalmic|otic|eye|inhaler|inhaled|nasal|spray|"
                          r"patch test|injections?|injected|intra-?articular|epidural)\b")
AS_NEEDED = re.compile(r"\b(?:as needed|prn)\b")
NONE_OF = re.compile(r"\bno\s+(?:\w+\s+)?$")  # "No anticoagulants", "no home insulin"
SHORT_COURSE = re.compile(r"\b(?:(?:dvt|vte|gi|stress ulcer) (?:ppx|prophylaxis)|ppx|taper\w*|burst|dose ?pa(?:c)?k|sliding[- ]scale|ssi|x ?\d+ ?days|for \d+ days|\d+[- ]day course|"
                          r"while (?:on|in|inpatient|hospitali[sz]ed|admitted)|during (?:the |this )?(?:admission|hospitali[sz]ation|stay))\b")
# "insulin-dependent" (IDDM) is not type 1: the Alphabetic Index codes it to the type documented (E11 by default)
# Classes the lexicon knows so that a Z79 code without such a drug leaves, but that are not coded from the
# text alone: a course of antibiotics or NSAIDs is rarely long-term unless the note says so.
EVIDENCE_ONLY = frozenset({"Z79.1", "Z79.2"})
DIABETES_DRUGS = frozenset({"Z79.4", "Z79.84", "Z79.85"})  # insulin, oral and injectable non-insulin antidiabetics
TYPE_1 = re.compile(r"\b(?:type (?:1|i|one) (?:diabetes|dm)|diabetes (?:mellitus )?(?:type )?(?:1|i)\b|t1dm|dm ?(?:type )?(?:1|i)\b|juvenile[- ]onset diabetes|juvenile diabetes)")


_ITEM_BREAK = re.compile(r"[,;]|\.(?!\d)")  # one item of a medication list, one sentence


def drug_statement(note: NoteCoding, start: int, end: int) -> float | None:
    """How sure the drug named at ``start:end`` is taken for the long term: :data:`SURE` in a
    medications section; :data:`LESS_SURE` elsewhere when said to be taken ("on warfarin",
    "continue metformin", a dose) or taken as needed; None for a drug given once ("aspirin given in
    the ED"), stopped, refused, an allergy, a topical or inhaled form, a short course ("prednisone
    taper", "sliding scale insulin", "for 3 days"), or merely named."""
    section = section_at(note, start)
    if section in ("allergies", "family_history"):
        return None
    s, e = sentence_of(note, start, end)
    before = _ITEM_BREAK.split(note.lower[max(s, start - 60):start])[-1]
    after = _ITEM_BREAK.split(note.lower[end:min(e, end + 40)])[0]
    around = before + note.lower[start:end] + after
    if NOT_TAKEN.search(around) or NOT_SYSTEMIC.search(after) or SHORT_COURSE.search(around) or NONE_OF.search(before):
        return None
    if section in MEDICATION_SECTIONS:
        return LESS_SURE if AS_NEEDED.search(after) else SURE
    return LESS_SURE if TAKES.search(around) else None


def drug_uses(note: NoteCoding) -> dict[str, tuple[float, str, int, int]]:
    """Z79 code -> (confidence, drug, start, end) of the surest statement of a drug of its class
    in the note (:func:`drug_statement`)."""
    found: dict[str, tuple[float, str, int, int]] = {}
    for match in _DRUG_NAMES.finditer(note.lower):
        code, _ = DRUGS[match.group()]
        confidence = drug_statement(note, match.start(), match.end())
        if confidence is not None and confidence > found.get(code, (0.0,))[0]:
            found[code] = (confidence, match.group(), match.start(), match.end())
    return found


def long_term_drugs(note: NoteCoding) -> None:
    """Long-term (current) use of a drug is coded by its Z79 code (I.C.21.c.3): anticoagulants
    Z79.01, antiplatelets Z79.02, aspirin Z79.82, insulin Z79.4, oral hypoglycaemics Z79.84,
    injectable non-insulin antidiabetics Z79.85, systemic steroids Z79.52, opiate analgesics
    Z79.891, SERMs Z79.810, aromatase inhibitors Z79.811 (``resources/drugs.tsv``; how sure:
    :func:`drug_statement`). Insulin is not coded when the note says type 1 diabetes, nor when given
    only for a while (sliding scale) (I.C.4.a.3); a patient on insulin and oral agents gets both
    Z79.4 and Z79.84 (I.C.4.a.3).

    The ranker's Z79 codes keep only the evidence that backs them: not a drug of another class
    (clopidogrel read as an anticoagulant, insulin as an antibiotic), not an allergy, not a drug
    given once or for a short course. A Z79 code left with no evidence leaves, and so does one with
    no evidence at all (the note classifier's) when the note names no drug of its class.
    """
    uses = drug_uses(note)
    type1 = TYPE_1.search(note.lower) is not None  # the note's words, not a ranked E10 (often "insulin-dependent")
    gestational = note.documented(("O24.4",))  # its own code says how it is controlled (I.C.15.i)
    unsupported = []
    for line in note.starting(("Z79",), current=False):
        if line.mention_indexes:
            mentions = note.analysis.mentions
            line.mention_indexes = tuple(i for i in line.mention_indexes
                                         if 0 <= i < len(mentions) and _supports(note, mentions[i], line.code))
            if not line.mention_indexes:
                unsupported.append(line)
    for code, (confidence, drug, start, end) in sorted(uses.items()):
        if (code == "Z79.4" and type1) or (code in DIABETES_DRUGS and gestational) or code in EVIDENCE_ONLY or not note.billable(code):
            continue
        cls = next(c for z, c in DRUGS.values() if z == code)
        add_code(note, code, f"long-term use of {cls} ({drug}) (I.C.21.c.3)", confidence=confidence,
                 like=evidence(note, start, end), review=confidence < SURE)
    classes = {code for code, _ in DRUGS.values()}
    for line in note.starting(("Z79",), current=False):
        if line.code == "Z79.4" and type1:
            note.withdraw(line, "insulin is not coded as long-term use in type 1 diabetes (I.C.4.a.3)")
        elif line.code in DIABETES_DRUGS and gestational:
            note.withdraw(line, f"{gestational[0].code} says how the gestational diabetes is controlled: no Z79.4 or "
                          "Z79.84 beside it (I.C.15.i)", because_of=gestational[0])
        elif line.code not in uses and (line in unsupported or (not line.mention_indexes and line.code in classes)):
            note.withdraw(line, "no drug of this class is taken for the long term in the note (I.C.21.c.3)")


def _supports(note: NoteCoding, mention: Mention, code: str) -> bool:
    """Whether a mention can back a Z79 code: a drug of the code's class taken for the long term,
    or words that name no drug of the lexicon ("long-term anticoagulation")."""
    word = mention.text.lower()
    if word not in DRUGS:
        return section_at(note, mention.start) != "allergies"
    return DRUGS[word][0] == code and drug_statement(note, mention.start, mention.end) is not None

