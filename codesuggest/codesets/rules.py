"""Code-set quality checks before billing: official ICD-10-CM conventions applied to one note's codes.

Each check is a small named rule in :data:`RULES`; :func:`check_codes` runs
them (all, or the ones a caller names) and returns :class:`Finding` objects::

    findings = check_codes([("ICD10CM", "E11.22"), ("ICD10CM", "N18.30")], catalog)

Notes written on a category, block or chapter apply to every code below it
(E11's Excludes1 note covers E11.22): the rules read each code's own notes,
its ancestors' (:meth:`CodeCatalog.ancestors`) and those of the blocks and
chapter above its category (from ``simple-icd-10-cm``; they are not codes).

What the rules do not do: they do not judge sequencing (which code is
listed first), the Excludes1 exception for unrelated conditions (coding
guideline I.A.12.a), or negation in the note text. Companion-code
suggestions from the note text are word matches for a coder to confirm.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from weakref import WeakKeyDictionary

from .catalog import CodeCatalog
from .records import Code, CodeSystem, InvalidCode, normalize_code
from .references import CodeRef, codes_in, compact, parse_references, references_text

Severity = Literal["error", "warning"]
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class Finding:
    """One problem with a code set: which rule, how bad, which codes, and what to use instead."""

    rule: str
    severity: Severity
    codes: tuple[str, ...]
    message: str
    suggestions: tuple[str, ...] = ()
    system: str = CodeSystem.ICD10CM.value

    def to_dict(self) -> dict:
        return {
            "rule": self.rule, "severity": self.severity, "system": self.system,
            "codes": list(self.codes), "message": self.message, "suggestions": list(self.suggestions),
        }


# -- the code set as the rules see it ---------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One input code after normalisation: ``record`` is the catalogue's code when it is known."""

    raw: str
    system: CodeSystem | None
    code: str | None  # normalised, None when the string is not a code of ``system``
    record: Code | None
    problem: str | None = None  # why it could not be normalised

    @property
    def label(self) -> str:
        return self.code or self.raw


@dataclass
class CodeSet:
    """What every rule receives: the entries (input order, duplicates kept), the catalogue, the note."""

    entries: list[Entry]
    catalog: CodeCatalog
    note_text: str | None = None
    _seventh: dict[str, "SeventhCharacter | None"] = field(default_factory=dict)
    _text: tuple[list[str], set[str], set[tuple[str, str]]] | None = None

    @property
    def known(self) -> list[Entry]:
        """Entries found in the catalogue, each code once."""
        seen: set[tuple[str, str]] = set()
        out = []
        for e in self.entries:
            if e.record is not None and e.record.key not in seen:
                seen.add(e.record.key)
                out.append(e)
        return out

    @property
    def text_tokens(self) -> tuple[list[str], set[str], set[tuple[str, str]]]:
        """The note's tokens, words and word pairs, tokenised once for every rule and code."""
        if self._text is None:
            tokens = _tokens(self.note_text or "")
            self._text = (tokens, set(tokens), set(zip(tokens, tokens[1:])))
        return self._text

    def seventh_character(self, entry: Entry) -> "SeventhCharacter | None":
        if entry.system is not CodeSystem.ICD10CM or entry.code is None:
            return None
        if entry.code not in self._seventh:
            self._seventh[entry.code] = _seventh_character(self.catalog, entry)
        return self._seventh[entry.code]


def parse_codes(text: str, system: CodeSystem | str = CodeSystem.ICD10CM) -> list[tuple[str, str]]:
    """Split ``"E11.22, E11 S72.001"`` (commas, semicolons, white space, new lines) into (system, code) pairs."""
    system = system.value if isinstance(system, CodeSystem) else str(system)
    return [(system, c) for c in re.split(r"[\s,;]+", text) if c]


def _pair(item: object) -> tuple[object, object]:
    if isinstance(item, str):
        return CodeSystem.ICD10CM, item
    try:
        system, raw = item  # type: ignore[misc]
    except (TypeError, ValueError):
        return "", item
    return system, raw


def _entry(catalog: CodeCatalog, system: object, raw: object) -> Entry:
    raw = str(raw).strip()
    try:
        sys_ = system if isinstance(system, CodeSystem) else CodeSystem.parse(str(system))
    except ValueError as exc:
        return Entry(raw, None, None, None, str(exc))
    try:
        code = normalize_code(sys_, raw)
    except InvalidCode as exc:
        return Entry(raw, sys_, None, None, str(exc))
    return Entry(raw, sys_, code, catalog.get(sys_, code))


# -- registry ---------------------------------------------------------------------

RuleFunc = Callable[[CodeSet], Iterable[Finding]]
RULES: dict[str, RuleFunc] = {}


def rule(name: str) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule under ``name`` (the name its findings carry)."""

    def register(func: RuleFunc) -> RuleFunc:
        RULES[name] = func
        return func

    return register


def check_codes(
    codes: Iterable[tuple[CodeSystem | str, str] | str],
    catalog: CodeCatalog,
    note_text: str | None = None,
    rules: Iterable[str] | None = None,
) -> list[Finding]:
    """Run the named rules (default: all of :data:`RULES`, in registry order) on one note's codes.

    ``codes`` are (system, code) pairs in any spelling (``("icd10cm", "e1122")``);
    a bare string is an ICD-10-CM code. Strings that are not codes become
    ``unknown_code`` findings. Raises ``ValueError`` only for an unknown rule name.
    """
    names = list(RULES) if rules is None else list(rules)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)} (known: {', '.join(RULES)})")
    entries = [_entry(catalog, *_pair(item)) for item in codes]
    code_set = CodeSet(entries, catalog, note_text or None)
    findings: list[Finding] = []
    for name in names:
        findings.extend(RULES[name](code_set))
    return findings


# -- unknown_code -----------------------------------------------------------------


@rule("unknown_code")
def unknown_code(cs: CodeSet) -> Iterator[Finding]:
    """Strings that are not codes, and codes not in the loaded code-set version."""
    loaded = {s.value for s in cs.catalog.systems}
    for e in _unique(cs.entries):
        if e.system is None or e.code is None:
            yield Finding("unknown_code", "error", (e.raw,), f"{e.raw!r}: {e.problem}",
                          system=e.system.value if e.system else "")
            continue
        if e.record is not None or cs.seventh_character(e) is not None or _pcs_prefix_codes(cs, e):
            continue
        system = e.system.value
        if system not in loaded:
            yield Finding("unknown_code", "warning", (e.code,),
                          f"{e.code}: {system} codes are not loaded, so it cannot be checked", system=system)
            continue
        version = cs.catalog.versions.get(system, system)
        message = f"{e.code} is not a code in {version}"
        suggestions: tuple[str, ...] = ()
        if e.system is CodeSystem.ICD10CM:
            parent = _nearest_existing(cs.catalog, e.code)
            if parent is not None:
                message += f" (retired or mistyped? {parent.code} {parent.description!r} exists)"
                suggestions = tuple(_billable_below(cs, parent))
        yield Finding("unknown_code", "error", (e.code,), message, suggestions, system)


def _nearest_existing(catalog: CodeCatalog, code: str) -> Code | None:
    flat = compact(code)
    for n in range(len(flat) - 1, 2, -1):
        probe = flat[:n]
        found = catalog.get(CodeSystem.ICD10CM, probe)
        if found is not None:
            return found
    return None


# -- not_billable -----------------------------------------------------------------


@rule("not_billable")
def not_billable(cs: CodeSet) -> Iterator[Finding]:
    """A category or subcategory (E11, E11.2) where a billable code (E11.22) is required;
    an ICD-10-PCS code shorter than 7 characters."""
    for e in _unique(cs.entries):
        if e.record is not None and not e.record.billable and cs.seventh_character(e) is None:
            below = _billable_below(cs, e.record)
            yield Finding(
                "not_billable", "error", (e.code,),
                f"{e.code} ({e.record.description}) is a header, not a billable code: "
                f"use a code below it, e.g. {', '.join(below[:3])}",
                tuple(below), e.system.value,
            )
        elif e.record is None and (codes := _pcs_prefix_codes(cs, e)):
            yield Finding(
                "not_billable", "error", (e.code,),
                f"{e.code} is an ICD-10-PCS prefix; a billable PCS code has 7 characters "
                f"({len(codes)} codes start with {e.code})",
                tuple(codes[:MAX_SUGGESTIONS]), e.system.value,
            )


def _pcs_prefix_codes(cs: CodeSet, e: Entry) -> list[str]:
    if e.system is not CodeSystem.ICD10PCS or e.code is None or len(e.code) >= 7:
        return []
    return cs.catalog.with_prefix(CodeSystem.ICD10PCS, e.code)


def _billable_below(cs: CodeSet, parent: Code) -> list[str]:
    """A few billable codes under ``parent``, best first: words shared with the note text, then the
    shallowest codes in code order (the "unspecified" or "other" codes are usually there)."""
    below = [
        c for c in cs.catalog.with_prefix(parent.system, parent.code)
        if c != parent.code and (rec := cs.catalog.get(parent.system, c)) is not None and rec.billable
    ]
    present = {e.code for e in cs.entries}
    _, text_words, text_pairs = cs.text_tokens
    stems = _stems(text_words)
    denied = {word for before, word in text_pairs if before in _NOTE_NEGATIONS}

    def key(code: str) -> tuple:
        rec = cs.catalog.get(parent.system, code)
        overlap = 0
        if rec and text_words:
            tokens = _description_tokens(rec.description)
            overlap = _words_agreeing(tokens, text_words, stems, denied)
            overlap += _abbreviated_sides(set(tokens), text_words, text_pairs)
        return (code not in present, -overlap, len(code), code)

    return sorted(below, key=key)[:MAX_SUGGESTIONS]


_NOTE_NEGATIONS = frozenset({"no", "without", "denies"})
# where a title's "without ..." stops: "without foreign body of left index finger" denies no finger
_NEGATION_ENDS = frozenset({"with", "of", "due", "in", "on", "at"})


def _words_agreeing(title: tuple[str, ...], text_words: set[str], stems: set[str], denied: set[str]) -> int:
    """How many content words of a title the note says as the title does: a word the title's
    "without" denies counts when the note denies it too ("without hematuria"), against the title when the
    note says it ("Acute cystitis without hematuria" for "cystitis with gross hematuria"); filler
    such as "with" counts for none (every note says it). ``stems``: ``_stems`` of the note's words;
    ``denied``: the words it puts right after "no", "without" or "denies"."""
    agree, negated = 0, False
    for word in title:
        if word == "without":
            negated = True
        elif word in _NEGATION_ENDS:
            negated = False
        elif word in _STOP or not (word in text_words or (len(word) >= 7 and word[:7] in stems)):
            continue
        elif negated:
            agree += 1 if word in denied else -1
        elif word not in denied:
            agree += 1
    return agree


def _stems(words: set[str]) -> set[str]:
    """The first seven letters of the long words: "adenomas" says "adenomatous", "hypertension" no
    "hypertrophy"."""
    return {w[:7] for w in words if len(w) >= 7}


_SIDE_ABBREVIATIONS = {"l": "left", "lt": "left", "r": "right", "rt": "right"}


def _abbreviated_sides(words: set[str], text_words: set[str], text_pairs: set[tuple[str, str]]) -> int:
    """1 when the note gives a side of ``words`` (a code's title) only as an abbreviation right before
    a word of that title ("L index finger" for "... of left index finger"): a bare "l" or "r" is
    no side ("r/o", "2 L")."""
    return int(any(
        side in words and side not in text_words and word in words and word not in _STOP
        for short, word in text_pairs if (side := _SIDE_ABBREVIATIONS.get(short))
    ))


# -- seventh_character ------------------------------------------------------------


@dataclass(frozen=True)
class SeventhCharacter:
    """A code complete but for its 7th character: where the characters are defined and the valid ones."""

    base: str  # the code with its placeholder X's, e.g. S02.0XX
    defined_at: str
    options: tuple[tuple[str, str, str], ...]  # (character, meaning, full code)


def _seventh_character(catalog: CodeCatalog, e: Entry) -> SeventhCharacter | None:
    assert e.code is not None
    if e.record is not None and e.record.billable:
        return None
    flat = compact(e.code)
    if len(flat) >= 7:
        return None
    definition = None
    for n in range(len(flat), 2, -1):
        anchor = catalog.get(CodeSystem.ICD10CM, flat[:n])
        if anchor is not None:
            for c in [anchor, *catalog.ancestors(anchor)]:
                if c.seventh_characters:
                    definition = c
                    break
            break
    if definition is None:
        return None
    padded = flat.ljust(6, "X")
    base = f"{padded[:3]}.{padded[3:]}"
    options = tuple(
        (ch, meaning, full)
        for ch, meaning in definition.seventh_characters
        if catalog.get(CodeSystem.ICD10CM, full := base + ch) is not None
    )
    if not options:
        return None
    return SeventhCharacter(base, definition.code, options)


@rule("seventh_character")
def seventh_character(cs: CodeSet) -> Iterator[Finding]:
    """Injury, fracture, poisoning, pregnancy ... codes that need a 7th character (and placeholder X's)."""
    for e in _unique(cs.entries):
        if e.code is None or (seventh := cs.seventh_character(e)) is None:
            continue
        placeholder = (
            f"; fill with the placeholder X up to 6 characters ({seventh.base})" if seventh.base != e.code else ""
        )
        meanings = "; ".join(f"{ch} = {' '.join(meaning.split())}" for ch, meaning, _ in seventh.options)
        yield Finding(
            "seventh_character", "error", (e.code,),
            f"{e.code} needs a 7th character{placeholder} (defined at {seventh.defined_at}): {meanings}",
            tuple(full for _, _, full in seventh.options), e.system.value,
        )


# -- excludes1_conflict -----------------------------------------------------------


@rule("excludes1_conflict")
def excludes1_conflict(cs: CodeSet) -> Iterator[Finding]:
    """Two codes where an Excludes1 note ("NOT CODED HERE") of one, or of a category/block above it,
    names the other: the two are never coded together."""
    cm = [e for e in cs.known if e.system is CodeSystem.ICD10CM]
    reported: set[frozenset[str]] = set()
    for a in cm:
        refs = [
            (owner, note, ref)
            for owner, note in inherited_notes(cs.catalog, a.record, "excludes1")
            for ref in parse_references(note) if ref.exact
        ]
        for b in cm:
            if a is b or not refs or _related(a.code, b.code) or frozenset((a.code, b.code)) in reported:
                continue
            for owner, note, ref in refs:
                if ref.covers(b.code):
                    reported.add(frozenset((a.code, b.code)))
                    where = "" if owner == a.code else f" (note at {owner})"
                    yield Finding(
                        "excludes1_conflict", "error", (a.code, b.code),
                        f"{a.code} and {b.code} are not coded together: Excludes1 of {a.code}{where}: "
                        f"{' '.join(note.split())!r}",
                    )
                    break


def _related(a: str, b: str) -> bool:
    fa, fb = compact(a), compact(b)
    return fa.startswith(fb) or fb.startswith(fa)


# -- companion_code ---------------------------------------------------------------

_NOTE_FIELDS = {"code_first": "code first", "use_additional": "use additional", "code_also": "code also"}
_STOP = set(
    "a an and any as associated by code codes first for from identify if known of or other the to type use "
    "using additional also applicable such specific underlying stage severity with without in on "
    "condition conditions disease diseases".split()
)

# words of code titles that never identify a condition in a note's text on their own
_GENERIC = set(
    "due encounter history personal unspecified unsp specified elsewhere classified nos nec initial "
    "subsequent sequela status long term current".split()
)


@dataclass(frozen=True)
class _Instruction:
    field: str
    owner: str
    text: str
    refs: tuple[CodeRef, ...]


@lru_cache(maxsize=8192)
def _instructions(field_: str, owner: str, note: str) -> tuple[_Instruction, ...]:
    """Split a note into instructions: a line starting with "code" starts a new one; the lines
    after a header ending in ":" are its alternatives. (Cached: the same notes come up note after note.)"""
    groups: list[list[str]] = []
    for line in note.splitlines():
        line = line.strip()
        if not line:
            continue
        if not groups or re.match(r"code\b", line, re.IGNORECASE):
            groups.append([line])
        else:
            groups[-1].append(line)
    out = []
    for lines in groups:
        text = "\n".join(lines)
        refs = parse_references(text)
        if refs:
            out.append(_Instruction(field_, owner, text, refs))
    return tuple(out)


@rule("companion_code")
def companion_code(cs: CodeSet) -> Iterator[Finding]:
    """"Code first", "use additional code" and "code also" notes with no matching code in the set.

    Reported without the note text only when the note is certainly due: a manifestation code
    ("... in diseases classified elsewhere") needs its underlying disease, and a note that
    identifies something the code's own title already states (E11.22, "... with diabetic chronic
    kidney disease": "use additional code to identify stage of chronic kidney disease") needs its
    code. Other notes ("if applicable", "control using insulin") are reported only when the note
    text mentions one of the codes they name.
    """
    reported: dict[tuple[str, str], int] = {}
    findings: list[Finding] = []
    cm = [e for e in cs.known if e.system is CodeSystem.ICD10CM]
    for e in cm:
        others = [o for o in cm if o is not e]
        for field_ in _NOTE_FIELDS:
            for owner, note in inherited_notes(cs.catalog, e.record, field_):
                for ins in _instructions(field_, owner, note):
                    if _satisfied(ins, e, others):
                        continue
                    required = _required(ins, e.record)
                    suggestions = _from_text(cs, ins, required) if cs.note_text else ()
                    if not required and not suggestions:
                        continue
                    key = (owner, ins.text)
                    if key in reported:  # the same inherited note for a second code of the set
                        i = reported[key]
                        findings[i] = _with_code(findings[i], e.code)
                        continue
                    reported[key] = len(findings)
                    findings.append(_companion_finding(e, ins, required, suggestions))
    return findings


def _companion_finding(e: Entry, ins: _Instruction, required: bool, suggestions: tuple[str, ...]) -> Finding:
    wording = " ".join(ins.text.split()).lstrip(", ")
    where = "" if ins.owner == e.code else f" (note at {ins.owner})"
    message = f"{e.code}: {_NOTE_FIELDS[ins.field]} {wording}{where}; no code from {references_text(ins.refs)} in the set"
    if suggestions:
        message += f"; the note text supports {', '.join(suggestions)}"
    severity: Severity = "error" if required and ins.field == "code_first" else "warning"
    return Finding("companion_code", severity, (e.code,), message, suggestions)


def _with_code(f: Finding, code: str) -> Finding:
    return Finding(f.rule, f.severity, (*f.codes, code), f.message, f.suggestions, f.system)


def _is_manifestation(code: Code) -> bool:
    return "in diseases classified elsewhere" in code.description.lower()


def _satisfied(ins: _Instruction, e: Entry, others: list[Entry]) -> bool:
    if any(ref.covers(o.code, strict=ref.exact) for ref in ins.refs for o in others):
        return True
    # "code first underlying disease, such as: ..." lists examples: any other (etiology) code will do
    if "such as" in ins.text and ins.field == "code_first":
        return any(not _is_manifestation(o.record) for o in others)
    return False


def _required(ins: _Instruction, code: Code) -> bool:
    if ins.field == "code_first":
        return _is_manifestation(code)
    if ins.field == "use_additional":
        if re.search(r"\bif (applicable|known|present)\b", ins.text):
            return False
        prose = re.sub(r"\([^()]*\)", " ", ins.text)
        wanted = _words(prose) - _STOP
        return len(wanted) >= 2 and wanted <= _words(code.description)
    return False


def _from_text(cs: CodeSet, ins: _Instruction, required: bool) -> tuple[str, ...]:
    """Billable codes named by the note whose identifying description words (or word pairs) appear
    in the text: words found in one candidate only ("3" and "stage 3" among N18.1-N18.6, "insulin"
    among Z79.4, Z79.84, Z79.85), so that shared words ("drugs", "kidney") never decide."""
    assert cs.note_text is not None
    named = _candidates(cs.catalog, ins.refs)
    present = {e.code for e in cs.entries}
    if named is not None and not named.codes.isdisjoint(present):  # count words without the coded ones
        named = _Candidates.of([c for c in named.candidates if c.code not in present])
    if named is None or not named.candidates:
        return ()
    _, text_words, text_pairs = cs.text_tokens
    word_df, pair_df = named.word_df, named.pair_df
    scored = []
    for c in named.candidates:
        identifying = {w for w in c.words if word_df[w] == 1} - _GENERIC
        hit_words = identifying & text_words
        hit_pairs = {p for p in c.pairs & text_pairs if pair_df[p] == 1 and not set(p) <= _STOP | _GENERIC}
        strong = hit_pairs or any(w.isalpha() and len(w) > 2 for w in hit_words)
        # most of what sets the code apart must be in the text, not one word of five
        if not strong or not identifying or (len(hit_words) + len(hit_pairs)) / len(identifying) <= 0.5:
            continue
        # a note that may not apply ("if applicable") needs most of the code's title in the text
        content = c.words - _GENERIC
        if not required and len(content & text_words) < 0.6 * len(content):
            continue
        scored.append(((len(hit_pairs), len(hit_words)), c.code))
    if not scored:
        return ()
    best = max(s for s, _ in scored)
    return tuple(code for s, code in scored if s == best)[:MAX_SUGGESTIONS]


@dataclass(frozen=True)
class _Candidate:
    """A billable code an instruction names: its description's words (stop words out) and word pairs."""

    code: str
    words: frozenset[str]
    pairs: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class _Candidates:
    """The billable codes an instruction names, and in how many of them each word and word pair occurs."""

    candidates: tuple[_Candidate, ...]
    codes: frozenset[str]
    word_df: Counter[str]
    pair_df: Counter[tuple[str, str]]

    @classmethod
    def of(cls, candidates: list[_Candidate]) -> _Candidates:
        return cls(
            tuple(candidates), frozenset(c.code for c in candidates),
            Counter(w for c in candidates for w in c.words), Counter(p for c in candidates for p in c.pairs),
        )


# per catalogue (a CDC file may differ from the package), per instruction's references: a few
# hundred distinct reference lists in ICD-10-CM, so the cache stays small
_CANDIDATES: WeakKeyDictionary[CodeCatalog, dict[tuple[CodeRef, ...], _Candidates | None]] = WeakKeyDictionary()


def _candidates(catalog: CodeCatalog, refs: tuple[CodeRef, ...]) -> _Candidates | None:
    """The billable codes ``refs`` cover, in tabular order (``None`` when one covers too many), once
    per catalogue: walking the tabular list for them was most of the checks' time on every note."""
    cache = _CANDIDATES.setdefault(catalog, {})
    if refs not in cache:
        cache[refs] = _covered_billable(catalog, refs)
    return cache[refs]


def _covered_billable(catalog: CodeCatalog, refs: tuple[CodeRef, ...]) -> _Candidates | None:
    found: dict[str, _Candidate] = {}
    for ref in refs:
        covered = codes_in(ref, limit=300)
        if covered is None:
            return None
        for c in covered:
            rec = catalog.get(CodeSystem.ICD10CM, c)
            if rec is not None and rec.billable and rec.code not in found:
                tokens = _description_tokens(rec.description)
                found[rec.code] = _Candidate(rec.code, frozenset(tokens) - _STOP, frozenset(zip(tokens, tokens[1:])))
    return _Candidates.of(list(found.values()))


# -- redundant_specificity --------------------------------------------------------


@rule("redundant_specificity")
def redundant_specificity(cs: CodeSet) -> Iterator[Finding]:
    """The same condition coded twice: a code and a code below it (E11 and E11.9), or a code twice."""
    valid = [e for e in cs.entries if e.code is not None and e.system is not None]
    seen: set[tuple[str, str]] = set()
    for e in valid:
        key = (e.system.value, e.code)
        if key in seen:
            continue
        seen.add(key)
        if sum(1 for o in valid if (o.system, o.code) == (e.system, e.code)) > 1:
            yield Finding("redundant_specificity", "warning", (e.code,), f"{e.code} is listed more than once",
                          (e.code,), e.system.value)
    done: set[tuple[str, str]] = set()
    for a in valid:
        for b in valid:
            if a.system is not b.system or a.system is CodeSystem.CPT or a.code == b.code:
                continue
            if compact(b.code).startswith(compact(a.code)) and (a.code, b.code) not in done:
                done.add((a.code, b.code))
                yield Finding(
                    "redundant_specificity", "warning", (a.code, b.code),
                    f"{a.code} and {b.code} are the same code at two levels of detail: keep {b.code}, drop {a.code}",
                    (b.code,), a.system.value,
                )


# -- helpers ----------------------------------------------------------------------


def inherited_notes(catalog: CodeCatalog, code: Code, field_: str) -> list[tuple[str, str]]:
    """(owner, note) for one kind of note (``excludes1``, ``use_additional``, ...): the code's own,
    its ancestors', then its block(s) and chapter."""
    out = [(code.code, n) for n in getattr(code, field_)]
    chain = catalog.ancestors(code)
    for anc in chain:
        out += [(anc.code, n) for n in getattr(anc, field_)]
    category = (chain[-1] if chain else code).code
    out += list(catalog.block_notes.of(category, field_))
    return out


_TOKEN_RE = re.compile(r"non-[a-z0-9]+|[a-z0-9]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


@lru_cache(maxsize=32768)
def _description_tokens(description: str) -> tuple[str, ...]:
    """Tokens of a code description (a bounded cache: the same descriptions come up note after note)."""
    return tuple(_tokens(description))


def _words(text: str) -> set[str]:
    return set(_tokens(text))


def _unique(entries: list[Entry]) -> Iterator[Entry]:
    seen: set[tuple[str, str]] = set()
    for e in entries:
        key = (e.system.value if e.system else "", e.code or e.raw)
        if key not in seen:
            seen.add(key)
            yield e


__all__ = [
    "CodeSet", "Entry", "Finding", "RULES", "SeventhCharacter", "check_codes",
    "inherited_notes", "parse_codes", "rule",
]
