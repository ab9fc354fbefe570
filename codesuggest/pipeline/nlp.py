"""Assembling the pipeline and the one entry point the rest of the system calls.

>>> analyzer = Analyzer.from_settings(get_settings())   # loads code sets / caches once
>>> analysis = analyzer.analyze("Pt with HTN and DM2. Denies chest pain.")
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import spacy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from ..codesets import CodeCatalog

from . import components, senses  # noqa: F401  (registers the factories)
from .assertion import assertion_of
from .sections import section_of, sections_of
from .components import MENTIONS
from .notetext import NotClinicalTextError, check_note_text  # noqa: F401  (callers catch it from here, as EmptyNoteError)
from .resources import ensure_ann_index, ensure_term_index, load_term_index
from .schema import Mention, NoteAnalysis

log = logging.getLogger(__name__)
MAX_TEXT_CHARS = 2_000_000


class EmptyNoteError(ValueError):
    """The note has no text to analyse."""


def build_nlp(
    index_path: Path,
    ann_dir: Path | None = None,
    *,
    abbreviations: bool = True,
    sections: bool = True,
    assertion: bool = True,
    senses: bool = True,
    mentions: dict | None = None,
) -> Language:
    """The spaCy pipeline: sentences, sections, abbreviations, word senses, mentions (+ approximate
    search when ``ann_dir`` is given; ``mentions``: further settings of ``codesuggest_mentions``),
    assertion."""
    nlp = spacy.blank("en")
    nlp.max_length = MAX_TEXT_CHARS + 1
    drop_no_op_space_cases(nlp.tokenizer)
    nlp.add_pipe("codesuggest_sentences")
    if sections:
        nlp.add_pipe("codesuggest_sections")
    if abbreviations:
        nlp.add_pipe("codesuggest_abbreviations")
    if senses:
        nlp.add_pipe("codesuggest_senses")
    nlp.add_pipe("codesuggest_mentions", config={**(mentions or {}), "index_path": str(index_path), "ann_dir": str(ann_dir or "")})
    if assertion:
        nlp.add_pipe("codesuggest_assertion")
    return nlp


def drop_no_op_space_cases(tokenizer: Tokenizer) -> None:
    """Remove the tokenizer's special cases for a lone space, tab or newline: each makes a token
    of itself, as the tokenizer does without them. spaCy stops caching a doc's words once the doc
    has hit a special case (explosion/spaCy#1250), and nearly every note has a newline: with these
    cases gone, the tokenizer takes a quarter of the time for the same tokens."""
    rules = tokenizer.rules or {}
    kept = {text: case for text, case in rules.items() if not (text in (" ", "\t", "\n") and case == [{ORTH: text}])}
    if len(kept) < len(rules):
        tokenizer.rules = kept


class Analyzer:
    """Note text -> :class:`NoteAnalysis`, with the pipeline and its indexes loaded once."""

    def __init__(self, nlp: Language, code_set_versions: dict[str, str]):
        self.nlp = nlp
        self.code_set_versions = dict(code_set_versions)

    @classmethod
    def from_catalog(cls, catalog: CodeCatalog, cache_dir: Path, approximate: bool = False, **options) -> "Analyzer":
        """Build (once per code-set version, cached under ``cache_dir``) and load the indexes."""
        index_path = ensure_term_index(catalog, cache_dir)
        ann_dir = ensure_ann_index(index_path) if approximate else None
        return cls(build_nlp(index_path, ann_dir, **options), catalog.versions)

    @classmethod
    def from_index(cls, index_path: Path, approximate: bool = False, **options) -> "Analyzer":
        """Reuse a built term index without loading the code sets (fast start)."""
        ann_dir = ensure_ann_index(index_path) if approximate else None
        return cls(build_nlp(index_path, ann_dir, **options), load_term_index(str(index_path)).versions)

    @property
    def settings(self) -> dict[str, bool]:
        """The pipeline settings a model's candidates depend on (a trained model records them)."""
        mentions = dict(self.nlp.pipeline).get("codesuggest_mentions")
        return {"approximate_search": getattr(mentions, "approximate", None) is not None}

    def analyze(self, text: str) -> NoteAnalysis:
        text = checked_text(text)
        return self._to_analysis(self.nlp(text), text)

    def analyze_many(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[NoteAnalysis]:
        cleaned = ((text, text) for text in map(checked_text, texts))
        for doc, text in self.nlp.pipe(cleaned, batch_size=batch_size, as_tuples=True):
            yield self._to_analysis(doc, text)

    def _to_analysis(self, doc: Doc, text: str) -> NoteAnalysis:
        """``text`` is the doc's text (``doc.text`` joins every token again: ~0.1 ms a note)."""
        mentions = []
        sentences = list(doc.sents)  # Span.sent walks the doc each time: quadratic on long notes
        sentence_starts = [sent.start for sent in sentences]
        for span in doc.spans.get(MENTIONS, []):
            sent = sentences[bisect.bisect_right(sentence_starts, span.start) - 1]
            mentions.append(
                Mention(
                    text=text[span.start_char : span.end_char],
                    start=span.start_char,
                    end=span.end_char,
                    kind=span.label_,
                    section=section_of(span),
                    sentence_start=sent.start_char,
                    sentence_end=sent.end_char,
                    assertion=assertion_of(span),
                    expanded=span._.expanded,
                    candidates=span._.candidates,
                )
            )
        mentions.sort(key=lambda m: (m.start, m.end, m.kind))
        return NoteAnalysis(
            text=text,
            mentions=tuple(mentions),
            sections=sections_of(doc),
            code_set_versions=self.code_set_versions,
        )


def checked_text(text: str) -> str:
    """:func:`clean_text`, after refusing text that is clearly no clinical note
    (:class:`NotClinicalTextError`: binary, not words, another language), read as it came."""
    cleaned = clean_text(text)
    check_note_text(text)
    return cleaned


def clean_text(text: str) -> str:
    """Validate a note's text once, at the edge.

    Control characters other than tab/newline are replaced by spaces (same
    length, so character offsets still point into the caller's text).
    """
    if not isinstance(text, str):
        raise TypeError(f"note text must be str, not {type(text).__name__}")
    if not text.strip():
        raise EmptyNoteError("the note is empty (no text other than white space)")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"the note has {len(text):,} characters; the pipeline takes at most {MAX_TEXT_CHARS:,}")
    # ASCII by one regex, the rare non-ASCII character on its own: a loop over every character
    # cost ~0.3 ms per note
    text = _ASCII_CONTROL.sub(" ", text)
    return text if text.isascii() else _NON_ASCII.sub(_printable_or_space, text)


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not printable, not tab/newline/CR
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _printable_or_space(match: re.Match[str]) -> str:
    return match.group() if match.group().isprintable() else " "
