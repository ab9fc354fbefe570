"""The ``codesuggest`` command line: each command parses its arguments and calls library code.

Errors a user can fix (a missing file, a malformed line) end with exit code 2
and one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import Settings, get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="NLP-assisted medical coding suggestions.")
codesets_app = typer.Typer(no_args_is_help=True, help="Code sets: build the caches, inspect versions.")
app.add_typer(codesets_app, name="codesets")


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(pcs_file: Path | None = None, cpt_file: Path | None = None) -> Settings:
    base = get_settings()
    updates = {k: v for k, v in {"pcs_file": pcs_file, "cpt_file": cpt_file}.items() if v is not None}
    return base.model_copy(update=updates) if updates else base


PcsOption = Annotated[Optional[Path], typer.Option("--pcs-file", help="CMS ICD-10-PCS codes file [env: CODESUGGEST_PCS_FILE]")]
CptOption = Annotated[Optional[Path], typer.Option("--cpt-file", help="your licensed CPT CSV (code,description) [env: CODESUGGEST_CPT_FILE]")]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run() -> None:
    """Entry point that turns user errors into one line and exit code 2."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


# --- codesuggest evaluate (training/metrics.py) -------------------------------


@app.command()
def evaluate(
    pred: Annotated[Path, typer.Option("--pred", help="predictions TSV: note_id, code, system, score")],
    gold: Annotated[list[Path], typer.Option("--gold", help="gold TSV (CodiEsp *D.tsv / *P.tsv, or note_id, code, system); repeatable")],
    threshold: Annotated[
        list[str], typer.Option("--threshold", help="decision threshold, or SYSTEM=VALUE for one system; repeatable")
    ] = ["0.5"],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the full report as JSON here")] = None,
    k: Annotated[list[int], typer.Option("--k", help="cut-offs for precision@k and recall@k; repeatable")] = [1, 5, 10, 20],
    bins: Annotated[int, typer.Option("--bins", min=1, help="calibration bins")] = 10,
    pcs_prefix_match: Annotated[
        bool, typer.Option("--pcs-prefix-match", help="let a 7-character PCS code match a 4-character gold prefix")
    ] = False,
) -> None:
    """Score ranked predictions against gold codes: MAP, P/R@k, P/R/F1 at a threshold, calibration."""
    from .codesets.records import CodeSystem
    from .training.datasets import DatasetError
    from .training.metrics import evaluate as run_evaluation
    from .training.predictions import read_gold, read_predictions

    thresholds: dict[str, float] = {}
    for item in threshold:
        name, sep, value = item.rpartition("=")
        try:
            key = CodeSystem.parse(name).value if sep else "default"
            thresholds[key] = float(value)
        except ValueError as exc:
            fail(f"--threshold {item!r}: {exc}")
    try:
        predictions = read_predictions(pred)
        gold_frame = read_gold(gold)
        if gold_frame.empty:
            fail("the gold files contain no codes")
        report = run_evaluation(predictions, gold_frame, thresholds, k, n_bins=bins, pcs_prefix_match=pcs_prefix_match)
    except (DatasetError, ValueError) as exc:
        fail(str(exc))
    typer.echo(report.to_table())
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {json_out}: {exc.strerror or exc}")
