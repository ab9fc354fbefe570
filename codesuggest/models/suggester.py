"""A loaded model as the service sees it: note text in, :class:`~.interface.Suggestion` s out.

:class:`ModelSuggester` joins an :class:`~codesuggest.pipeline.nlp.Analyzer`
(text -> ``NoteAnalysis``) and a fitted :class:`~.interface.NoteRanker`
(``NoteAnalysis`` -> ranked codes), and turns the ranker's mention indexes
back into evidence spans of the note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .billable import candidate_scores, make_billable
from .interface import Evidence, RankedCode, Suggestion

DEFAULT_REVIEW_BAND = 0.5
ALL_SYSTEMS = frozenset({"ICD10CM", "ICD10PCS", "CPT"})
SETTING_SYSTEMS: dict[str | None, frozenset[str]] = {
    None: ALL_SYSTEMS,
    "outpatient": frozenset({"ICD10CM", "CPT"}),  # CPT only when a CPT file was loaded
    "inpatient": frozenset({"ICD10CM", "ICD10PCS"}),
}


def systems_for(setting: str | None) -> frozenset[str]:
    """The code systems a care setting is coded in; ``None`` -> all of them."""
    key = setting.strip().lower() if isinstance(setting, str) else setting
    if key not in SETTING_SYSTEMS:
        raise ValueError(f"unknown setting {setting!r} (expected 'inpatient', 'outpatient' or none)")
    return SETTING_SYSTEMS[key]


class ModelSuggester:
    """A :class:`~.interface.CodeSuggester` over an analyzer and a ranker.

    ``needs_review`` is set when the confidence is below the ranker's threshold for the
    code's system or below ``review_band`` (0 turns the band off), and on a billable code
    the rules chose with no support from the note.

    With a ``catalog`` and ``billable_only`` (the default), codes a coder cannot bill
    (headers, missing 7th characters, codes not in the loaded release) are replaced by a
    billable code below them (:mod:`.billable`).
    """

    def __init__(
        self,
        analyzer: Any,
        ranker: Any,
        version: str,
        *,
        catalog: Any = None,
        review_band: float = DEFAULT_REVIEW_BAND,
        manifest: dict[str, Any] | None = None,
        billable_only: bool = True,
    ):
        if not 0.0 <= review_band <= 1.0:
            raise ValueError(f"review_band must be within [0, 1], got {review_band}")
        self.analyzer = analyzer
        self.ranker = ranker
        self.version = version
        self.catalog = catalog
        self.review_band = review_band
        self.manifest = dict(manifest or {})
        self.billable_only = billable_only

    @property
    def code_set_versions(self) -> dict[str, str]:
        return dict(self.analyzer.code_set_versions)

    def suggest(self, text: str, setting: str | None = None, top_k: int = 30) -> list[Suggestion]:
        return self.suggest_many([text], setting, top_k)[0]

    def suggest_many(self, texts: list[str], setting: str | None = None, top_k: int = 30) -> list[list[Suggestion]]:
        scored = self.suggest_scored(texts, systems_for(setting), top_k)
        return [[suggestion for suggestion, _ in note] for note in scored]

    def suggest_scored(
        self, texts: Sequence[str], systems: frozenset[str] = ALL_SYSTEMS, top_k: int = 30
    ) -> list[list[tuple[Suggestion, float]]]:
        """``(Suggestion, ranker score)`` per code per note: the score unrounded (what batch
        coding and ``codesuggest predict`` write)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        analyses = list(self.analyzer.analyze_many(texts))
        # over-fetch when a setting filters systems out, so filtering still leaves top_k codes
        fetch = top_k if systems >= ALL_SYSTEMS else max(3 * top_k, top_k + 50)
        ranked = self.ranker.rank(analyses, top_k=fetch)
        out = []
        for text, analysis, codes in zip(texts, analyses, ranked):
            codes, guessed = self._billable(text, analysis, codes)
            kept = [r for r in codes if r.system in systems][:top_k]
            out.append(list(zip(self._suggestions(text, analysis, kept, guessed), (float(r.score) for r in kept))))
        return out

    def rank_texts(self, texts: Sequence[str], top_k: int = 50, billable: bool = False) -> list[list[RankedCode]]:
        """The ranker's output for each note, every system (what ``codesuggest predict`` writes):
        as trained (comparable with the corpus's gold), or with ``billable`` codes only."""
        analyses = list(self.analyzer.analyze_many(texts))
        ranked = self.ranker.rank(analyses, top_k=top_k)
        if not billable:
            return ranked
        return [self._billable(t, a, codes)[0] for t, a, codes in zip(texts, analyses, ranked)]

    def _billable(self, text: str, analysis: Any, codes: list[RankedCode]) -> tuple[list[RankedCode], frozenset]:
        if not self.billable_only or self.catalog is None:
            return codes, frozenset()
        result = make_billable(codes, self.catalog, text, candidate_scores(analysis))
        return result.codes, result.guessed

    # -- building suggestions ---------------------------------------------------------------
    def _suggestions(
        self, text: str, analysis: Any, codes: Iterable[RankedCode], guessed: frozenset = frozenset()
    ) -> list[Suggestion]:
        thresholds = getattr(self.ranker, "thresholds_", {}) or {}
        mentions = analysis.mentions
        evidence_of: dict[int, Evidence] = {}  # by mention index: a mention often backs several codes
        out = []
        for rc in codes:
            confidence = round(min(1.0, max(0.0, float(rc.score))), 4)
            threshold = thresholds.get(rc.system, thresholds.get("default", 0.5))
            indexes = [i for i in rc.mention_indexes if 0 <= i < len(mentions)]
            for i in indexes:
                if i not in evidence_of:
                    evidence_of[i] = _evidence(text, mentions[i])
            out.append(
                Suggestion(
                    system=rc.system,
                    code=rc.code,
                    description=self._description(rc, mentions, indexes),
                    confidence=confidence,
                    needs_review=(
                        confidence < threshold or confidence < self.review_band or (rc.system, rc.code) in guessed
                    ),
                    evidence=tuple([evidence_of[i] for i in indexes]),
                    reason=rc.reason,
                )
            )
        return out

    def _description(self, rc: RankedCode, mentions: Sequence[Any], indexes: list[int]) -> str:
        """The catalogue's description, else that of a candidate of the code's mentions (``indexes``)."""
        if self.catalog is not None:
            code = self.catalog.get(rc.system, rc.code)
            if code is not None:
                return code.description
        for mention in (mentions[i] for i in indexes):
            for cand in mention.candidates:
                if cand.system == rc.system and cand.code == rc.code and cand.description:
                    return cand.description
        return ""


def _evidence(text: str, mention: Any) -> Evidence:
    start, end = mention.start, mention.end
    return Evidence(start, end, text[start:end], mention.section, mention.assertion.label)
