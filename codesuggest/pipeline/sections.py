"""Section detection: medspaCy's Sectionizer with the headers real notes use.

Registered as the spaCy factory ``codesuggest_sections``. Every token gets
medspaCy's ``Token._.section`` (a :class:`medspacy.section_detection.Section`
or ``None``); :func:`section_of` turns that into one of
:data:`SECTION_CATEGORIES` or ``"unknown"``.

A header counts when

* it is followed by ``:`` anywhere in a line ("SUBJECTIVE: cough. ASSESSMENT:
  bronchitis. PLAN: rest", also comma-separated), or
* it stands alone on its own line ("HISTORY OF PRESENT ILLNESS" + newline).

Ambiguous short headers ("CC", "PE", "Exam", "History", "Course", ...) need
the start of a line; the SOAP letters "S:", "O:", "A:", "P:" and "A/P:" need
the start of a line or a preceding ``.``, ``,`` or ``;`` ("CT A/P:" is a CT of
the abdomen and pelvis). Notes without headers (case reports such as CodiEsp)
are one section of category ``"unknown"``.
"""

# No `from __future__ import annotations`: spaCy validates factory signatures at runtime.

import json
import re
from pathlib import Path
from typing import Iterable

from medspacy.section_detection import SectionRule, Sectionizer
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

RULES_PATH = Path(__file__).with_name("resources") / "section_rules.json"
UNKNOWN = "unknown"

_NEWLINE = re.compile(r"[\n\r]+\s*$")
_SEPARATORS = {".", ",", ";"}

# How a header must sit in its line (SectionRule.metadata["position"]).
_ANYWHERE = "anywhere"  # "<header>:" anywhere
_LINE_START = "line_start"  # at the start of a line
_AFTER_BREAK = "after_break"  # at the start of a line or after . , ;
_OWN_LINE = "own_line"  # alone on its line


def _load_sections(path: Path) -> tuple[dict[str, list[str]], set[str], set[str], set[str]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return (data["sections"], set(data.get("line_only", ())), set(data.get("soap_letters", ())),
            set(data.get("after_break", ())))


SECTION_CATEGORIES: tuple[str, ...] = tuple(_load_sections(RULES_PATH)[0])


def build_section_rules(path: Path | str = RULES_PATH) -> list[SectionRule]:
    """SectionRules (phrase literals, matched on LOWER) for every header phrase of the resource file.

    Each phrase gives a "<phrase>:" rule and, except for the SOAP letters, a bare
    "<phrase>" rule that only counts when it fills its line (see ``_PositionalSectionizer``).
    """
    sections, line_only, letters, after_break = _load_sections(Path(path))
    rules: list[SectionRule] = []
    for category, phrases in sections.items():
        for phrase in phrases:
            if phrase in letters or phrase in after_break:
                colon_position = _AFTER_BREAK
            elif phrase in line_only:
                colon_position = _LINE_START
            else:
                colon_position = _ANYWHERE
            rules.append(SectionRule(literal=f"{phrase}:", category=category, metadata={"position": colon_position}))
            if phrase not in letters:  # a lone "A" line is not a header
                rules.append(SectionRule(literal=phrase, category=category, metadata={"position": _OWN_LINE}))
    return rules


def longest_matches(matches, length: int) -> list[tuple[int, int, int]]:
    """Overlapping matches pruned to the longest (ties: the earlier), in order; linear in the matched tokens.

    Same choice as medspaCy's ``prune_overlapping_matches``, whose ``list.pop(0)`` loop is quadratic
    (minutes on a 2 MB note).
    """
    taken = bytearray(length)
    kept = []
    for match in sorted(matches, key=lambda m: (m[1] - m[2], m[1])):
        _, start, end = match[:3]
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            kept.append(match)
    kept.sort(key=lambda m: (m[1], m[2]))
    return kept


class _PositionalSectionizer(Sectionizer):
    """Sectionizer whose start-of-line requirement depends on the rule's metadata."""

    def __init__(self, nlp: Language, name: str, rules: Iterable[SectionRule], **kwargs):
        super().__init__(nlp, name=name, rules=None, require_start_line=True, span_attrs=None, **kwargs)
        self.add(list(rules))
        # Prune in filter_start_lines instead, after dropping misplaced headers (see longest_matches).
        self._Sectionizer__matcher._prune = False
        self._position = {rule._rule_id: (rule.metadata or {}).get("position", _ANYWHERE) for rule in self.rules}

    @staticmethod
    def _ends_line(doc: Doc, end: int) -> bool:
        """Whether a header ending before token ``end`` is followed by a line break (or the end of the doc)."""
        if end >= len(doc):
            return True
        if _NEWLINE.search(doc[end - 1].text_with_ws):
            return True
        return doc[end].is_space and ("\n" in doc[end].text or "\r" in doc[end].text)

    def filter_start_lines(self, doc: Doc, matches):
        kept = []
        for match in matches:
            position = self._position[self.nlp.vocab.strings[match[0]]]
            start = match[1]
            if position == _OWN_LINE and not self._ends_line(doc, match[2]):
                continue
            if position == _ANYWHERE or start == 0:
                kept.append(match)
                continue
            previous = doc[start - 1]
            if _NEWLINE.search(previous.text_with_ws) or (position == _AFTER_BREAK and previous.text in _SEPARATORS):
                kept.append(match)
        return longest_matches(kept, len(doc))


class SectionDetector:
    """The ``codesuggest_sections`` component (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = "codesuggest_sections", rules_path: str = "", max_section_length: int | None = None):
        self.name = name
        rules = build_section_rules(Path(rules_path) if rules_path else RULES_PATH)
        self.sectionizer = _PositionalSectionizer(nlp, name=name, rules=rules, max_section_length=max_section_length)

    @property
    def categories(self) -> set[str]:
        return set(self.sectionizer.section_categories)

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            doc._.sections = []
            return doc
        return self.sectionizer(doc)


@Language.factory(
    "codesuggest_sections",
    default_config={"rules_path": "", "max_section_length": None},
)
def make_sections(nlp: Language, name: str, rules_path: str, max_section_length: int | None) -> SectionDetector:
    """``rules_path``: a JSON file shaped like ``resources/section_rules.json`` ("" = the packaged one);
    ``max_section_length``: cap a section body at this many tokens (None = until the next header)."""
    return SectionDetector(nlp, name=name, rules_path=rules_path, max_section_length=max_section_length)


def section_of(span_or_token: Span | Token) -> str:
    """The normalised section category of a span (its first token) or token, ``"unknown"`` when none."""
    token = span_or_token
    if isinstance(span_or_token, Span):
        if len(span_or_token) == 0:
            return UNKNOWN
        token = span_or_token[0]
    if not Token.has_extension("section"):
        return UNKNOWN
    section = token._.section
    if section is None or section.category is None:
        return UNKNOWN
    return section.category


def sections_of(doc: Doc) -> tuple[tuple[str, int, int], ...]:
    """``(category, start_char, end_char)`` of each section of the doc, header included."""
    if not Doc.has_extension("sections"):
        return ()
    found = []
    for section in doc._.sections or ():
        start, end = section.section_span
        if end <= start:
            continue
        span = doc[start:end]
        found.append((section.category or UNKNOWN, span.start_char, span.end_char))
    return tuple(found)
