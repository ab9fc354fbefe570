"""Crash consistency: uvicorn in a subprocess takes concurrent decisions and is SIGKILLed mid-writes, then
restarted on the same database. Every decision acknowledged with a 201 must be there, every request's
decisions must be all there or all absent, and the database must pass its integrity checks
(SQLite: PRAGMA integrity_check and foreign_key_check; both: the consistency queries below).

CODESUGGEST_CRASH_REPETITIONS sets the number of kills per database (default 20). A SIGKILL is a process
crash, not a power cut: SQLite's WAL with synchronous=NORMAL keeps committed transactions through the former.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from reliability_app import Server
from service_fakes import DATABASES, NOTE, auth, database_url_for, make_keys

pytestmark = pytest.mark.slow  # 21 server starts and kills per database: minutes

REPETITIONS = int(os.environ.get("CODESUGGEST_CRASH_REPETITIONS", "20"))
WRITERS = 8

# Each must return 0 rows / 0 on a consistent database.
CONSISTENCY_QUERIES = {
    "decisions without their note": "SELECT count(*) FROM decision_events e LEFT JOIN notes n ON n.id = e.note_id WHERE n.id IS NULL",
    "decisions on a missing suggestion": (
        "SELECT count(*) FROM decision_events e LEFT JOIN suggestions s ON s.id = e.suggestion_id "
        "WHERE e.suggestion_id IS NOT NULL AND s.id IS NULL"),
    "suggestions without their note": "SELECT count(*) FROM suggestions s LEFT JOIN notes n ON n.id = s.note_id WHERE n.id IS NULL",
    "coded notes without decisions": (
        "SELECT count(*) FROM notes n WHERE n.status = 'coded' AND NOT EXISTS "
        "(SELECT 1 FROM decision_events e WHERE e.note_id = n.id)"),
    "open notes with decisions": (
        "SELECT count(*) FROM notes n WHERE n.status = 'open' AND EXISTS "
        "(SELECT 1 FROM decision_events e WHERE e.note_id = n.id)"),
    "half-stored requests (each stores 2 decisions)": (
        "SELECT count(*) FROM (SELECT reason FROM decision_events WHERE reason LIKE 'crash-%' "
        "GROUP BY reason HAVING count(*) <> 2) half"),
}


def check_database(url: str, acknowledged: set[int]) -> dict[str, int]:
    """Problems found (empty when consistent); opens the database directly, the server being dead."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed)
    problems: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            if parsed.get_backend_name() == "sqlite":
                integrity = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                if integrity != ["ok"]:
                    problems["integrity_check"] = len(integrity)
                fk = conn.execute(text("PRAGMA foreign_key_check")).all()
                if fk:
                    problems["foreign_key_check"] = len(fk)
            for name, query in CONSISTENCY_QUERIES.items():
                count = conn.execute(text(query)).scalar()
                if count:
                    problems[name] = count
            stored = {r[0] for r in conn.execute(text("SELECT id FROM decision_events"))}
            lost = acknowledged - stored
            if lost:
                problems["acknowledged decisions lost"] = len(lost)
    finally:
        engine.dispose()
    return problems


async def write_until_killed(server: Server, key: str, rng: random.Random) -> tuple[set[int], int]:
    """WRITERS clients post decisions (2 per request) on fresh notes; the server is SIGKILLed at a random
    moment after the first acknowledgement. Returns the acknowledged decision ids and the request count."""
    acknowledged: set[int] = set()
    first_ack = asyncio.Event()
    killed = asyncio.Event()
    sent = 0

    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(key), timeout=60) as client:  # the first note of a restarted server on a loaded machine
        notes = []
        for _ in range(WRITERS):
            r = await client.post("/v1/notes", json={"text": NOTE})
            assert r.status_code == 201, r.text
            notes.append((r.json()["note_id"], r.json()["suggestions"][0]["suggestion_id"]))

        async def writer(note_id: str, suggestion_id: int) -> None:
            nonlocal sent
            while not killed.is_set():
                body = {"decisions": [
                    {"suggestion_id": suggestion_id, "action": "accept", "reason": f"crash-{uuid.uuid4().hex}"},
                    {"system": "ICD10CM", "code": "E78.5", "action": "add", "reason": None},
                ]}
                body["decisions"][1]["reason"] = body["decisions"][0]["reason"]
                sent += 1
                try:
                    r = await client.post(f"/v1/notes/{note_id}/decisions", json=body)
                except httpx.HTTPError:
                    return  # the server died under this request: it may or may not be stored (all or nothing)
                assert r.status_code == 201, r.text
                acknowledged.update(d["decision_id"] for d in r.json()["decisions"])
                first_ack.set()

        async def killer() -> None:
            await asyncio.wait_for(first_ack.wait(), 30)
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            server.kill()
            killed.set()

        await asyncio.gather(killer(), *(writer(n, s) for n, s in notes))
    return acknowledged, sent


@pytest.mark.parametrize("kind", DATABASES)
def test_sigkill_mid_writes_loses_no_acknowledged_decision(tmp_path: Path, kind: str):
    rng = random.Random(7)
    with database_url_for(kind, tmp_path) as url:
        key = make_keys(url)["coder"]
        acknowledged: set[int] = set()
        log = tmp_path / "server.log"
        total_sent = 0
        for repetition in range(REPETITIONS + 1):
            server = Server(tmp_path, url, log)  # after the first: the restart after a crash
            try:
                server.wait_ready()
                if acknowledged:  # the restarted service serves what was acknowledged before the crash
                    r = httpx.get(f"{server.base_url}/v1/notes?status=coded&limit=200", headers=auth(key))
                    assert r.status_code == 200 and r.json()["total"] >= 1
                if repetition == REPETITIONS:
                    break
                acked, sent = asyncio.run(write_until_killed(server, key, rng))
                total_sent += sent
                assert acked, "no decision was acknowledged before the kill"
                assert server.process.returncode == -9
                acknowledged |= acked
                problems = check_database(url, acknowledged)
                assert not problems, f"repetition {repetition}: {problems}"
            finally:
                server.stop()
        print(f"crash[{kind}]: {REPETITIONS} SIGKILLs, {total_sent} decision requests, "
              f"{len(acknowledged)} acknowledged decisions, all present")
