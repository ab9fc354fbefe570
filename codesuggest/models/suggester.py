"""A loaded model as the service sees it: note text in, :class:`~.interface.Suggestion` s out.

:class:`ModelSuggester` joins an :class:`~codesuggest.pipeline.nlp.Analyzer`
(text -> ``NoteAnalysis``) and a fitted :class:`~.interface.NoteRanker`
(``NoteAnalysis`` -> ranked codes), and turns the ranker's mention indexes
back into evidence spans of the note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

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
    code's system or below ``review_band`` (0 turns the band off).
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
    ):
        if not 0.0 <= review_band <= 1.0:
            raise ValueError(f"review_band must be within [0, 1], got {review_band}")
        self.analyzer = analyzer
        self.ranker = ranker
        self.version = version
        self.catalog = catalog
        self.review_band = review_band
        self.manifest = dict(manifest or {})

    @property
    def code_set_versions(self) -> dict[str, str]:
        return dict(self.analyzer.code_set_versions)

    def suggest(self, text: str, setting: str | None = None, top_k: int = 30) -> list[Suggestion]:
        return self.suggest_many([text], setting, top_k)[0]

    def suggest_many(self, texts: list[str], setting: str | None = None, top_k: int = 30) -> list[list[Suggestion]]:
        allowed = systems_for(setting)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        analyses = list(self.analyzer.analyze_many(texts))
        # over-fetch when a setting filters systems out, so filtering still leaves top_k codes
        fetch = top_k if allowed >= ALL_SYSTEMS else max(3 * top_k, top_k + 50)
        ranked = self.ranker.rank(analyses, top_k=fetch)
        return [
            self._suggestions(text, analysis, [r for r in codes if r.system in allowed][:top_k])
            for text, analysis, codes in zip(texts, analyses, ranked)
        ]

    def rank_texts(self, texts: Sequence[str], top_k: int = 50) -> list[list[RankedCode]]:
        """The ranker's output for each note, every system (what ``codesuggest predict`` writes)."""
        return self.ranker.rank(list(self.analyzer.analyze_many(texts)), top_k=top_k)

    # -- building suggestions ---------------------------------------------------------------
    def _suggestions(self, text: str, analysis: Any, codes: Iterable[RankedCode]) -> list[Suggestion]:
        thresholds = getattr(self.ranker, "thresholds_", {}) or {}
        out = []
        for rc in codes:
            confidence = round(min(1.0, max(0.0, float(rc.score))), 4)
            threshold = thresholds.get(rc.system, thresholds.get("default", 0.5))
            mentions = [analysis.mentions[i] for i in rc.mention_indexes if 0 <= i < len(analysis.mentions)]
            evidence = tuple(
                Evidence(m.start, m.end, text[m.start : m.end], m.section, m.assertion.label) for m in mentions
            )
            out.append(
                Suggestion(
                    system=rc.system,
                    code=rc.code,
                    description=self._description(rc, mentions),
                    confidence=confidence,
                    needs_review=confidence < threshold or confidence < self.review_band,
                    evidence=evidence,
                    reason=rc.reason,
                )
            )
        return out

    def _description(self, rc: RankedCode, mentions: Sequence[Any]) -> str:
        if self.catalog is not None:
            code = self.catalog.get(rc.system, rc.code)
            if code is not None:
                return code.description
        for mention in mentions:
            for cand in mention.candidates:
                if cand.system == rc.system and cand.code == rc.code and cand.description:
                    return cand.description
        return ""
