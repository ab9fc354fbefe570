"""Ranked predictions and gold codes as TSV files, read into pandas DataFrames.

Predictions TSV (what ``write_predictions`` writes and ``codesuggest
evaluate --pred`` reads)::

    note_id<TAB>code<TAB>system<TAB>score
    S0004-06142005000700014-1<TAB>N44.8<TAB>ICD10CM<TAB>0.91
    S0004-06142005000700014-1<TAB>R60.9<TAB>ICD10CM<TAB>0.40

Each note's rows are written in descending score. The header line is written
and is optional on read. Ties in score keep the order of the file, so the
file order is the ranking the metrics see.

Gold TSVs (``read_gold``): either CodiEsp's ``case_id<TAB>code`` with the
system taken from the file name, which must end in an upper-case D or P
(``devD.tsv`` -> ICD10CM, ``devP.tsv`` -> ICD10PCS, also ``gs_D.tsv``), or ``note_id<TAB>code<TAB>system`` (header
optional). The same gold code twice for a note is kept once.

Codes are normalised on read (``n44.8`` -> ``N44.8``); a line that cannot be
read (wrong number of fields, a score that is not a number, an invalid code or
unknown system) raises :class:`~codesuggest.training.datasets.DatasetError`
naming the file and line: an evaluation should not quietly drop rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..codesets.records import CodeSystem, InvalidCode, normalize_code
from .datasets import DatasetError, numbered_lines

__all__ = ["PREDICTION_COLUMNS", "GOLD_COLUMNS", "write_predictions", "read_predictions", "read_gold"]

PREDICTION_COLUMNS = ["note_id", "code", "system", "score"]
GOLD_COLUMNS = ["note_id", "code", "system"]


def write_predictions(rows: Iterable[Sequence[Any]] | pd.DataFrame, path: str | Path) -> int:
    """Write ``(note_id, code, system, score)`` rows as a predictions TSV; return the row count.

    ``rows`` may be a DataFrame with those columns. Notes keep the order in
    which they first appear; within a note rows go by descending score (ties
    keep their order). Codes and systems are written as given: pass normalised
    codes (``normalize_code``) as everything in this package does.
    """
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in PREDICTION_COLUMNS if c not in rows.columns]
        if missing:
            raise ValueError(f"predictions frame lacks column(s) {', '.join(missing)}")
        records = list(rows[PREDICTION_COLUMNS].itertuples(index=False, name=None))
    else:
        records = [tuple(r) for r in rows]
    first_seen: dict[str, int] = {}
    cleaned = []
    for position, record in enumerate(records):
        if len(record) != 4:
            raise ValueError(f"prediction row {position + 1} has {len(record)} fields, expected note_id, code, system, score")
        note_id, code, system, score = record
        note_id = str(note_id)
        system = system.value if isinstance(system, CodeSystem) else str(system)
        score = float(score)
        if math.isnan(score):
            raise ValueError(f"prediction row {position + 1} ({note_id} {code}) has a NaN score")
        for value in (note_id, str(code), system):
            if "\t" in value or "\n" in value:
                raise ValueError(f"prediction row {position + 1}: fields may not contain tabs or newlines")
        first_seen.setdefault(note_id, len(first_seen))
        cleaned.append((first_seen[note_id], -score, position, note_id, str(code), system, score))
    cleaned.sort()
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(PREDICTION_COLUMNS) + "\n")
        for *_, note_id, code, system, score in cleaned:
            out.write(f"{note_id}\t{code}\t{system}\t{score!r}\n")
    return len(cleaned)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a predictions TSV into ``note_id, code, system, score, rank``.

    ``rank`` (1 = best) orders each note's codes of one system by descending
    score, ties in file order. Rows keep the file order.
    """
    path = Path(path)
    _require_file(path)
    rows = []
    for index, (number, line) in enumerate(numbered_lines(path)):
        fields = [f.strip() for f in line.split("\t")]
        if index == 0 and [f.lower() for f in fields] == PREDICTION_COLUMNS:
            continue
        where = f"{path}:{number}"
        if len(fields) != 4:
            raise DatasetError(f"{where}: expected note_id<TAB>code<TAB>system<TAB>score, got {len(fields)} fields")
        note_id, raw, system, score_text = fields
        if not note_id:
            raise DatasetError(f"{where}: empty note_id")
        system, code = _parse_code(system, raw, where)
        try:
            score = float(score_text)
        except ValueError:
            raise DatasetError(f"{where}: score {score_text!r} is not a number") from None
        if math.isnan(score):
            raise DatasetError(f"{where}: score is NaN")
        rows.append((note_id, code, system, score))
    frame = pd.DataFrame(rows, columns=PREDICTION_COLUMNS).astype(
        {"note_id": object, "code": object, "system": object, "score": float}
    )
    return add_ranks(frame)


def add_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank`` per (note_id, system): descending score, ties in row order."""
    frame = frame.reset_index(drop=True)
    order = frame.sort_values("score", ascending=False, kind="mergesort")
    ranks = order.groupby(["note_id", "system"], sort=False).cumcount() + 1
    frame["rank"] = ranks.reindex(frame.index).astype(int)
    return frame


def read_gold(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Read gold TSVs (CodiEsp ``*D.tsv``/``*P.tsv`` or 3-column) into ``note_id, code, system``."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for path in map(Path, paths):
        _require_file(path)
        file_system = _system_from_name(path)
        for index, (number, line) in enumerate(numbered_lines(path)):
            fields = [f.strip() for f in line.split("\t")]
            where = f"{path}:{number}"
            if index == 0 and [f.lower() for f in fields] in (GOLD_COLUMNS, ["note_id", "code"]):
                continue
            if len(fields) == 2:
                if file_system is None:
                    raise DatasetError(
                        f"{where}: a 2-column gold file needs a name ending in an upper-case D or P "
                        "(devD.tsv, devP.tsv) "
                        "to tell the code system; or add a third column with the system"
                    )
                note_id, raw, system = fields[0], fields[1], file_system
            elif len(fields) == 3:
                note_id, raw, system = fields
            else:
                raise DatasetError(f"{where}: expected note_id<TAB>code[<TAB>system], got {len(fields)} fields")
            if not note_id:
                raise DatasetError(f"{where}: empty note_id")
            system, code = _parse_code(system, raw, where)
            key = (note_id, code, system)
            if key not in seen:
                seen.add(key)
                rows.append(key)
    return pd.DataFrame(rows, columns=GOLD_COLUMNS).astype(object)


def _system_from_name(path: Path) -> str | None:
    """``devD.tsv``, ``trainP.tsv``, ``gs_D.tsv``: an upper-case D or P ends the name (``gold.tsv`` does not count)."""
    stem = path.name.split(".")[0]
    if len(stem) < 2 or stem[-1] not in "DP" or stem[-2].isupper():
        return None
    return CodeSystem.ICD10CM.value if stem[-1] == "D" else CodeSystem.ICD10PCS.value


def _parse_code(system: str, raw: str, where: str) -> tuple[str, str]:
    try:
        parsed = CodeSystem.parse(system)
        return parsed.value, normalize_code(parsed, raw)
    except (InvalidCode, ValueError) as exc:
        raise DatasetError(f"{where}: {exc}") from None


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
