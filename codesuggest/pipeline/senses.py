"""Word sense before linking: which sense of an ambiguous abbreviation or short word a note means.

"follow up with PCP" is a primary care provider, not Pneumocystis; "HR 88" is a heart rate, not
a hormone receptor; "97% RA" is room air, not rheumatoid arthritis. The senses and the cues that
choose between them live in ``resources/abbreviation_senses.tsv`` (its header documents the
columns): one row per sense, tried in file order, the first whose conditions hold wins.

The ``codesuggest_senses`` component reads each word of the note that has rows (a dict lookup per
token: no pattern runs over the note) and records the chosen sense in ``doc._.senses``:
``{start_char: Sense}``. The mention matcher then reads the word as the sense says (a long form,
as written, not at all, or only inside a longer term) instead of the table of
``resources/abbreviations.tsv``; an abbreviation the note defines itself ("primary care
provider (PCP)") still wins over both.
"""

# No `from __future__ import annotations`: spaCy validates factory signatures at runtime.

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import islice
from typing import Iterable, Optional

import numpy
from spacy.attrs import LOWER, ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .matcher import AS_WRITTEN, INSIDE_ONLY, NOT_A_MENTION  # noqa: F401  (the expansions that are no long form)
from .sections import section_of

SENSES_FILE = "resources/abbreviation_senses.tsv"
_COLUMNS = ("form", "sense", "expansion", "sections", "before", "after", "sentence", "number")
_NUMBER_CUES = frozenset({"", "after", "before", "no"})
# skipped between a word and the number that follows it ("Creatinine of 1.6", "HR: 88")
_NUMBER_FILLERS = frozenset(
    ": = - ~ of was is at level now today to from up down increased elevated rose peaked improved trended".split()
)
# dropped from the words before a word ("follow-up with PCP", "f/u, PCP")
_SKIPPED_BEFORE = frozenset({",", ";", ".", "(", ")", "-", '"', "'"})
_LOOK_BEFORE = 4
_LOOK_AFTER = 3

if not Doc.has_extension("senses"):
    Doc.set_extension("senses", default=None)


@dataclass(frozen=True, slots=True)
class Sense:
    """One row of the sense table: a sense of ``form`` and when a note means it."""

    form: str
    sense: str
    expansion: str  # a long form, AS_WRITTEN, NOT_A_MENTION or INSIDE_ONLY
    sections: frozenset[str] = frozenset()
    before: tuple[tuple[str, ...], ...] = ()
    after: tuple[tuple[str, ...], ...] = ()
    sentence: frozenset[str] = frozenset()
    number: str = ""

    def applies(self, context: "WordContext") -> bool:
        if self.sections and context.section not in self.sections:
            return False
        if self.before and not any(context.before[-len(p):] == p for p in self.before if len(p) <= len(context.before)):
            return False
        if self.after and not any(context.after[: len(p)] == p for p in self.after):
            return False
        if self.sentence and self.sentence.isdisjoint(context.sentence_words()):
            return False
        if self.number == "after" and not context.number_after:
            return False
        if self.number == "before" and not context.number_before:
            return False
        if self.number == "no" and (context.number_after or context.number_before):
            return False
        return True


@dataclass(slots=True)
class WordContext:
    """What the rules look at around one word: its section, the words right before and after it
    (lower case), whether a number precedes or follows it, and the other words of its sentence."""

    section: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    number_before: bool
    number_after: bool
    sentence: Iterable[str] = ()
    _sentence_set: Optional[frozenset[str]] = None

    def sentence_words(self) -> frozenset[str]:
        if self._sentence_set is None:
            self._sentence_set = frozenset(self.sentence)
        return self._sentence_set


class SenseTable:
    """The rows of the sense table by form: upper- and mixed-case forms match as written, lower-case
    forms match in any case."""

    def __init__(self, rows: Iterable[Sense]):
        self.exact: dict[str, list[Sense]] = {}
        self.any_case: dict[str, list[Sense]] = {}
        self._ids: tuple[numpy.ndarray, numpy.ndarray] | None = None
        for row in rows:
            table = self.any_case if row.form.islower() else self.exact
            table.setdefault(row.form, []).append(row)

    @classmethod
    def parse(cls, text: str) -> "SenseTable":
        return cls(_parse_row(line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#"))

    def word_ids(self, strings) -> tuple[numpy.ndarray, numpy.ndarray]:
        """The spaCy string ids (``ORTH``, ``LOWER``) of the forms, for a doc's ``StringStore``."""
        if self._ids is None:
            self._ids = (
                numpy.array([strings.add(f) for f in self.exact], dtype="uint64"),
                numpy.array([strings.add(f) for f in self.any_case], dtype="uint64"),
            )
        return self._ids

    def rows_for(self, word: str) -> list[Sense] | None:
        rows = self.exact.get(word)
        if rows is None and self.any_case:
            rows = self.any_case.get(word.lower())
        return rows

    @staticmethod
    def choose(rows: list[Sense], context: WordContext) -> Sense | None:
        """The first row whose conditions hold (``None``: no row does, the word keeps its reading)."""
        for row in rows:
            if row.applies(context):
                return row
        return None


def _phrases(cell: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.lower().split()) for p in cell.split(",") if p.strip())


def _parse_row(line: str, number: int) -> Sense:
    cells = line.split("\t")
    if len(cells) != len(_COLUMNS):
        raise ValueError(f"{SENSES_FILE} line {number}: {len(cells)} columns, expected {len(_COLUMNS)} ({', '.join(_COLUMNS)})")
    form, sense, expansion, sections, before, after, sentence, number_cue = (c.strip() for c in cells)
    if not form or not sense or not expansion:
        raise ValueError(f"{SENSES_FILE} line {number}: form, sense and expansion are required")
    if number_cue not in _NUMBER_CUES:
        raise ValueError(f"{SENSES_FILE} line {number}: number must be one of {sorted(_NUMBER_CUES)}, not {number_cue!r}")
    return Sense(
        form=form,
        sense=sense,
        expansion=expansion,
        sections=frozenset(s.strip() for s in sections.split(",") if s.strip()),
        before=_phrases(before),
        after=_phrases(after),
        sentence=frozenset(w.strip().lower() for w in sentence.split(",") if w.strip()),
        number=number_cue,
    )


@lru_cache(maxsize=4)
def load_sense_table(path: str = "") -> SenseTable:
    """The packaged table, or the file at ``path``."""
    if path:
        with open(path, encoding="utf-8") as f:
            return SenseTable.parse(f.read())
    return SenseTable.parse(resources.files(__package__).joinpath(SENSES_FILE).read_text(encoding="utf-8"))


def _is_number(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] in ".+-<>~" and len(text) > 1 and text[1].isdigit()))


def word_context(doc: Doc, i: int, sent: Span) -> WordContext:
    """The context of ``doc[i]`` within its sentence ``sent``."""
    before: list[str] = []
    k = i - 1
    while k >= sent.start and len(before) < _LOOK_BEFORE:
        t = doc[k]
        if not t.is_space and t.text not in _SKIPPED_BEFORE:
            before.append(t.lower_)
        k -= 1
    before.reverse()
    after: list[str] = []
    number_after = False
    k = i + 1
    while k < sent.end and len(after) < _LOOK_AFTER:
        t = doc[k]
        if not t.is_space:
            after.append(t.lower_)
        k += 1
    for word in after:
        if _is_number(word):
            number_after = True
            break
        if word not in _NUMBER_FILLERS:
            break
    previous_two = list(islice((doc[k].text for k in range(i - 1, sent.start - 1, -1) if not doc[k].is_space), 2))
    # "3-hr GTT": the number before a hyphen precedes the word too
    previous = previous_two[-1] if previous_two[:1] == ["-"] else (previous_two[0] if previous_two else "")
    return WordContext(
        section=section_of(doc[i]),
        before=tuple(before),
        after=tuple(after),
        number_before=previous == "%" or _is_number(previous),
        number_after=number_after,
        sentence=(t.lower_ for t in sent if t.i != i and not t.is_space),
    )


def choose_senses(doc: Doc, table: SenseTable) -> dict[int, Sense]:
    """``{start_char: Sense}`` for the words of ``doc`` whose sense the table decides. The words
    the table has rows for are found in one array operation over the doc's word ids; sentences
    are looked up for those words only."""
    if not len(doc):
        return {}
    exact, any_case = table.word_ids(doc.vocab.strings)
    ids = doc.to_array([ORTH, LOWER])
    hits = numpy.flatnonzero(numpy.isin(ids[:, 0], exact) | numpy.isin(ids[:, 1], any_case))
    if not len(hits):
        return {}
    sentences = list(doc.sents)
    starts = [sent.start for sent in sentences]
    chosen: dict[int, Sense] = {}
    for i in hits.tolist():
        token = doc[i]
        rows = table.rows_for(token.text)
        if rows is None:
            continue
        sent = sentences[bisect_right(starts, i) - 1]
        sense = table.choose(rows, word_context(doc, i, sent))
        if sense is not None:
            chosen[token.idx] = sense
    return chosen


class SenseChooser:
    """Records in ``doc._.senses`` the sense of each word the sense table covers."""

    def __init__(self, table: SenseTable):
        self.table = table

    def __call__(self, doc: Doc) -> Doc:
        doc._.senses = choose_senses(doc, self.table)
        return doc


@Language.factory("codesuggest_senses", default_config={"senses_path": ""})
def make_sense_chooser(nlp: Language, name: str, senses_path: str) -> SenseChooser:
    """``senses_path``: a sense table of one's own (empty: the packaged one)."""
    return SenseChooser(load_sense_table(senses_path))


def sense_of(token: Token) -> Sense | None:
    """The sense the component chose for ``token`` (``None``: the table has no say on it)."""
    senses = token.doc._.senses
    return senses.get(token.idx) if senses else None
