"""A loaded model as its callers see it: note texts in, :class:`~.interface.Suggestion` s out.

:class:`ModelSuggester` is the one way into a model (:class:`~.interface.CodeSuggester`) for the
service, the CLI, batch jobs and training. It joins an analyzer (text -> ``NoteAnalysis``) and a
fitted ranker (``NoteAnalysis`` -> ranked codes), then takes the codes as far as the caller asks
(:class:`~.interface.Output`):

1. ``RANKED``: the ranker's codes as trained, comparable with a coded corpus's gold;
2. ``BILLABLE``: codes a coder cannot bill replaced by billable ones below them (:mod:`.billable`);
3. ``CODED`` (the default): then the ICD-10-CM Official Guidelines (:mod:`codesuggest.guidelines`):
   combination codes, integral symptoms, uncertain diagnoses by setting, the principal diagnosis.

The ranker's mention indexes become evidence spans of the note.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from ..guidelines import RULE_NAMES, CodeLine, apply_guidelines, as_a_coder_reads, care_setting
from .billable import candidate_scores, make_billable
from ..codesets.systems import all_systems
from .interface import Evidence, NoteAnalyzer, NoteRanker, Output, RankedCode, Suggestion, systems_for, top_per_system

DEFAULT_REVIEW_BAND = 0.5
# codes ranked beyond top_k when codes may be filtered out or rewritten: enough for top_k to remain
# after a setting drops a system, and for the guideline rules to see conditions ranked a little lower
FETCH_MORE = 20
class ModelSuggester:
    """A :class:`~.interface.CodeSuggester` over an analyzer and a ranker.

    ``needs_review`` is set when the confidence is below the ranker's threshold for the
    code's system or below ``review_band`` (0 turns the band off), on a billable code the
    rules chose with no support from the note, and where a guideline rule asks for it.

    Without a ``catalog`` (or with ``billable_only`` False) codes are not made billable;
    ``guidelines_off`` names guideline rules not to run (:data:`codesuggest.guidelines.RULE_NAMES`).
    """

    def __init__(
        self,
        analyzer: NoteAnalyzer,
        ranker: NoteRanker,
        version: str,
        *,
        catalog: Any = None,
        review_band: float = DEFAULT_REVIEW_BAND,
        manifest: dict[str, Any] | None = None,
        billable_only: bool = True,
        guidelines_off: Collection[str] = (),
    ):
        if not 0.0 <= review_band <= 1.0:
            raise ValueError(f"review_band must be within [0, 1], got {review_band}")
        unknown = set(guidelines_off) - set(RULE_NAMES)
        if unknown:
            raise ValueError(f"unknown guideline rule(s) {', '.join(sorted(unknown))} (known: {', '.join(RULE_NAMES)})")
        self.analyzer = analyzer
        self.ranker = ranker
        self.version = version
        self.catalog = catalog
        self.review_band = review_band
        self.manifest = dict(manifest or {})
        self.billable_only = billable_only
        self.guidelines_off = frozenset(guidelines_off)

    @property
    def code_set_versions(self) -> dict[str, str]:
        return dict(self.analyzer.code_set_versions)

    def suggest(
        self, text: str, setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[Suggestion]:
        return self.suggest_many([text], setting, top_k, output)[0]

    def suggest_many(
        self, texts: Sequence[str], setting: str | None = None, top_k: int = 30, output: Output = Output.CODED
    ) -> list[list[Suggestion]]:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        output = Output(output)
        systems = systems_for(setting)
        analyses = list(self.analyzer.analyze_many(texts))
        plain = output is Output.RANKED and systems >= all_systems()
        if output is Output.CODED:  # the ranker sees each note as a coder in its care setting reads it
            seen = [as_a_coder_reads(a, care_setting(setting, a.text)) for a in analyses]
        else:
            seen = analyses
        ranked = self.ranker.rank(seen, top_k=top_k if plain else top_k + FETCH_MORE)
        return [
            self._suggestions(text, analysis, _top_per_system(self._lines(analysis, codes, setting, systems, output), top_k))
            for text, analysis, codes in zip(texts, analyses, ranked)
        ]

    # -- the stages ---------------------------------------------------------------------------
    def _lines(
        self, analysis: Any, codes: list[RankedCode], setting: str | None, systems: frozenset[str], output: Output
    ) -> list[CodeLine]:
        guessed: frozenset = frozenset()
        if output is not Output.RANKED and self.billable_only and self.catalog is not None:
            result = make_billable(codes, self.catalog, analysis.text, candidate_scores(analysis))
            codes, guessed = result.codes, result.guessed
        lines = [
            CodeLine(
                r.system, r.code, float(r.score), round(min(1.0, max(0.0, float(r.score))), 4), r.mention_indexes,
                r.reason, needs_review=(r.system, r.code) in guessed,
            )
            for r in codes
            if r.system in systems
        ]
        if output is Output.CODED:
            lines = apply_guidelines(analysis, lines, self.catalog, setting, self.guidelines_off).lines
        return lines

    def _suggestions(self, text: str, analysis: Any, lines: Iterable[CodeLine]) -> list[Suggestion]:
        thresholds = getattr(self.ranker, "thresholds_", {}) or {}
        mentions = analysis.mentions
        evidence_of: dict[int, Evidence] = {}  # by mention index: a mention often backs several codes
        out = []
        for line in lines:
            threshold = thresholds.get(line.system, thresholds.get("default", 0.5))
            indexes = [i for i in line.mention_indexes if 0 <= i < len(mentions)]
            for i in indexes:
                if i not in evidence_of:
                    evidence_of[i] = _evidence(text, mentions[i])
            confidence = round(line.confidence, 4)
            out.append(
                Suggestion(
                    system=line.system,
                    code=line.code,
                    description=self._description(line, mentions, indexes),
                    confidence=confidence,
                    needs_review=confidence < threshold or confidence < self.review_band or line.needs_review,
                    evidence=tuple([evidence_of[i] for i in indexes]),
                    reason=line.reason,
                    score=line.score,
                    principal=line.principal,
                    guidelines=tuple(line.notes),
                )
            )
        return out

    def _description(self, line: CodeLine, mentions: Sequence[Any], indexes: list[int]) -> str:
        """The catalogue's description, else that of a candidate of the code's mentions (``indexes``)."""
        if self.catalog is not None:
            code = self.catalog.get(line.system, line.code)
            if code is not None:
                return code.description
        for mention in (mentions[i] for i in indexes):
            for cand in mention.candidates:
                if cand.system == line.system and cand.code == line.code and cand.description:
                    return cand.description
        return ""


def _top_per_system(lines: list[CodeLine], top_k: int) -> list[CodeLine]:
    """The first ``top_k`` lines of each code system, in their order: an inpatient note's many procedure
    codes must not crowd out its diagnoses."""
    keys = [(line.system, line.code) for line in lines]
    return [lines[j] for j in top_per_system(range(len(lines)), keys, top_k)]


def _evidence(text: str, mention: Any) -> Evidence:
    start, end = mention.start, mention.end
    return Evidence(start, end, text[start:end], mention.section, mention.assertion.label)
