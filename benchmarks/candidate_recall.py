"""Candidate recall of the pipeline on a CodiEsp split, and its speed.

Recall: the share of gold (note, code) pairs whose code is among the note's
candidates (a 4-character PCS gold prefix counts when a candidate starts with
it), per system; also candidates per note, notes/s and words/s on one core,
and peak RSS. Misses are written to a TSV for reading by cause.

    .venv/bin/python benchmarks/candidate_recall.py --split ../shared/data/codiesp/dev \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz --misses benchmarks/out/misses.tsv
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections import Counter
from pathlib import Path

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.pipeline.nlp import Analyzer
from codesuggest.pipeline.resources import ensure_ann_index, ensure_term_index
from codesuggest.training.datasets import load_codiesp


def found(gold: str, candidates: set[str], system: str) -> bool:
    if system == "ICD10PCS" and len(gold) < 7:
        return any(c.startswith(gold) for c in candidates)
    return gold in candidates


def component_times(analyzer: Analyzer, texts: list[str]) -> list[tuple[str, float]]:
    """Each spaCy component run over all notes in turn (tokenising first), in ms per note."""
    start = time.perf_counter()
    docs = [analyzer.nlp.make_doc(t) for t in texts]
    times = [("tokenizer", (time.perf_counter() - start) * 1000 / len(texts))]
    for name, component in analyzer.nlp.pipeline:
        start = time.perf_counter()
        docs = [component(doc) for doc in docs]
        times.append((name, (time.perf_counter() - start) * 1000 / len(texts)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--pcs-file", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache"))
    parser.add_argument("--misses", type=Path)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--index", type=Path, help="a built term index: skip loading the code sets (RSS of serving)")
    parser.add_argument("--approximate", action="store_true", help="with the approximate (ANN) linker (off by default)")
    parser.add_argument("--pipeline", help="JSON: settings of the codesuggest_mentions component "
                                           "(e.g. '{\"partial_factor\": 0.75}')")
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.index:
        index_path = args.index
    else:
        catalog = CodeCatalog.load(CodeSetSources(pcs_file=args.pcs_file))
        index_path = ensure_term_index(catalog, args.cache_dir)
        del catalog
    t1 = time.perf_counter()
    if args.approximate:
        ensure_ann_index(index_path)  # built here if missing, so its time is reported on its own
    t_ann = time.perf_counter()
    analyzer = Analyzer.from_index(index_path, approximate=args.approximate,
                                   mentions=json.loads(args.pipeline) if args.pipeline else None)
    t2 = time.perf_counter()
    notes = load_codiesp(args.split)[: args.limit]
    texts = [n.text for n in notes]
    analyzer.analyze(texts[0])  # warm-up
    start = time.perf_counter()
    analyses = list(analyzer.analyze_many(texts))
    elapsed = time.perf_counter() - start

    hits, totals, per_note = Counter(), Counter(), []
    misses = []
    for note, analysis in zip(notes, analyses):
        cands = {s: {c.code for m in analysis.mentions for c in m.candidates if c.system == s} for s in ("ICD10CM", "ICD10PCS")}
        per_note.append(sum(len(v) for v in cands.values()))
        for system, code in note.codes:
            totals[system] += 1
            if found(code, cands.get(system, set()), system):
                hits[system] += 1
            else:
                misses.append((note.note_id, system, code))
    words = sum(len(t.split()) for t in texts)
    print(f"notes: {len(notes)}  words/note: {words / len(notes):.0f}")
    for system in ("ICD10CM", "ICD10PCS"):
        if totals[system]:
            print(f"candidate recall {system}: {hits[system] / totals[system]:.3f} ({hits[system]}/{totals[system]})")
    print(f"candidates per note: median {statistics.median(per_note):.0f}, mean {statistics.mean(per_note):.0f}, max {max(per_note)}")
    print(f"throughput (1 process): {len(notes) / elapsed:.1f} notes/s, {words / elapsed:.0f} words/s")
    print(f"code sets + term index (build or load): {t1 - t0:.1f} s; approximate-search index (build or find): "
          f"{t_ann - t1:.1f} s; pipeline load from the cached indexes: {t2 - t_ann:.1f} s")
    print("per component, ms per note: " + ", ".join(f"{name} {ms:.1f}" for name, ms in component_times(analyzer, texts)))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.misses:
        args.misses.parent.mkdir(parents=True, exist_ok=True)
        args.misses.write_text("".join(f"{n}\t{s}\t{c}\n" for n, s, c in misses))


if __name__ == "__main__":
    main()
