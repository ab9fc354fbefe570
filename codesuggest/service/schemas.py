"""The API's request and response shapes (pydantic v2), kept apart from the ORM models.

Request bodies reject unknown fields (422): a typo in a decision must not be silently dropped.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..codesets import CodeSystem, normalize_code
from ..codesets.systems import system_names
from .escaping import has_lone_surrogate, quoted

Setting = Literal["inpatient", "outpatient", "emergency"]
PresentOnAdmission = Literal["Y", "N", "U", "W"]
Action = Literal["accept", "reject", "add", "replace"]
Verdict = Literal["agree", "disagree"]
Strategy = Literal["low_confidence", "disputed", "random"]
NoteStatus = Literal["open", "coded"]
# Ids and offsets the database can hold (suggestions.id is a 32-bit INTEGER on PostgreSQL, SQLite integers
# are 64-bit): a larger number cannot name a row, and would overflow the driver (a 500) instead of a 422.
MAX_DB_INT = 2**31 - 1
SuggestionId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


def _no_nul(value: str) -> str:
    """One rule for both databases (PostgreSQL text cannot hold a NUL): 422 for a NUL in an identifier or a field."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return _valid_unicode(value)


def _valid_unicode(value: str) -> str:
    if has_lone_surrogate(value):
        raise ValueError("is not valid Unicode (a lone surrogate such as \\ud800)")
    return value


# every string a request body carries, except note text (NoteIn.text: control characters read as spaces)
Str = Annotated[str, AfterValidator(_no_nul)]
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # the pipeline's rule (pipeline.nlp.clean_text)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def parse_system(value: str) -> str:
    """The system's canonical name; ValueError (quoting at most a few dozen characters of ``value``) otherwise."""
    try:
        return CodeSystem.parse(value).value
    except ValueError:  # its message quotes the whole value: cut it
        raise ValueError(f"unknown code system {quoted(value)} (expected {system_names()})") from None


# -- codes ------------------------------------------------------------------------------
class CodeRef(RequestModel):
    """A code of one system; normalised (``e1122`` -> ``E11.22``), existence is checked against the code sets."""

    system: Str = Field(max_length=32)
    code: Str = Field(min_length=1, max_length=16)

    @model_validator(mode="after")
    def _normalise(self) -> "CodeRef":
        self.system = parse_system(self.system)
        self.code = normalize_code(self.system, self.code)
        return self


class CodeOut(ResponseModel):
    system: str
    code: str
    description: str = ""


class CodeSearchHit(CodeOut):
    billable: bool


# -- notes ------------------------------------------------------------------------------
class NoteIn(RequestModel):
    text: str = Field(description="control characters other than tab and newlines are read (and stored) as spaces")
    external_id: Str | None = Field(default=None, max_length=200)
    setting: Setting | None = None

    @field_validator("text")
    @classmethod
    def _valid_text(cls, value: str) -> str:
        """Checked before the model runs: a lone surrogate cannot be stored (UTF-8), so it is a 422, not a 500
        after a model pass; control characters become spaces, as the pipeline reads them (same length: offsets
        still point into the text as sent), so a NUL is stored the same way on SQLite and PostgreSQL."""
        if has_lone_surrogate(value):
            raise ValueError("note text is not valid Unicode (a lone surrogate such as \\ud800)")
        if not value.strip():
            raise ValueError("note text is empty (or only whitespace)")
        return _ASCII_CONTROL.sub(" ", value)


class EvidenceOut(ResponseModel):
    start: int
    end: int
    text: str
    section: str
    assertion: str


class GuidelineNoteOut(ResponseModel):
    """What an ICD-10-CM Official Guidelines rule did to a suggested code, and why."""

    rule: str
    section: str = Field(description="the guideline section, e.g. I.C.9.a.2")
    message: str


class SuggestionOut(ResponseModel):
    suggestion_id: int
    system: str
    code: str
    description: str
    confidence: float
    needs_review: bool
    evidence: list[EvidenceOut]
    reason: str = Field(description="the ranker's reason: the evidence that drove its score")
    ranker_score: float | None = Field(
        default=None, description="the ranker's score before the coding guidelines (0 for a code a rule added)"
    )
    principal: bool = Field(default=False, description="the principal (inpatient) / first-listed (outpatient) diagnosis")
    guidelines: list[GuidelineNoteOut] = Field(
        default_factory=list, description="what the coding guidelines did to this code (combination codes, "
        "integral symptoms, uncertain diagnoses, ...), each with its guideline section"
    )
    code_set_release: str | None = Field(default=None, description="the code-set releases loaded when it was suggested")


class FindingOut(ResponseModel):
    """A code-set check (codesuggest.codesets.rules): a billing rule the codes break."""

    rule: str
    severity: Literal["error", "warning"]
    system: str
    codes: list[str]
    message: str
    suggestions: list[str]


_CODED_SYSTEMS = "the code systems this note is coded in: its setting's, among the loaded code sets"
_NOTICES = "what the note cannot get and why (a setting that drops a system, a code file not loaded)"


class NoteCreated(ResponseModel):
    note_id: str
    model_version: str
    suggestions: list[SuggestionOut]
    findings: list[FindingOut] = Field(default_factory=list, description="checks on the confident suggestions (needs_review false)")
    coded_systems: list[str] = Field(default_factory=list, description=_CODED_SYSTEMS)
    notices: list[str] = Field(default_factory=list, description=_NOTICES)


class NoteSummary(ResponseModel):
    note_id: str
    external_id: str | None
    setting: str | None
    status: NoteStatus
    model_version: str
    created_by: str
    created_at: datetime
    coded_at: datetime | None
    suggestion_count: int | None = Field(default=None, description="how many codes the model suggested")


class Page(ResponseModel):
    total: int
    limit: int
    offset: int


class NoteList(Page):
    items: list[NoteSummary]


class DecisionOut(ResponseModel):
    decision_id: int
    suggestion_id: int | None
    action: Action
    system: str
    code: str
    replacement: CodeOut | None
    reason: str | None
    actor: str
    created_at: datetime
    code_set_release: str | None = Field(default=None, description="the code-set releases loaded when it was decided")


class FinalCode(CodeOut):
    source: Literal["suggestion", "added", "replacement"]
    suggestion_id: int | None = None
    sequence: int = Field(default=1, description="1-based order among the diagnoses (ICD-10-CM) or the procedures")
    principal: bool = Field(default=False, description="the principal (inpatient) / first-listed diagnosis: sequence 1")
    poa: PresentOnAdmission | None = Field(default=None, description="present on admission (inpatient diagnoses)")


class NoteDetail(NoteSummary):
    text: str
    suggestions: list[SuggestionOut]
    decisions: list[DecisionOut]
    final_codes: list[FinalCode]
    findings: list[FindingOut] = Field(default_factory=list, description="checks on the current final code set")
    undecided: int = Field(default=0, description="suggestions no decision names yet")
    coded_systems: list[str] = Field(default_factory=list, description=_CODED_SYSTEMS)
    notices: list[str] = Field(default_factory=list, description=_NOTICES)
    export_override: str | None = Field(default=None, description="the coder's reason to export despite error-level findings")


# -- decisions --------------------------------------------------------------------------
class DecisionIn(RequestModel):
    """One decision: on a suggestion (``suggestion_id``) or on a code (``system`` + ``code``)."""

    suggestion_id: SuggestionId | None = None
    system: Str | None = Field(default=None, max_length=32)
    code: Str | None = Field(default=None, max_length=16)
    action: Action
    replacement: CodeRef | None = None
    reason: Str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> "DecisionIn":
        by_code = self.system is not None or self.code is not None
        if by_code and (self.system is None or self.code is None):
            raise ValueError("give both 'system' and 'code'")
        if by_code and self.suggestion_id is not None:
            raise ValueError("give either 'suggestion_id' or 'system' and 'code', not both")
        if self.action == "accept" and self.suggestion_id is None:
            raise ValueError("'accept' needs a 'suggestion_id' (use 'add' for a code that was not suggested)")
        if self.action == "add" and not by_code:
            raise ValueError("'add' needs 'system' and 'code'")
        if self.action in ("reject", "replace") and self.suggestion_id is None and not by_code:
            raise ValueError(f"'{self.action}' needs a 'suggestion_id' or 'system' and 'code'")
        if self.action == "replace" and self.replacement is None:
            raise ValueError("'replace' needs a 'replacement': {'system', 'code'}")
        if self.action != "replace" and self.replacement is not None:
            raise ValueError("'replacement' is only allowed with action 'replace'")
        if by_code:
            assert self.system is not None and self.code is not None
            self.system = parse_system(self.system)
            self.code = normalize_code(self.system, self.code)
        return self


class SequenceItem(CodeRef):
    """One code of the final set, in the order billing gets them; ``poa`` for inpatient diagnoses."""

    poa: PresentOnAdmission | None = None


class DecisionsIn(RequestModel):
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=500)
    reject_undecided: bool = Field(
        default=False, description="also reject every suggestion no decision names (only when the coder says so)"
    )
    sequence: list[SequenceItem] | None = Field(
        default=None, max_length=500,
        description="the final codes in order, the principal / first-listed diagnosis first, with POA; codes left "
        "out follow in the default order",
    )
    export_override: Str | None = Field(
        default=None, min_length=1, max_length=2000,
        description="the coder's reason to export the claim despite error-level code-set findings",
    )

    @model_validator(mode="after")
    def _something(self) -> "DecisionsIn":
        if not self.decisions and not self.reject_undecided and self.sequence is None and self.export_override is None:
            raise ValueError("nothing to record: give 'decisions', 'reject_undecided', 'sequence' or 'export_override'")
        return self


class DecisionsOut(ResponseModel):
    note_id: str
    status: NoteStatus
    decisions: list[DecisionOut]
    final_codes: list[FinalCode]
    undecided: int = Field(default=0, description="suggestions no decision names yet")


# -- audit ------------------------------------------------------------------------------
class SampleItem(ResponseModel):
    note_id: str
    suggestion_id: int
    system: str
    code: str
    description: str
    confidence: float
    needs_review: bool
    model_version: str
    latest_action: Action | None
    latest_actor: str | None


class AuditSample(ResponseModel):
    strategy: Strategy
    seed: int
    size: int
    population: int
    items: list[SampleItem]


class ReviewIn(RequestModel):
    note_id: Str = Field(min_length=1, max_length=32)
    suggestion_id: SuggestionId | None = None
    verdict: Verdict
    corrected: CodeRef | None = None
    comment: Str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewIn":
        if self.corrected is not None and self.verdict != "disagree":
            raise ValueError("'corrected' goes with verdict 'disagree'")
        return self


class ReviewOut(ResponseModel):
    review_id: int
    note_id: str
    suggestion_id: int | None
    verdict: Verdict
    corrected: CodeOut | None
    comment: str | None
    auditor: str
    created_at: datetime


class RateRow(ResponseModel):
    system: str
    code: str | None = None
    suggested: int
    decided: int
    accepted: int
    rejected: int
    replaced: int
    added: int
    acceptance_rate: float | None
    override_rate: float | None
    rejection_rate: float | None


class Agreement(ResponseModel):
    reviews: int
    agree: int
    disagree: int
    agreement_rate: float | None


class AuditStats(ResponseModel):
    by_system: list[RateRow]
    by_code: list[RateRow]
    agreement: Agreement
    agreement_by_system: dict[str, Agreement]


# -- models, admin, health -----------------------------------------------------------------
class ModelOut(ResponseModel):
    version: str
    created_at: str | None = None
    active: bool
    serving: bool
    code_set_versions: dict[str, str] = {}
    metrics: dict[str, float] = {}


class ModelList(ResponseModel):
    serving_version: str
    models: list[ModelOut]


class Activated(ResponseModel):
    serving_version: str
    previous_version: str


class AccessLogOut(ResponseModel):
    id: int
    at: datetime
    key_name: str | None
    role: str | None
    action: str
    method: str
    path: str
    note_id: str | None
    status_code: int
    query: str | None = Field(default=None, description="the query string as sent (control characters escaped)")
    disclosed: int | None = Field(default=None, description="how many notes' text the response disclosed (exports)")


class AccessLogPage(Page):
    items: list[AccessLogOut]


class ErrorBody(ResponseModel):
    status: int
    code: str
    message: str
    details: list | None = None


class ErrorOut(ResponseModel):
    """Every 4xx and 5xx: ``{"error": {"status", "code", "message", "details"}}``."""

    error: ErrorBody


class Health(ResponseModel):
    status: str


class Ready(ResponseModel):
    status: str
    model_version: str
    code_sets: dict[str, str]


# -- code-set updates: open work that uses retired codes ---------------------------------------------


class SuccessorOut(ResponseModel):
    code: str
    description: str
    method: str = Field(description="conversion table | expanded | same title | new parent | title similarity")
    confidence: float


class RetiredCodeOut(ResponseModel):
    system: str
    code: str
    where: Literal["suggestion", "final"] = Field(
        description="suggestion: suggested on a note not coded yet; final: in a coded note's final code set")
    suggestion_id: int | None = None
    recorded_release: str | None = Field(default=None, description="the code-set releases it was suggested or decided under")
    successors: list[SuccessorOut] = Field(description="proposed successors, best first (none: a coder finds one)")


class RevalidationNote(ResponseModel):
    note_id: str
    status: str
    retired: list[RetiredCodeOut]


class RevalidationOut(ResponseModel):
    release: str = Field(description="the code-set releases loaded now")
    items: list[RevalidationNote]
    total: int
    limit: int
    offset: int
