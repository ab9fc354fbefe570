"""The one way into a model: the service, the CLI (``predict``), batch jobs and training all call it.

A model artefact, once loaded, is a :class:`CodeSuggester`: note texts in, :class:`Suggestion` s
out, at the :class:`Output` stage the caller asks for. The :class:`ModelRegistry` knows the
versions on disk and which one is active.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from ..codesets.systems import CARE_SETTINGS, systems_in
from ..guidelines import GuidelineNote
from ..pipeline.schema import NoteAnalysis


class Output(str, Enum):
    """How far along the way to the coder a model's codes go."""

    RANKED = "ranked"  # the ranker's codes as trained: comparable with a coded corpus's gold (evaluation)
    BILLABLE = "billable"  # every code billable in the loaded release (headers, 7th characters replaced)
    CODED = "coded"  # billable, then the ICD-10-CM Official Guidelines (codesuggest.guidelines): what coders see


@dataclass(frozen=True, slots=True)
class Evidence:
    start: int
    end: int
    text: str
    section: str
    assertion: str  # negated | family | hypothetical | possible | resolved | historical | present (Assertion.label)


@dataclass(frozen=True, slots=True)
class Suggestion:
    system: str  # ICD10CM | ICD10PCS | CPT
    code: str
    description: str
    confidence: float  # calibrated probability that a coder keeps this code (a guideline rule may lower it)
    needs_review: bool
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""  # the ranker's reason: the features that drove its score
    score: float = 0.0  # the ranker's score, unrounded, before any guideline rule
    principal: bool = False  # the principal (inpatient) / first-listed (outpatient) diagnosis
    guidelines: tuple[GuidelineNote, ...] = ()  # what the coding rules did to this code, and why


@dataclass(frozen=True, slots=True)
class ModelInfo:
    version: str
    created_at: str
    active: bool
    code_set_versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class CodeSuggester(Protocol):
    """A loaded model: ranked, calibrated suggestions per note, best first.

    ``setting`` (inpatient, outpatient, emergency; None: all systems, and the guidelines infer the
    setting from the note) chooses the code systems and the guideline rules that apply;
    ``output`` how far the codes go (:class:`Output`). ``top_k`` codes at most per note and code system.
    """

    version: str

    @property
    def code_set_versions(self) -> dict[str, str]: ...

    def suggest(
        self, text: str, setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[Suggestion]: ...

    def suggest_many(
        self, texts: Sequence[str], setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[list[Suggestion]]: ...


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
    """A fitted ranker (a scikit-learn-style estimator): ``NoteAnalysis`` in, ranked codes out
    (best first), the model's one learned part.

    ``thresholds_`` holds the per-system decision threshold chosen on held-out folds of the
    training data; ``code_set_versions_`` the versions it was trained with.
    """

    thresholds_: dict[str, float]
    code_set_versions_: dict[str, str]

    def rank(self, analyses: Sequence[NoteAnalysis], top_k: int = 50) -> list[list[RankedCode]]: ...


class NoteAnalyzer(Protocol):
    """The pipeline as a model sees it (:class:`codesuggest.pipeline.nlp.Analyzer`)."""

    code_set_versions: dict[str, str]

    def analyze_many(self, texts: Sequence[str]) -> Sequence[NoteAnalysis]: ...


# -- which code systems a care setting is coded in ------------------------------------------------

SETTINGS = CARE_SETTINGS


def systems_for(setting: str | None) -> frozenset[str]:
    """The code systems a care setting is coded in (each system's ``care_settings`` entry,
    :mod:`codesuggest.codesets.systems`); ``None`` -> all of them. CPT only when a CPT file was loaded."""
    return systems_in(setting)


def top_per_system(order: Iterable[int], keys: Sequence[tuple[str, str]], top_k: int) -> list[int]:
    """The indexes of ``order`` (best first) that are among the ``top_k`` best of their system (``keys``:
    (system, code) by index): a cut over all systems merged would let a note's many procedure codes
    crowd out its diagnoses."""
    chosen, per_system = [], {}
    for j in order:
        system = keys[j][0]
        if per_system.get(system, 0) >= top_k:
            continue
        per_system[system] = per_system.get(system, 0) + 1
        chosen.append(j)
    return chosen
