"""POST /v1/notes latency and throughput against `codesuggest serve`, and cold start to ready.

Starts the real service (uvicorn, the active model of the data directory, its cached indexes)
on 127.0.0.1, times start -> /readyz 200, then sends CodiEsp-sized notes with 1, 4 and 16
concurrent clients for a bounded number of requests each, and reads the memory of the server and
its model worker processes. Loopback only; stops the server. ``--model-processes 0 2`` serves
once in-process and once with two model workers, back to back.

    .venv/bin/python benchmarks/service_latency.py --data-dir var --notes ../shared/data/codiesp/dev/text_files_en
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

CLI = str(Path(sys.executable).parent / "codesuggest")


def start(data_dir: Path, port: int, model_processes: int | None) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "CODESUGGEST_DATA_DIR": str(data_dir)}
    if model_processes is not None:
        env["CODESUGGEST_MODEL_PROCESSES"] = str(model_processes)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while time.perf_counter() - t0 < 600:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not become ready in 600 s")


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process and its children, in MB: PSS counts a shared page once in all."""
    root = psutil.Process(pid)
    infos = [p.memory_full_info() for p in [root, *root.children(recursive=True)]]
    return sum(i.rss for i in infos) / 2**20, sum(i.pss for i in infos) / 2**20


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, texts: list[str], key: str, model_processes: int | None) -> None:
    proc, cold = start(args.data_dir, args.port, model_processes)
    label = "default" if model_processes is None else str(model_processes)
    print(f"model processes {label}: cold start to ready {cold:.1f} s")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", headers=headers, timeout=60) as client:
            client.post("/v1/notes", json={"text": texts[0]})  # warm-up

            def one(i: int) -> float:
                t = time.perf_counter()
                r = client.post("/v1/notes", json={"text": texts[i % len(texts)]})
                assert r.status_code == 201, r.text
                return (time.perf_counter() - t) * 1000

            for clients in args.clients:
                t0 = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    lat = sorted(pool.map(one, range(args.requests)))
                wall = time.perf_counter() - t0
                print(f"  {clients:>2} clients: p50 {_quantile(lat, 0.5):.0f} ms, p95 {_quantile(lat, 0.95):.0f} ms, "
                      f"{args.requests / wall:.1f} notes/s")
        rss, pss = memory_mb(proc.pid)
        print(f"  memory after the run, server and its model workers: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--notes", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=200, help="per concurrency level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--model-processes", type=int, nargs="*", default=[],
        help="serve once per value, back to back (CODESUGGEST_MODEL_PROCESSES); none: the default",
    )
    args = parser.parse_args()
    texts = [p.read_text() for p in sorted(args.notes.glob("*.txt"))]
    key = subprocess.run(
        [CLI, "keys", "create", "--name", f"bench-{time.time_ns()}", "--role", "coder"],
        env={**os.environ, "CODESUGGEST_DATA_DIR": str(args.data_dir)}, capture_output=True, text=True, check=True,
    ).stdout.split()[-1]
    print(f"notes: {len(texts)}, {statistics.mean(len(t.split()) for t in texts):.0f} words on average; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for model_processes in args.model_processes or [None]:
        run(args, texts, key, model_processes)


if __name__ == "__main__":
    main()
