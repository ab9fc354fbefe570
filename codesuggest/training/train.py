"""Training the code ranker on coded notes, and ranked predictions for a batch of notes.

>>> ranker = train_model([load_dataset("codiesp:data/codiesp/train")], analyzer, {"random_state": 0})
>>> rows = predict_rows(ranker, analyzer, dev_notes, top_k=100)   # (note_id, code, system, score)

The pipeline runs once per note (``analyzer.analyze_many``); the ranker then
learns from the analyses and the gold codes (see :mod:`codesuggest.models.ranker`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tqdm import tqdm

from ..models.interface import NoteRanker, Output
from ..models.suggester import ModelSuggester
from ..models.trainable import DEFAULT_MODEL_TYPE, new_model
from ..pipeline.schema import NoteAnalysis
from .datasets import CodedNote

__all__ = ["analyze_notes", "train_model", "predict_rows"]

log = logging.getLogger(__name__)


def analyze_notes(analyzer, texts: Sequence[str], *, progress: bool = True, desc: str = "analysing notes",
                  batch_size: int = 32) -> list[NoteAnalysis]:
    """Run the pipeline over ``texts`` once, with a progress bar."""
    out: list[NoteAnalysis] = []
    with tqdm(total=len(texts), desc=desc, unit="note", disable=not progress) as bar:
        for analysis in analyzer.analyze_many(texts, batch_size=batch_size):
            out.append(analysis)
            bar.update(1)
    return out


def train_model(
    datasets: Iterable[Iterable[CodedNote]],
    analyzer,
    params: Mapping[str, Any] | None = None,
    progress: bool = True,
    model_type: str = DEFAULT_MODEL_TYPE,
) -> NoteRanker:
    """Fit a model of the registered ``model_type`` (:mod:`codesuggest.models.trainable`; by default
    the :class:`~codesuggest.models.ranker.CodeRanker`) on the notes of ``datasets`` (notes
    without text are skipped).

    Notes with the same id in several datasets are kept once (the first). The
    fitted ranker gets ``training_summary_`` (notes, codes, seconds).
    """
    notes: list[CodedNote] = []
    seen_ids: set[str] = set()
    for dataset in datasets:
        for note in dataset:
            if note.note_id in seen_ids or not note.text.strip():
                continue
            seen_ids.add(note.note_id)
            notes.append(note)
    if not notes:
        raise ValueError("no notes to train on")
    start = time.perf_counter()
    analyses = analyze_notes(analyzer, [n.text for n in notes], progress=progress)
    analysed = time.perf_counter()
    ranker = new_model(model_type, **dict(params or {}))
    _fit(ranker, analyses, [set(n.codes) for n in notes], progress)
    done = time.perf_counter()
    ranker.training_summary_ = {
        "notes": len(notes),
        "codes": sum(len(n.codes) for n in notes),
        "analysis_seconds": round(analysed - start, 1),
        "fit_seconds": round(done - analysed, 1),
    }
    log.info("trained on %d notes: pipeline %.1f s, fit %.1f s", len(notes), analysed - start, done - analysed)
    return ranker


def predict_rows(
    ranker: NoteRanker,
    analyzer,
    notes: Sequence[CodedNote],
    top_k: int = 100,
    *,
    progress: bool = False,
    batch_size: int = 64,
) -> list[tuple[str, str, str, float]]:
    """``(note_id, code, system, score)`` rows, best first within each note: the ranker's codes as
    trained (``Output.RANKED``), through the same interface the service and the CLI use."""
    suggester = ModelSuggester(analyzer, ranker, "evaluation")
    rows: list[tuple[str, str, str, float]] = []
    with tqdm(total=len(notes), desc="ranking", unit="note", disable=not progress) as bar:
        for begin in range(0, len(notes), batch_size):
            chunk = notes[begin : begin + batch_size]
            ranked = suggester.suggest_many([n.text for n in chunk], top_k=top_k, output=Output.RANKED)
            for note, suggestions in zip(chunk, ranked):
                rows.extend((note.note_id, s.code, s.system, s.score) for s in suggestions)
            bar.update(len(chunk))
    return rows


def _fit(ranker: Any, analyses: list, labels: list[set], progress: bool) -> None:
    """Fit, with a progress bar over the model's steps when it reports them (``fit_steps``)."""
    if not hasattr(ranker, "fit_steps"):
        ranker.fit(analyses, labels)
        return
    with tqdm(total=ranker.fit_steps(), desc="fitting", unit="step", disable=not progress) as bar:
        started = [0]

        def step(description: str) -> None:
            """A step starts: the previous one is done."""
            bar.update(started[0] - bar.n)
            started[0] += 1
            bar.set_description(f"fitting: {description}")

        ranker.fit(analyses, labels, progress=step)
        bar.update(bar.total - bar.n)

