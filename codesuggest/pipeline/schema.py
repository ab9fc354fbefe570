"""What the pipeline hands to the rest of the system: plain, serialisable records.

``pipeline`` turns text into a :class:`NoteAnalysis`; ``models`` ranks codes
from it; nothing downstream needs spaCy objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Literal

MentionKind = Literal["diagnosis", "procedure"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A code the mention may stand for, with how well its wording matched."""

    system: str  # "ICD10CM" | "ICD10PCS" | "CPT"
    code: str
    description: str
    similarity: float  # 1.0 for an exact term match, the cosine of the char-3-gram TF-IDF otherwise
    matched_term: str = ""  # the code-set wording (description, alias or synonym) that matched


@dataclass(frozen=True, slots=True)
class Assertion:
    """ConText status of a mention (several may hold at once).

    ``hypothetical`` and ``resolved`` refine older flags without changing them, so the ranker's
    features keep their meaning: a hypothetical mention is also ``possible``, a resolved one is
    also ``historical``.
    """

    negated: bool = False
    possible: bool = False  # uncertain, "rule out", and every hypothetical mention
    historical: bool = False  # past, "status post", past medical/surgical history sections, resolved
    family: bool = False
    hypothetical: bool = False  # "return if", "if symptoms worsen", "scheduled for", "should she develop"
    resolved: bool = False  # "sepsis resolved", "no longer has" (not "in remission")

    def __setstate__(self, state: list[bool]) -> None:
        """Unpickle, also an Assertion pickled before ``hypothetical`` and ``resolved`` existed (their defaults)."""
        for name, value in zip(_ASSERTION_FIELDS, list(state) + [False] * (len(_ASSERTION_FIELDS) - len(state))):
            object.__setattr__(self, name, value)

    @property
    def label(self) -> str:
        """One word for display: the strongest status, or ``present``."""
        for name in ("negated", "family", "hypothetical", "possible", "resolved", "historical"):
            if getattr(self, name):
                return name
        return "present"


_ASSERTION_FIELDS = tuple(f.name for f in fields(Assertion))


@dataclass(frozen=True, slots=True)
class Mention:
    text: str  # exactly ``note_text[start:end]``
    start: int  # character offsets into the original note text
    end: int
    kind: MentionKind
    section: str  # medspacy section category, or "unknown"
    sentence_start: int
    sentence_end: int
    assertion: Assertion = field(default_factory=Assertion)
    expanded: str | None = None  # the long form, when the mention is (or contains) an abbreviation
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteAnalysis:
    text: str
    mentions: tuple[Mention, ...]
    sections: tuple[tuple[str, int, int], ...] = ()  # (category, start, end) in character offsets
    code_set_versions: dict[str, str] = field(default_factory=dict)

    def candidates(self) -> dict[tuple[str, str], list[Mention]]:
        """Every candidate code of the note with the mentions that support it."""
        found: dict[tuple[str, str], list[Mention]] = {}
        for mention in self.mentions:
            for cand in mention.candidates:
                found.setdefault((cand.system, cand.code), []).append(mention)
        return found

    def to_dict(self, include_text: bool = False) -> dict:
        data = asdict(self)
        if not include_text:
            data.pop("text")
        for mention in data["mentions"]:
            mention["assertion"]["label"] = Assertion(**mention["assertion"]).label
        return data
