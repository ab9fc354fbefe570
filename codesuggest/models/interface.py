"""The small interface through which the service (and the CLI, and batch jobs) use a model.

A model artefact, once loaded, is a :class:`CodeSuggester`; the
:class:`ModelRegistry` knows the versions on disk and which one is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Evidence:
    start: int
    end: int
    text: str
    section: str
    assertion: str  # present | negated | possible | historical | family


@dataclass(frozen=True, slots=True)
class Suggestion:
    system: str  # ICD10CM | ICD10PCS | CPT
    code: str
    description: str
    confidence: float  # calibrated probability that a coder keeps this code
    needs_review: bool
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    version: str
    created_at: str
    active: bool
    code_set_versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class CodeSuggester(Protocol):
    """A loaded model: ranked, calibrated suggestions for one note."""

    version: str

    def suggest(self, text: str, setting: str | None = None, top_k: int = 30) -> list[Suggestion]: ...

    def suggest_many(self, texts: list[str], setting: str | None = None, top_k: int = 30) -> list[list[Suggestion]]: ...


class ModelRegistry(Protocol):
    """Model versions in a directory, one of them active."""

    def list(self) -> list[ModelInfo]: ...

    def active_version(self) -> str | None: ...

    def activate(self, version: str) -> None: ...

    def load(self, version: str) -> CodeSuggester: ...


# -- between the ranker and the rest of models/ ---------------------------------------------


@dataclass(frozen=True, slots=True)
class RankedCode:
    """One code for one note, as a trained ranker scores it."""

    system: str
    code: str
    score: float  # calibrated probability
    mention_indexes: tuple[int, ...] = ()  # indexes into NoteAnalysis.mentions: the evidence
    reason: str = ""  # the features that drove the score, in words


class NoteRanker(Protocol):
    """A fitted ranker (a scikit-learn-style estimator): ``NoteAnalysis`` in, ranked codes out.

    ``thresholds_`` holds the per-system decision threshold chosen on held-out folds of the
    training data; ``code_set_versions_`` the versions it was trained with.
    """

    thresholds_: dict[str, float]
    code_set_versions_: dict[str, str]

    def rank(self, analyses: list, top_k: int = 50) -> list[list[RankedCode]]: ...
