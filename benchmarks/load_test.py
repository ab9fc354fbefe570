"""Load test: N concurrent clients against uvicorn on 127.0.0.1 for a bounded time, mixing note submissions,
decisions, code searches and audit samples; optionally activating model versions while requests flow.

    .venv/bin/python benchmarks/load_test.py --clients 16 --duration 60          # test-double model
    .venv/bin/python benchmarks/load_test.py --clients 16 --duration 60 --real-model --data-dir DIR
    eval "$(bash .ci/postgres.sh)"; .venv/bin/python benchmarks/load_test.py --clients 16 --duration 60 --postgres

Prints (and with --json writes) error count, p50/p95/p99 latency per operation and the server's RSS sampled
every second. Bounded: stops after --duration seconds or --max-requests requests, whichever comes first, and
stops the server it started. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability_app import running_server  # noqa: E402
from service_fakes import POSTGRES_URL_ENV, auth, make_keys, postgres_schema_url  # noqa: E402

NOTES = [
    "ASSESSMENT: hypertension, type 2 diabetes. Plan: continue metformin.",
    "Chest pain on exertion; no pneumonia. Atrial fibrillation noted on ECG.",
    "Headache for three days. History of hypertension.",
    "Follow-up of type 2 diabetes and chest pain, likely musculoskeletal.",
]
SEARCHES = ["hypert", "diabetes", "E11.6", "chest pain", "I48", "pneumonia"]
MIX = [("submit", 0.35), ("decide", 0.25), ("search", 0.3), ("sample", 0.1)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def client_loop(base_url, keys, deadline, budget, results, versions_seen, rng):
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        my_notes: list[tuple[str, list[int]]] = []
        while time.monotonic() < deadline and budget["left"] > 0:
            budget["left"] -= 1
            op = rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
            if op == "decide" and not my_notes:
                op = "submit"
            started = time.perf_counter()
            try:
                if op == "submit":
                    text = rng.choice(NOTES)
                    r = await client.post("/v1/notes", json={"text": text}, headers=auth(keys["coder"]))
                    ok = r.status_code == 201
                    if ok:
                        body = r.json()
                        my_notes.append((body["note_id"], [s["suggestion_id"] for s in body["suggestions"]]))
                        versions_seen.append((text, body["model_version"], body["suggestions"]))
                elif op == "decide":
                    note_id, sids = my_notes.pop(rng.randrange(len(my_notes)))
                    decisions = [{"suggestion_id": s, "action": rng.choice(["accept", "reject"])} for s in sids]
                    decisions.append({"system": "ICD10CM", "code": "E78.5", "action": "add"})
                    r = await client.post(f"/v1/notes/{note_id}/decisions", json={"decisions": decisions},
                                          headers=auth(keys["coder"]))
                    ok = r.status_code == 201
                elif op == "search":
                    r = await client.get("/v1/codes/search", params={"q": rng.choice(SEARCHES), "limit": 10},
                                         headers=auth(keys["coder"]))
                    ok = r.status_code == 200
                else:
                    r = await client.get("/v1/audit/samples", params={"strategy": rng.choice(["random", "low_confidence", "disputed"]), "size": 20},
                                         headers=auth(keys["auditor"]))
                    ok = r.status_code == 200
                status = r.status_code
            except httpx.HTTPError as exc:
                ok, status = False, type(exc).__name__
            results[op].append((time.perf_counter() - started, ok, status))


async def swapper(base_url, key, deadline, every, versions, swaps):
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=auth(key)) as client:
        i = 0
        while time.monotonic() + every < deadline:
            await asyncio.sleep(every)
            i += 1
            r = await client.post(f"/v1/models/{versions[i % len(versions)]}/activate")
            swaps.append((r.status_code, r.json().get("serving_version")))


async def sample_rss(pid, deadline, samples):
    process = psutil.Process(pid)
    started = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((round(time.monotonic() - started, 1), process.memory_info().rss))
        await asyncio.sleep(1.0)


async def run_load(base_url, keys, server_pid, *, clients, duration, max_requests, swap_every=0.0, seed=0):
    deadline = time.monotonic() + duration
    results: dict[str, list] = defaultdict(list)
    versions_seen: list = []
    rss: list = []
    swaps: list = []
    budget = {"left": max_requests}
    rngs = [random.Random(seed * 1000 + i) for i in range(clients)]
    tasks = [client_loop(base_url, keys, deadline, budget, results, versions_seen, rngs[i]) for i in range(clients)]
    tasks.append(sample_rss(server_pid, deadline, rss))
    if swap_every:
        tasks.append(swapper(base_url, keys["data_scientist"], deadline, swap_every, ["kw-2", "kw-1"], swaps))
    started = time.monotonic()
    # hard bound: a stuck request cannot keep the run going past duration + 60 s
    await asyncio.wait_for(asyncio.gather(*tasks), duration + 60)
    elapsed = time.monotonic() - started
    return summarize(results, rss, elapsed, clients, swaps), versions_seen


def summarize(results, rss, elapsed, clients, swaps):
    ops = {}
    all_latencies = []
    errors = []
    for op, rows in sorted(results.items()):
        latencies = [r[0] * 1000 for r in rows]
        all_latencies += latencies
        errors += [(op, r[2]) for r in rows if not r[1]]
        ops[op] = {"requests": len(rows), "errors": sum(1 for r in rows if not r[1]),
                   "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
                   "p99_ms": round(percentile(latencies, 99), 1)}
    rss_mb = [r[1] / 2**20 for r in rss]
    third = max(1, len(rss_mb) // 3)
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(all_latencies),
        "requests_per_s": round(len(all_latencies) / elapsed, 1), "errors": len(errors), "error_samples": errors[:10],
        "p50_ms": round(percentile(all_latencies, 50), 1), "p95_ms": round(percentile(all_latencies, 95), 1),
        "p99_ms": round(percentile(all_latencies, 99), 1), "ops": ops,
        "rss_mb": {"first": round(rss_mb[0], 1) if rss_mb else None, "max": round(max(rss_mb), 1) if rss_mb else None,
                   "first_third_mean": round(statistics.mean(rss_mb[:third]), 1) if rss_mb else None,
                   "last_third_mean": round(statistics.mean(rss_mb[-third:]), 1) if rss_mb else None,
                   "samples": [(t, round(b / 2**20, 1)) for t, b in rss]},
        "swaps": swaps,
    }


def thin(samples: list[tuple[float, float]], every: float) -> list[tuple[float, float]]:
    """The first sample, one per ``every`` seconds, and the last."""
    out, next_t = [], 0.0
    for t, mb in samples:
        if t >= next_t:
            out.append((t, mb))
            next_t = t + every
    if samples and out[-1] != samples[-1]:
        out.append(samples[-1])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (bounded to 600)")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--swap-every", type=float, default=0.0, help="activate kw-2/kw-1 alternately every S s")
    parser.add_argument("--real-model", action="store_true", help="serve load_active_or_default instead of the test double")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--postgres", action="store_true",
                        help="a fresh schema (dropped afterwards) in $CODESUGGEST_TEST_POSTGRES_URL (.ci/postgres.sh)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the server's data folder (models, caches); default: the temporary folder. With "
                             "--real-model, a folder holding a built default model saves the minutes of building one")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--rss-every", type=float, default=30.0, help="print the server's RSS every S s of the run")
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="DIR",
                        help="trace the server's allocations and write snapshots to DIR (slows the server)")
    parser.add_argument("--tracemalloc-every", type=float, default=60.0, help="seconds between snapshots")
    parser.add_argument("--tracemalloc-start", type=float, default=30.0,
                        help="start tracing S s after the server starts (after the warm-up: tracing it is slow)")
    parser.add_argument("--memstats", type=Path, default=None, metavar="FILE",
                        help="the server appends RSS, SQLite's and glibc's heap figures to FILE every second (JSON lines)")
    parser.add_argument("--malloc-trim-every", type=float, default=0.0, metavar="S",
                        help="with --memstats: the server calls malloc_trim(0) every S s and records its RSS after")
    args = parser.parse_args(argv)
    if args.memstats:
        os.environ["CODESUGGEST_TEST_MEMSTATS"] = str(args.memstats.resolve())
        os.environ["CODESUGGEST_TEST_MALLOC_TRIM_EVERY"] = str(args.malloc_trim_every)
    if args.tracemalloc:
        os.environ["CODESUGGEST_TEST_TRACEMALLOC"] = str(args.tracemalloc.resolve())
        os.environ["CODESUGGEST_TEST_TRACEMALLOC_EVERY"] = str(args.tracemalloc_every)
        os.environ["CODESUGGEST_TEST_TRACEMALLOC_START"] = str(args.tracemalloc_start)
    duration = min(args.duration, 600.0)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        tmp_path = Path(tmp)
        if args.postgres:
            if not os.environ.get(POSTGRES_URL_ENV):
                parser.error(f"--postgres needs {POSTGRES_URL_ENV} (eval \"$(bash .ci/postgres.sh)\")")
            url = stack.enter_context(postgres_schema_url())
        else:
            url = args.database_url or f"sqlite:///{tmp_path / 'load.db'}"
        keys = make_keys(url, prefix=f"load-{int(time.time())}-")
        started = time.monotonic()
        data_dir = args.data_dir.resolve() if args.data_dir else tmp_path
        with running_server(data_dir, url, log_path=tmp_path / "server.log", real_model=args.real_model,
                            ready_timeout=900.0 if args.real_model else 120.0) as server:
            print(f"server ready after {time.monotonic() - started:.0f} s", flush=True)
            summary, _ = asyncio.run(run_load(server.base_url, keys, server.pid, clients=args.clients, duration=duration,
                                              max_requests=args.max_requests, swap_every=args.swap_every))
    summary["model"] = "real default (load_active_or_default)" if args.real_model else "test double (KeywordSuggester)"
    summary["database"] = "PostgreSQL" if url.startswith("postgres") else "SQLite (WAL)"
    rss = summary["rss_mb"]
    print(f"{summary['clients']} clients, {summary['seconds']} s, {summary['requests']} requests "
          f"({summary['requests_per_s']}/s), {summary['errors']} errors; model: {summary['model']}; {summary['database']}")
    print(f"latency ms: p50 {summary['p50_ms']}  p95 {summary['p95_ms']}  p99 {summary['p99_ms']}")
    for op, s in summary["ops"].items():
        print(f"  {op:7s} {s['requests']:6d} req  {s['errors']} err  p50 {s['p50_ms']}  p95 {s['p95_ms']}  p99 {s['p99_ms']}")
    print(f"server RSS MB: first {rss['first']}, first-third mean {rss['first_third_mean']}, "
          f"last-third mean {rss['last_third_mean']}, max {rss['max']}")
    print("server RSS MB over time: " + ", ".join(f"{t:.0f} s {mb}" for t, mb in thin(rss["samples"], args.rss_every)))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
