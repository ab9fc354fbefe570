"""The coder feedback loop end to end, through the service API (issue 4).

    .venv/bin/python benchmarks/feedback_loop.py --codiesp ../shared/data/codiesp \
        --pcs-file ../shared/data/codesets/icd10pcs-codes-2026.txt.gz --cache-dir /tmp/cs-cache \
        [--workdir /tmp/feedback-loop] [--json benchmarks/out/feedback_loop.json]

1. Train a model on CodiEsp train (``training.workflow``, seed 0), save it in a fresh
   registry and activate it.
2. Start the service on that registry (``create_app`` with the real suggester, FastAPI's
   TestClient, keys made with ``service.keys.create_api_key``).
3. Submit half of CodiEsp dev (half A: every other note by sorted id) as a coder. Simulated
   coders accept the suggestions that are gold codes, reject the others, and add the gold
   codes the model did not suggest (those the service accepts: billable codes of the loaded
   code sets; CodiEsp's 4-character PCS prefixes and retired codes cannot be added).
4. Export the feedback (``GET /v1/feedback/export``) as a data scientist, retrain on CodiEsp
   train + the export, and activate the new version through ``POST /v1/models/{version}/activate``.
5. On the other half (B), submitted through the API to the new model: codes the coders had
   *added* on half A (the old model missed them there) that are gold in a half-B note, in the
   new model's suggestions and not in the old model's (same top 30). And MAP on B
   (``training.metrics.evaluate``, top 100) of the old and the new model.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

SYSTEMS = ("ICD10CM", "ICD10PCS")
TOP_K = 30  # suggestions per note, as the service returns them


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _map(suggester, notes, top_k: int = 100) -> dict[str, float]:
    from codesuggest.models.interface import Output
    from codesuggest.training.metrics import evaluate

    rows = []
    for start in range(0, len(notes), 32):
        chunk = notes[start : start + 32]
        for note, ranked in zip(chunk, suggester.suggest_many([n.text for n in chunk], top_k=top_k, output=Output.RANKED)):
            rows += [(note.note_id, r.code, r.system, r.score) for r in ranked]
    pred = pd.DataFrame(rows, columns=["note_id", "code", "system", "score"])
    gold = pd.DataFrame([(n.note_id, c, s) for n in notes for s, c in n.codes], columns=["note_id", "code", "system"])
    report = evaluate(pred, gold, 0.5, note_ids=[n.note_id for n in notes])
    return {system: round(report[system].map, 4) for system in SYSTEMS}


def coder_decisions(suggestions: list[dict], gold: set[tuple[str, str]], catalog) -> tuple[list[dict], list[tuple[str, str]], int]:
    """A simulated coder: accept gold suggestions, reject the rest, add missed gold codes the service
    accepts. Returns ``(decisions, added codes, gold codes that could not be added)``."""
    decisions, suggested = [], set()
    for s in suggestions:
        key = (s["system"], s["code"])
        suggested.add(key)
        decisions.append({"suggestion_id": s["suggestion_id"], "action": "accept" if key in gold else "reject"})
    added, not_addable = [], 0
    for system, code in sorted(gold - suggested):
        entry = catalog.get(system, code)
        if entry is None or not entry.billable:
            not_addable += 1
            continue
        decisions.append({"system": system, "code": code, "action": "add"})
        added.append((system, code))
    return decisions, added, not_addable


def run(codiesp: Path, pcs_file: Path, cache_dir: Path, workdir: Path, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from codesuggest.codesets import CodeCatalog, CodeSetSources
    from codesuggest.config import Settings
    from codesuggest.models.registry import FileModelRegistry
    from codesuggest.pipeline.nlp import Analyzer
    from codesuggest.pipeline.resources import ensure_term_index
    from codesuggest.service.app import create_app
    from codesuggest.storage.db import Database
    from codesuggest.service.keys import create_api_key
    from codesuggest.training.datasets import load_codiesp
    from codesuggest.training.workflow import load_training_data, train_and_save

    started = time.perf_counter()
    timings: dict[str, float] = {}
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=workdir, pcs_file=pcs_file)
    catalog = CodeCatalog.load(CodeSetSources(pcs_file=pcs_file))
    analyzer = Analyzer.from_index(ensure_term_index(catalog, cache_dir))
    registry = FileModelRegistry(settings.models_dir, settings=settings, analyzer=analyzer, catalog=catalog)

    train_spec = f"codiesp:{codiesp / 'train'}"
    t = time.perf_counter()
    old = train_and_save(load_training_data([train_spec], catalog), analyzer, registry, seed=seed, activate=True, progress=progress)
    timings["train_old"] = time.perf_counter() - t
    old_suggester = registry.load(old.version)

    dev = sorted(load_codiesp(codiesp / "dev"), key=lambda n: n.note_id)
    half_a, half_b = dev[0::2], dev[1::2]

    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.session() as session:
        coder = create_api_key(session, "loop-coder", "coder")
        scientist = create_api_key(session, "loop-data-scientist", "data_scientist")
    db.dispose()

    app = create_app(
        settings, suggester_provider=lambda: registry.load(registry.active_version()), registry=registry, catalog=catalog
    )
    added_on_a: dict[tuple[str, str], int] = {}
    counts = {"accepted": 0, "rejected": 0, "added": 0, "not_addable": 0, "gold": 0}
    with TestClient(app) as client:
        t = time.perf_counter()
        for note in half_a:
            r = client.post("/v1/notes", json={"text": note.text, "external_id": note.note_id}, headers=_auth(coder))
            r.raise_for_status()
            body = r.json()
            assert body["model_version"] == old.version, body["model_version"]
            gold = set(note.codes)
            decisions, added, not_addable = coder_decisions(body["suggestions"], gold, catalog)
            r = client.post(f"/v1/notes/{body['note_id']}/decisions", json={"decisions": decisions}, headers=_auth(coder))
            r.raise_for_status()
            counts["accepted"] += sum(d["action"] == "accept" for d in decisions)
            counts["rejected"] += sum(d["action"] == "reject" for d in decisions)
            counts["added"] += len(added)
            counts["not_addable"] += not_addable
            counts["gold"] += len(gold)
            for key in added:
                added_on_a[key] = added_on_a.get(key, 0) + 1
        timings["code_half_a"] = time.perf_counter() - t

        r = client.get("/v1/feedback/export", headers=_auth(scientist))
        r.raise_for_status()
        feedback_file = workdir / "feedback.jsonl"
        feedback_file.write_text(r.text, encoding="utf-8")
        exported = [json.loads(line) for line in r.text.splitlines() if line.strip()]

        t = time.perf_counter()
        data = load_training_data([train_spec, f"jsonl:{feedback_file}"], catalog)
        new = train_and_save(data, analyzer, registry, seed=seed, activate=False, progress=progress)
        timings["train_new"] = time.perf_counter() - t

        r = client.post(f"/v1/models/{new.version}/activate", headers=_auth(scientist))
        r.raise_for_status()
        activated = r.json()

        t = time.perf_counter()
        hits: list[dict[str, str]] = []
        lost = 0  # the reverse: suggested by the old model and no longer by the new one
        candidates = 0  # (half-B note, code) pairs: gold there and added by coders on half A
        old_b = old_suggester.suggest_many([n.text for n in half_b], top_k=TOP_K)
        for note, old_suggestions in zip(half_b, old_b):
            r = client.post("/v1/notes", json={"text": note.text, "external_id": note.note_id}, headers=_auth(coder))
            r.raise_for_status()
            body = r.json()
            assert body["model_version"] == new.version, body["model_version"]
            new_codes = {(s["system"], s["code"]) for s in body["suggestions"]}
            old_codes = {(s.system, s.code) for s in old_suggestions}
            for key in sorted(set(note.codes) & added_on_a.keys()):
                candidates += 1
                if key in new_codes and key not in old_codes:
                    hits.append({"note_id": note.note_id, "system": key[0], "code": key[1]})
                lost += key in old_codes and key not in new_codes
        timings["half_b_through_api"] = time.perf_counter() - t

    t = time.perf_counter()
    new_suggester = registry.load(new.version)
    map_old, map_new = _map(old_suggester, half_b), _map(new_suggester, half_b)
    timings["map_half_b"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return {
        "old_version": old.version,
        "new_version": new.version,
        "activated": activated,
        "half_a_notes": len(half_a),
        "half_b_notes": len(half_b),
        "decisions": counts,
        "exported_notes": len(exported),
        "exported_codes": sum(len(e["codes"]) for e in exported),
        "added_codes_distinct": len(added_on_a),
        "half_b_gold_pairs_with_added_codes": candidates,
        "new_only_hits": hits,
        "old_only": lost,
        "map_half_b_old": map_old,
        "map_half_b_new": map_new,
        "oof_old": {k: v for k, v in old.metrics.items() if k.endswith(".map")},
        "oof_new": {k: v for k, v in new.metrics.items() if k.endswith(".map")},
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--pcs-file", type=Path, default=Path("../shared/data/codesets/icd10pcs-codes-2026.txt.gz"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/cs-cache"))
    parser.add_argument("--workdir", type=Path, help="data directory of the service and registry [default: a temporary one]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="feedback-loop-"))
    result = run(args.codiesp, args.pcs_file, args.cache_dir, workdir, seed=args.seed)
    hits = result.pop("new_only_hits")
    print(json.dumps(result, indent=2))
    print(f"{len(hits)} (note, code) pairs on half B: added by coders on half A, suggested by the new model, not by the old:")
    for hit in hits[:20]:
        print(f"  {hit['note_id']}\t{hit['system']}\t{hit['code']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**result, "new_only_hits": hits}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
