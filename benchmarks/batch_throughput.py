"""Batch coding throughput: notes/s of `run_batch` on CodiEsp-sized notes, per engine and core count.

Builds N notes by repeating the CodiEsp dev English texts (never committed: written under
--workdir), then runs each mode in a fresh child process, interleaved (repeat 1 of every
mode, then repeat 2, ...) so that load from other jobs on the machine hits all modes alike,
and reports medians:

- ``single``  local engine, 1 process (in-process, no pool)
- ``pool2``   local engine, 2 worker processes forked once the model is loaded
- ``spark1``  Spark ``local[1]``;  ``spark2``  Spark ``local[2]``

Each mode runs on as many CPUs as it claims (``--pin``, the default: CPU affinity, which the
JVM and every worker inherit). Unpinned on a 2-core machine, a "1-core" mode is not one core:
Spark's JVM (JIT, GC, Arrow, Parquet) and the parent of a pool run on the idle second core.

For each mode: wall time on N notes and on a tiny input (startup: interpreter, JVM, model
load), notes/s end to end and net of startup, the peak RSS of each Python worker (psutil,
sampled every 0.2 s) and of the JVM, and the peak PSS of all the mode's processes together. Then a per-stage profile of one
process: the tokenizer and every spaCy component of ``nlp.pipeline`` timed one by one
(the mention matcher split into exact matching and approximate search), the conversion to
``NoteAnalysis``, and the ranker.

    .venv/bin/python benchmarks/batch_throughput.py --notes 1000 --repeats 3 \\
        --json benchmarks/out/batch_throughput.json

Uses the active model of CODESUGGEST_DATA_DIR (default var/; `codesuggest serve` or
`codesuggest models` build one), or --model DIR_OR_VERSION.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

MODES = {"single": ("local", 1, None), "pool2": ("local", 2, None), "spark1": ("spark", None, "local[1]"), "spark2": ("spark", None, "local[2]")}
CORES = {"single": 1, "pool2": 2, "spark1": 1, "spark2": 2}  # CPUs a mode may run on with --pin
TINY = 8


def build_corpus(source: Path, n: int, path: Path) -> Path:
    import pandas as pd

    files = sorted(source.glob("*.txt"))
    if not files:
        sys.exit(f"no .txt notes in {source}")
    texts = [f.read_text(encoding="utf-8") for f in files]
    rows = [(f"{files[i % len(files)].stem}-{i // len(files):03d}", texts[i % len(files)]) for i in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["note_id", "text"]).to_parquet(path)
    return path


def spec_for(model: str | None):
    from codesuggest.batch import ModelSpec
    from codesuggest.config import get_settings
    from codesuggest.models.runtime import open_registry

    settings = get_settings()
    if model is None:
        model = open_registry(settings).active_version()
        if model is None:
            sys.exit(f"no active model in {settings.models_dir} (give --model)")
    return ModelSpec.resolve(model, settings)


class RssSampler(threading.Thread):
    """Peak RSS of every process in a tree, and the peak PSS of the whole tree (a page shared by
    forked workers counted once in all), sampled while the tree runs."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.peaks, self.kinds = pid, every, {}, {}
        self.tree_pss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            tree_pss = 0
            for p in procs:
                try:
                    memory = p.memory_full_info()  # RSS and PSS from /proc/PID/smaps_rollup
                    self.kinds[p.pid] = "jvm" if "java" in p.name() else "python"  # spark-submit execs java
                except psutil.Error:
                    continue
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), memory.rss)
                tree_pss += memory.pss
            self.tree_pss = max(self.tree_pss, tree_pss)
            self.stop.wait(self.every)

    def summary(self) -> dict[str, float]:
        mb = 1024 * 1024
        workers = [v / mb for pid, v in self.peaks.items() if self.kinds.get(pid) == "python" and pid != self.pid]
        jvm = [v / mb for pid, v in self.peaks.items() if self.kinds.get(pid) == "jvm"]
        return {
            "driver_mb": self.peaks.get(self.pid, 0) / mb,
            "max_worker_mb": max(workers, default=0.0),
            "workers": sum(1 for w in workers if w > 300),  # processes that hold a model
            "jvm_mb": max(jvm, default=0.0),
            "tree_pss_mb": self.tree_pss / mb,
        }


def run_child(mode: str, notes: Path, out: Path, model: str | None, pin: bool) -> tuple[float, dict]:
    cmd = [sys.executable, __file__, "--child", mode, "--input", str(notes), "--output", str(out)]
    if model:
        cmd += ["--model", model]
    cpus = set(sorted(os.sched_getaffinity(0))[: CORES[mode]]) if pin else None
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,  # inherited by the JVM and workers
    )
    sampler = RssSampler(proc.pid)
    sampler.start()
    stdout, _ = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{mode} failed (exit {proc.returncode}); run the child command by hand: {' '.join(cmd)}")
    rss = sampler.summary()
    if mode == "single":  # the model lives in the driver process
        rss["max_worker_mb"], rss["workers"] = rss["driver_mb"], 1
    return seconds, rss


def child(mode: str, notes: Path, out: Path, model: str | None) -> None:
    from codesuggest.batch import run_batch

    engine, workers, master = MODES[mode]
    run_batch(notes, out, spec_for(model), engine=engine, workers=workers, spark_master=master, top_k=30, progress=False)


def profile(notes: Path, model: str | None, limit: int) -> dict[str, float]:
    """Milliseconds per note in each stage of one process (unique notes only)."""
    import pandas as pd

    texts = list(dict.fromkeys(pd.read_parquet(notes)["text"]))[:limit]
    suggester = spec_for(model).load()
    analyzer, nlp = suggester.analyzer, suggester.analyzer.nlp
    from codesuggest.pipeline.nlp import clean_text

    mentions = dict(nlp.pipeline).get("codesuggest_mentions")
    approximate = getattr(mentions, "approximate", None)
    split = "  of which approximate search"
    totals: dict[str, float] = {"tokenizer": 0.0}
    for name, _ in nlp.pipeline:
        totals[name] = 0.0
        if name == "codesuggest_mentions" and approximate is not None:
            totals[split] = 0.0
    if approximate is not None:  # split approximate search out of the mention matcher
        match = approximate.match

        def timed_match(runs):
            t = time.perf_counter()
            try:
                return match(runs)
            finally:
                totals[split] += time.perf_counter() - t

        approximate.match = timed_match
    totals["to NoteAnalysis"] = totals["ranker"] = totals["billable codes"] = 0.0
    totals["suggestions (evidence, descriptions)"] = 0.0
    for text in texts:
        t = time.perf_counter()
        cleaned = clean_text(text)
        doc = nlp.make_doc(cleaned)
        totals["tokenizer"] += time.perf_counter() - t
        for name, proc in nlp.pipeline:
            t = time.perf_counter()
            doc = proc(doc)
            totals[name] += time.perf_counter() - t
        t = time.perf_counter()
        analysis = analyzer._to_analysis(doc, cleaned)
        totals["to NoteAnalysis"] += time.perf_counter() - t
        t = time.perf_counter()
        ranked = suggester.ranker.rank([analysis], top_k=30)[0]
        totals["ranker"] += time.perf_counter() - t
        t = time.perf_counter()
        ranked, guessed = suggester._billable(text, analysis, ranked)
        totals["billable codes"] += time.perf_counter() - t
        t = time.perf_counter()
        suggester._suggestions(text, analysis, ranked, guessed)
        totals["suggestions (evidence, descriptions)"] += time.perf_counter() - t
    return {k: 1000 * v / len(texts) for k, v in totals.items()} | {"notes": len(texts)}


def _net(notes: int, seconds: float, startup: float) -> float:
    """notes/s net of startup; NaN when noise made the tiny run the slower one."""
    return notes / (seconds - startup) if seconds > startup else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/codiesp/dev/text_files_en")
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--model", help="model directory or version [default: the active model]")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/batch"))
    parser.add_argument("--profile-notes", type=int, default=250, help="0 skips the per-stage profile")
    parser.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="run each mode on as many CPUs as it claims (CPU affinity, inherited by Spark's JVM and "
        "Python workers), so that a 1-core mode cannot borrow the idle second core [default: on]",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.input, args.output, args.model)

    modes = [m for m in args.modes.split(",") if m]
    big = build_corpus(args.codiesp, args.notes, args.workdir / f"notes-{args.notes}.parquet")
    tiny = build_corpus(args.codiesp, TINY, args.workdir / f"notes-{TINY}.parquet")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for repeat in range(1, args.repeats + 1):
        for mode in modes:
            startup, _ = run_child(mode, tiny, args.workdir / f"out-{mode}-tiny.parquet", args.model, args.pin)
            seconds, rss = run_child(mode, big, args.workdir / f"out-{mode}.parquet", args.model, args.pin)
            runs[mode].append({"seconds": seconds, "startup_seconds": startup, **rss})
            net = _net(args.notes, seconds, startup)
            print(f"repeat {repeat} {mode:7} {seconds:6.1f} s (startup {startup:5.1f} s): "
                  f"{args.notes / seconds:5.1f} notes/s end to end, {net:5.1f} net; "
                  f"worker peak {rss['max_worker_mb']:.0f} MB x{rss['workers']}, JVM {rss['jvm_mb']:.0f} MB, "
                  f"all processes PSS {rss['tree_pss_mb']:.0f} MB", flush=True)
    report: dict = {"notes": args.notes, "repeats": args.repeats, "cpu_count": os.cpu_count(), "pinned": args.pin,
                    "load_average_at_end": os.getloadavg(), "modes": {}}
    print(f"\nmedians of {args.repeats} interleaved repeats, {args.notes} notes")
    for mode, items in runs.items():
        med = {k: statistics.median(i[k] for i in items) for k in items[0]}
        med["notes_per_s"] = statistics.median(args.notes / i["seconds"] for i in items)
        med["net_notes_per_s"] = statistics.median(_net(args.notes, i["seconds"], i["startup_seconds"]) for i in items)
        report["modes"][mode] = {"median": med, "runs": items}
        print(f"{mode:7} {med['seconds']:6.1f} s  startup {med['startup_seconds']:5.1f} s  {med['notes_per_s']:5.1f} notes/s "
              f"(net {med['net_notes_per_s']:5.1f})  worker peak {med['max_worker_mb']:.0f} MB  JVM {med['jvm_mb']:.0f} MB  "
              f"all processes PSS {med['tree_pss_mb']:.0f} MB")
    for one, two in (("single", "pool2"), ("spark1", "spark2")):
        if one in runs and two in runs:
            a, b = report["modes"][one]["median"], report["modes"][two]["median"]
            report[f"speedup_{one}_{two}"] = {"end_to_end": b["notes_per_s"] / a["notes_per_s"],
                                              "net": b["net_notes_per_s"] / a["net_notes_per_s"]}
            print(f"speed-up {one} -> {two}: {report[f'speedup_{one}_{two}']['end_to_end']:.2f}x end to end, "
                  f"{report[f'speedup_{one}_{two}']['net']:.2f}x net of startup")
    if args.profile_notes:
        stages = profile(big, args.model, args.profile_notes)
        report["profile_ms_per_note"] = stages
        total = sum(v for k, v in stages.items() if not k.startswith(" ") and k != "notes")
        print(f"\nper-stage profile, one process, {stages['notes']} unique notes (ms/note)")
        for name, ms in stages.items():
            if name != "notes":
                print(f"  {name:40} {ms:7.2f}  {100 * ms / total:5.1f}%")
        print(f"  {'total':40} {total:7.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
