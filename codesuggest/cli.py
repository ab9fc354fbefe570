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
