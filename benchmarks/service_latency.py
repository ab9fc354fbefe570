"""POST /v1/notes latency and throughput against `codesuggest serve`, and cold start to ready.

Starts the real service (uvicorn, the active model of the data directory, its cached indexes)
on 127.0.0.1, times start -> /readyz 200, then sends CodiEsp-sized notes with 1, 4 and 16
concurrent clients for a bounded number of requests each. Loopback only; stops the server.

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

CLI = str(Path(sys.executable).parent / "codesuggest")


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "CODESUGGEST_DATA_DIR": str(data_dir)}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--notes", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=200, help="per concurrency level")
    args = parser.parse_args()
    texts = [p.read_text() for p in sorted(args.notes.glob("*.txt"))]
    key = subprocess.run(
        [CLI, "keys", "create", "--name", f"bench-{time.time_ns()}", "--role", "coder"],
        env={**os.environ, "CODESUGGEST_DATA_DIR": str(args.data_dir)}, capture_output=True, text=True, check=True,
    ).stdout.split()[-1]
    proc, cold = start(args.data_dir, args.port)
    print(f"cold start to ready: {cold:.1f} s; notes: {len(texts)}, {statistics.mean(len(t.split()) for t in texts):.0f} words on average")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", headers=headers, timeout=60) as client:
            client.post("/v1/notes", json={"text": texts[0]})  # warm-up

            def one(i: int) -> float:
                t = time.perf_counter()
                r = client.post("/v1/notes", json={"text": texts[i % len(texts)]})
                assert r.status_code == 201, r.text
                return (time.perf_counter() - t) * 1000

            for clients in (1, 4, 16):
                t0 = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    lat = sorted(pool.map(one, range(args.requests)))
                wall = time.perf_counter() - t0
                p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
                print(f"{clients:>2} clients: p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, {args.requests / wall:.1f} notes/s")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
