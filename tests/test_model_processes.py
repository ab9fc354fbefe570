"""The model in forked worker processes (models/runtime.py), alone and behind the service."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from service_fakes import FakeRegistry, KeywordSuggester, auth, real_catalog, service

from codesuggest.models.runtime import ModelWorkerError, SuggesterProcesses, can_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes need fork")

NOTE = "Hypertension. Type 2 diabetes. No chest pain."


class PidSuggester(KeywordSuggester):
    """Says which process ran it (in the reason) and can be told to fail or to die."""

    def suggest(self, text, setting=None, top_k=30, output=None):
        if text == "raise":
            raise ValueError("bad note")
        if text == "die":
            os._exit(3)
        window = ""
        if text.startswith("sleep "):
            started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
            time.sleep(float(text.split()[1]))
            window = f" {started} {time.monotonic()}"
        reason = f"{os.getpid()}{window}"
        return [s.__class__(**{**_fields(s), "reason": reason}) for s in super().suggest(text, setting, top_k)]


def _fields(s):
    return {f: getattr(s, f) for f in s.__slots__}


@pytest.fixture
def processes():
    pool = SuggesterProcesses(PidSuggester("kw-p"), 2)
    yield pool
    pool.close(timeout=5)


def test_workers_answer_as_the_model_would_here(processes):
    here = PidSuggester("kw-p")
    there = processes.suggest(NOTE)
    assert [(_fields(s) | {"reason": ""}) for s in there] == [(_fields(s) | {"reason": ""}) for s in here.suggest(NOTE)]
    assert {s.reason for s in there} <= {str(pid) for pid in processes.pids} and os.getpid() not in processes.pids
    assert processes.suggest_many([NOTE, "headache"], top_k=1)[1][0].code == "R51.9"
    assert processes.version == "kw-p"


def test_requests_run_in_parallel_on_different_workers(processes):
    """Each worker says when it slept: the two sleeps overlap (no wall-clock bound, which a loaded machine breaks)."""
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(processes.suggest("sleep 0.5 hypertension"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids, starts, ends = zip(*(a[0].reason.split() for a in answers))
    assert len(set(pids)) == 2
    assert max(map(float, starts)) < min(map(float, ends))  # one started before the other had finished


def test_an_exception_reaches_the_caller_and_the_worker_stays(processes):
    pids = sorted(processes.pids)
    with pytest.raises(ValueError, match="bad note"):
        processes.suggest("raise")
    assert sorted(processes.pids) == pids
    assert processes.suggest("hypertension")[0].code == "I10"


def test_a_dead_worker_fails_its_request_and_is_replaced(processes):
    with pytest.raises(ModelWorkerError, match="code 3"):
        processes.suggest("die")
    assert len(processes.pids) == 2
    for _ in range(4):  # both workers, old and new, answer
        assert processes.suggest("hypertension")[0].code == "I10"
    victim = processes.pids[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.2)
    answers = []
    for _ in range(3):
        try:
            answers.append(processes.suggest("hypertension")[0].code)
        except ModelWorkerError:
            answers.append("died")
    assert answers.count("died") <= 1 and answers.count("I10") >= 2 and victim not in processes.pids


def test_close_waits_for_requests_in_flight_then_stops_the_workers():
    pool = SuggesterProcesses(PidSuggester("kw-p"), 2)
    workers = list(pool._workers)
    result = {}
    busy = threading.Thread(target=lambda: result.setdefault("codes", pool.suggest("sleep 0.4 hypertension")))
    busy.start()
    time.sleep(0.1)
    pool.close(timeout=10)
    busy.join()
    assert result["codes"][0].code == "I10"  # finished, not cut off
    assert all(not w.process.is_alive() for w in workers) and pool.pids == []
    late = pool.suggest("hypertension")  # a request that took this model before it was retired
    assert late[0].code == "I10" and late[0].reason == str(os.getpid())


def test_the_service_serves_and_swaps_models_through_worker_processes(tmp_path):
    real_catalog()
    v1, v2 = PidSuggester("kw-1"), PidSuggester("kw-2", confidence_shift=0.05)
    registry = FakeRegistry(v1, v2, active="kw-1")
    with service(tmp_path, suggester=v1, registry=registry, model_processes=2) as (client, keys, app):
        holder = app.state.service.models
        first = holder.current
        pids = set(first.pids)
        created = client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"])).json()
        assert created["model_version"] == "kw-1" and created["suggestions"][0]["confidence"] == 0.91
        assert {s["reason"] for s in created["suggestions"]} <= {str(p) for p in pids}

        assert client.post("/v1/models/kw-2/activate", headers=auth(keys["data_scientist"])).status_code == 200
        after = client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"])).json()
        assert after["model_version"] == "kw-2" and after["suggestions"][0]["confidence"] == 0.96
        assert {s["reason"] for s in after["suggestions"]}.isdisjoint({str(p) for p in pids})
        deadline = time.monotonic() + 10
        while first.pids and time.monotonic() < deadline:  # the old model's workers are retired
            time.sleep(0.05)
        assert first.pids == []
        second = holder.current
    assert second.pids == []  # shutting the service down stops the workers


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_workers_do_not_hold_the_servers_sockets_open():
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    pool = SuggesterProcesses(PidSuggester("kw-p"), 1)  # forked while the server has a connection open
    try:
        accepted.close()  # the server hangs up: the client must see it, though a worker was forked with it
        client.settimeout(5)
        assert client.recv(1) == b""
        assert pool.suggest("hypertension")[0].code == "I10"
    finally:
        pool.close(timeout=5)
        client.close()
        listener.close()


class PickyError(Exception):
    def __init__(self, code, detail):  # pickles, but cannot be unpickled: args holds only the message
        super().__init__(f"{code}: {detail}")


class PickySuggester(PidSuggester):
    def suggest(self, text, setting=None, top_k=30, output=None):
        if text == "picky":
            raise PickyError(7, "odd")
        return super().suggest(text, setting, top_k)


def test_an_exception_that_cannot_cross_arrives_in_words_and_the_worker_stays():
    pool = SuggesterProcesses(PickySuggester("kw-p"), 1)
    try:
        pid = pool.pids
        with pytest.raises(RuntimeError, match="PickyError: 7: odd"):
            pool.suggest("picky")
        assert pool.pids == pid and pool.suggest("hypertension")[0].code == "I10"
    finally:
        pool.close(timeout=5)


def test_a_worker_dying_on_a_note_is_a_503_to_retry_and_nothing_is_stored(tmp_path):
    real_catalog()
    with service(tmp_path, suggester=PidSuggester("kw-1"), model_processes=1) as (client, keys, app):
        r = client.post("/v1/notes", json={"text": "die"}, headers=auth(keys["coder"]))
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "restarted" in r.json()["error"]["message"]
        assert client.get("/v1/notes", headers=auth(keys["coder"])).json()["total"] == 0
        again = client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"]))
        assert again.status_code == 201 and again.json()["suggestions"][0]["code"] == "I10"


def test_a_request_waiting_for_a_worker_when_the_model_is_retired_is_answered_not_stranded():
    pool = SuggesterProcesses(PidSuggester("kw-p"), 1)
    results = {}
    busy = threading.Thread(target=lambda: results.setdefault("busy", pool.suggest("sleep 0.5 hypertension")))
    waiting = threading.Thread(target=lambda: results.setdefault("waiting", pool.suggest("headache")))
    busy.start()
    time.sleep(0.1)
    waiting.start()  # queued behind the only worker
    time.sleep(0.1)
    pool.close(timeout=10)  # takes the worker back when the first request is done
    waiting.join(timeout=5)
    busy.join(timeout=5)
    assert not waiting.is_alive(), "a queued request hung after the model was retired"
    assert results["busy"][0].code == "I10" and results["waiting"][0].code == "R51.9"


def test_a_worker_is_replaced_by_a_fresh_one_after_max_requests():
    """Bounded growth: a worker that has answered max_requests requests (errors count) makes way
    for a fresh fork of the loaded model; no request fails or waits for the old one to exit."""
    pool = SuggesterProcesses(PidSuggester("kw-p"), 1, max_requests=2)
    try:
        first = pool.pids
        assert {s.reason for s in pool.suggest(NOTE)} == {str(first[0])}
        with pytest.raises(ValueError, match="bad note"):
            pool.suggest("raise")  # the second request: the worker is replaced after answering it
        second = pool.pids
        assert len(second) == 1 and second != first
        assert {s.reason for s in pool.suggest(NOTE)} == {str(second[0])}
        deadline = time.monotonic() + 10
        while _alive(first[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(first[0])  # the retired worker exited
    finally:
        pool.close(timeout=5)


def test_max_requests_cannot_be_negative():
    with pytest.raises(ValueError, match="max_requests"):
        SuggesterProcesses(PidSuggester("kw-p"), 1, max_requests=-1)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (its parent has reaped it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_service_replaces_its_model_workers_after_the_configured_requests(tmp_path):
    real_catalog()
    with service(tmp_path, suggester=PidSuggester("kw-1"), model_processes=1, model_worker_max_requests=2) as (client, keys, app):
        pids = []
        for _ in range(3):
            r = client.post("/v1/notes", json={"text": NOTE}, headers=auth(keys["coder"]))
            assert r.status_code == 201
            pids.append(r.json()["suggestions"][0]["reason"])
    # the warm-up runs in the server process before the workers start: requests 1 and 2 share a worker
    assert pids[0] == pids[1] != pids[2]
