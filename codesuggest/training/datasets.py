"""Coded notes from files: CodiEsp, and the generic format that feedback exports use too.

Every loader returns a :class:`Dataset` (a ``list`` of :class:`CodedNote`
with a :class:`LoadReport` on ``.report``). Codes are normalised here, once
(``n44.8`` -> ``("ICD10CM", "N44.8")``, ``bw03zzz`` -> ``("ICD10PCS",
"BW03ZZZ")``; 4-character PCS prefixes stay prefixes); nothing downstream
re-normalises.

Specs for :func:`load_dataset`
------------------------------
``codiesp:DIR``      a CodiEsp split folder (``DIR/text_files_en/*.txt``,
                     ``DIR/*D.tsv`` -> ICD10CM, ``DIR/*P.tsv`` -> ICD10PCS)
``jsonl:FILE``       generic format, JSON Lines
``csv:FILE``         generic format, CSV
``parquet:FILE``     generic format, Parquet
A spec without a scheme is guessed from the path (a folder -> ``codiesp``,
``.jsonl``/``.csv``/``.parquet`` -> that format). Other schemes
(``feedback:DATABASE_URL``) are added with :func:`register_loader`.

Generic format (also what :func:`write_jsonl` and the feedback export write)
----------------------------------------------------------------------------
One note per record.

JSON Lines, one object per line (blank lines are ignored, unknown keys too)::

    {"note_id": "n1", "text": "Type 2 diabetes with ...",
     "codes": [{"system": "ICD10CM", "code": "E11.22"},
               {"system": "ICD10PCS", "code": "BW03ZZZ"}],
     "source": "feedback"}

- ``note_id``: non-empty string (an integer is accepted and turned into one);
- ``text``: string;
- ``codes``: list of ``{"system", "code"}`` objects, may be empty or absent;
  ``system`` is ``ICD10CM``, ``ICD10PCS`` or ``CPT`` (the spellings
  :meth:`CodeSystem.parse` accepts also do); codes in any usual spelling;
- ``source`` (optional): where the note came from; defaults to the file.

CSV / Parquet: one row per note with columns ``note_id``, ``text``,
``codes`` and optionally ``source``; ``codes`` is a string
``SYSTEM:CODE;SYSTEM:CODE`` (``ICD10CM:E11.22;ICD10PCS:BW03ZZZ``), empty for
none (in Parquet it may also be a list of ``{"system", "code"}`` structs, as
in JSON Lines). (The long format, one row per code, is not read: a note's text would
be repeated on every row.)

Problems in the input
---------------------
- a file that is not UTF-8, a malformed line or record, a code row whose note
  has no text file, the same ``note_id`` twice with different texts:
  :class:`DatasetError` naming the file and the line (or row);
- an invalid code or unknown system: skipped, logged, listed in the report
  with its file and line;
- an empty note (blank text): skipped with its codes, logged and counted;
- the same ``note_id`` twice with the same text: merged into one note whose
  codes are the union (feedback exports may write one record per decision);
  counted in the report;
- the same code twice for a note: kept once, counted.
"""

from __future__ import annotations

import json
import logging
import numbers
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..codesets.records import CodeSystem, InvalidCode, normalize_code

__all__ = [
    "CodedNote",
    "Dataset",
    "DatasetError",
    "LoadReport",
    "load_codiesp",
    "load_dataset",
    "load_jsonl",
    "load_table",
    "notes_format",
    "read_notes",
    "register_loader",
    "registered_schemes",
    "write_jsonl",
]

logger = logging.getLogger(__name__)

_MAX_LOGGED = 10  # problems logged one by one; all of them stay in the report


class DatasetError(ValueError):
    """Input that cannot be loaded; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class CodedNote:
    """A note's text and its gold codes, as ``(system, code)`` pairs with normalised codes."""

    note_id: str
    text: str
    codes: tuple[tuple[str, str], ...]
    source: str

    def codes_of(self, system: CodeSystem | str) -> tuple[str, ...]:
        system = system if isinstance(system, CodeSystem) else CodeSystem.parse(system)
        return tuple(code for sys_, code in self.codes if sys_ == system.value)


@dataclass(slots=True)
class LoadReport:
    """What a loader read and what it left out."""

    source: str
    notes: int = 0
    codes_per_system: dict[str, int] = field(default_factory=dict)
    notes_without_codes: int = 0
    skipped_empty_notes: int = 0
    skipped_codes: int = 0
    duplicate_codes: int = 0
    merged_notes: int = 0
    problems: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.problems.append(message)
        if len(self.problems) <= _MAX_LOGGED:
            logger.warning(message)
        elif len(self.problems) == _MAX_LOGGED + 1:
            logger.warning("%s: more problems, see the load report", self.source)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        codes = ", ".join(f"{k} {v}" for k, v in sorted(self.codes_per_system.items())) or "no codes"
        parts = [f"{self.source}: {self.notes} notes ({codes})"]
        for label, value in [
            ("without codes", self.notes_without_codes),
            ("empty notes skipped", self.skipped_empty_notes),
            ("invalid codes skipped", self.skipped_codes),
            ("duplicate codes merged", self.duplicate_codes),
            ("duplicate notes merged", self.merged_notes),
        ]:
            if value:
                parts.append(f"{value} {label}")
        return "; ".join(parts)


class Dataset(list):
    """The loaded notes (a plain list of :class:`CodedNote`) and the :class:`LoadReport`."""

    def __init__(self, notes: Iterable[CodedNote] = (), report: LoadReport | None = None):
        super().__init__(notes)
        self.report = report if report is not None else LoadReport(source="")


# ---------------------------------------------------------------------------
# Assembling notes (shared by all loaders)


class _Builder:
    """Collects texts and code rows, then applies the rules of the module docstring."""

    def __init__(self, source: str):
        self.report = LoadReport(source=source)
        self.texts: dict[str, tuple[str, str, str]] = {}  # note_id -> (text, source, where)
        self.codes: dict[str, dict[tuple[str, str], None]] = {}  # ordered sets

    def add_note(self, note_id: str, text: str, source: str, where: str) -> None:
        if note_id in self.texts:
            previous_text, _, previous_where = self.texts[note_id]
            if previous_text != text:
                raise DatasetError(f"{where}: note_id {note_id!r} already seen at {previous_where} with a different text")
            self.report.merged_notes += 1
            return
        self.texts[note_id] = (text, source, where)
        self.codes.setdefault(note_id, {})

    def add_code(self, note_id: str, system: str, raw: str, where: str) -> None:
        try:
            key = _normalize_pair(system, raw)
        except (InvalidCode, ValueError) as exc:
            self.report.skipped_codes += 1
            self.report.warn(f"{where}: skipped: {exc}")
            return
        codes = self.codes.setdefault(note_id, {})
        if key in codes:
            self.report.duplicate_codes += 1
        else:
            codes[key] = None

    def build(self) -> Dataset:
        notes = []
        report = self.report
        for note_id, (text, source, where) in self.texts.items():
            codes = tuple(self.codes.get(note_id, {}))
            if not text.strip():
                report.skipped_empty_notes += 1
                report.warn(f"{where}: skipped: note {note_id!r} is empty ({len(codes)} codes dropped)")
                continue
            notes.append(CodedNote(note_id=note_id, text=text, codes=codes, source=source))
            report.notes_without_codes += not codes
            for system, _ in codes:
                report.codes_per_system[system] = report.codes_per_system.get(system, 0) + 1
        report.notes = len(notes)
        return Dataset(notes, report)


def _normalize_pair(system: str, raw: str) -> tuple[str, str]:
    parsed = CodeSystem.parse(system)
    if not str(raw).strip():
        raise InvalidCode("empty code")
    return parsed.value, normalize_code(parsed, raw)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{path}:{line}: not UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None


def numbered_lines(path: Path) -> Iterable[tuple[int, str]]:
    """Numbered non-blank lines of a UTF-8 text file, without the line end."""
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if line.strip():
            yield number, line


# ---------------------------------------------------------------------------
# CodiEsp


def load_codiesp(directory: str | Path) -> Dataset:
    """Load one CodiEsp split folder (``train``, ``dev``): English texts, D and P codes.

    ``DIR/text_files_en/ID.txt`` gives the note ``ID``; ``DIR/*D.tsv`` lines
    ``ID<TAB>code`` give its ICD-10-CM codes and ``DIR/*P.tsv`` its
    ICD-10-PCS codes (a split without code files loads with no codes).
    """
    directory = Path(directory)
    text_dir = directory / "text_files_en"
    if not text_dir.is_dir():
        hint = ""
        if (directory / "train").is_dir() or (directory / "dev").is_dir():
            hint = f" (give a split folder such as {directory / 'train'})"
        raise DatasetError(f"{directory}: no text_files_en folder{hint}")
    builder = _Builder(source=f"codiesp:{directory.name}")
    for path in sorted(text_dir.glob("*.txt")):
        builder.add_note(path.stem, _read_text(path), f"codiesp:{directory.name}", str(path))
    if not builder.texts:
        raise DatasetError(f"{text_dir}: no .txt files")

    for suffix, system in (("D", CodeSystem.ICD10CM), ("P", CodeSystem.ICD10PCS)):
        files = sorted(directory.glob(f"*{suffix}.tsv"))
        if len(files) > 1:
            raise DatasetError(f"{directory}: several *{suffix}.tsv files ({', '.join(f.name for f in files)})")
        if not files:
            builder.report.warn(f"{directory}: no *{suffix}.tsv file, no {system.value} codes")
            continue
        for number, line in numbered_lines(files[0]):
            where = f"{files[0]}:{number}"
            fields = line.split("\t")
            if len(fields) != 2:
                raise DatasetError(f"{where}: expected 'case_id<TAB>code', got {len(fields)} fields")
            note_id, raw = fields[0].strip(), fields[1].strip()
            if note_id not in builder.texts:
                raise DatasetError(f"{where}: no text file for case {note_id!r} (expected {text_dir / (note_id + '.txt')})")
            builder.add_code(note_id, system.value, raw, where)
    return builder.build()


# ---------------------------------------------------------------------------
# Generic format


def load_jsonl(path: str | Path) -> Dataset:
    """Load the generic format from JSON Lines (see the module docstring)."""
    path = Path(path)
    builder = _Builder(source=f"jsonl:{path.name}")
    for number, line in numbered_lines(path):
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from None
        _add_record(builder, record, where, builder.report.source)
    return builder.build()


def records_to_dataset(records: Iterable[Any], source: str) -> Dataset:
    """A :class:`Dataset` from generic-format records already parsed (dicts with ``note_id``,
    ``text``, ``codes``), e.g. a feedback export; problems are named ``SOURCE record N``."""
    builder = _Builder(source=source)
    for number, record in enumerate(records, start=1):
        _add_record(builder, record, f"{source} record {number}", source)
    return builder.build()


def _add_record(builder: "_Builder", record: Any, where: str, default_source: str) -> None:
    """One generic-format record (JSON Lines line or export item) into the builder."""
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    note_id = _note_id(record.get("note_id"), where)
    text = record.get("text")
    if not isinstance(text, str):
        raise DatasetError(f"{where}: 'text' must be a string")
    builder.add_note(note_id, text, str(record.get("source") or default_source), where)
    codes = record.get("codes") or []
    if not isinstance(codes, list):
        raise DatasetError(f"{where}: 'codes' must be a list of {{\"system\", \"code\"}} objects")
    for item in codes:
        if not isinstance(item, dict) or "system" not in item or "code" not in item:
            raise DatasetError(f"{where}: each code must be an object with 'system' and 'code', got {item!r}")
        builder.add_code(note_id, str(item["system"]), str(item["code"]), where)


def load_table(path: str | Path) -> Dataset:
    """Load the generic format from CSV or Parquet (chosen by the file suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    scheme = "parquet" if suffix in {".parquet", ".pq"} else "csv"
    try:
        if scheme == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except Exception as exc:  # pandas / pyarrow parse errors have many types
        raise DatasetError(f"{path}: cannot read as {scheme} ({exc})") from None
    missing = [c for c in ("note_id", "text", "codes") if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (expected note_id, text, codes)")
    builder = _Builder(source=f"{scheme}:{path.name}")
    has_source = "source" in frame.columns
    for row, record in enumerate(frame.to_dict("records"), start=1):
        where = f"{path}: row {row}"
        note_id = _note_id(record["note_id"], where)
        text = record["text"]
        if _is_missing(text):
            text = ""
        if not isinstance(text, str):
            raise DatasetError(f"{where}: 'text' must be a string")
        source = record["source"] if has_source and not _is_missing(record["source"]) else builder.report.source
        builder.add_note(note_id, text, str(source), where)
        codes = record["codes"]
        if _is_sequence(codes):  # Parquet may hold the JSON shape: a list of {"system", "code"}
            for item in codes:
                if not isinstance(item, dict) or "system" not in item or "code" not in item:
                    raise DatasetError(f"{where}: each code must have 'system' and 'code', got {item!r}")
                builder.add_code(note_id, str(item["system"]), str(item["code"]), where)
            continue
        codes = "" if _is_missing(codes) else str(codes)
        for item in filter(None, (part.strip() for part in codes.split(";"))):
            system, sep, raw = item.partition(":")
            if not sep:
                builder.report.skipped_codes += 1
                builder.report.warn(f"{where}: skipped: {item!r} is not SYSTEM:CODE")
                continue
            builder.add_code(note_id, system.strip(), raw.strip(), where)
    return builder.build()


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _note_id(value: Any, where: str) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, numbers.Integral)) or not str(value).strip():
        raise DatasetError(f"{where}: 'note_id' must be a non-empty string, got {value!r}")
    return str(value).strip()


def write_jsonl(notes: Iterable[CodedNote], path: str | Path) -> int:
    """Write notes in the generic JSON Lines format; return how many were written."""
    path = Path(path)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for note in notes:
            record = {
                "note_id": note.note_id,
                "text": note.text,
                "codes": [{"system": system, "code": code} for system, code in note.codes],
                "source": note.source,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


# ---------------------------------------------------------------------------
# Specs and the loader registry

Loader = Callable[[str], Dataset]

_LOADERS: dict[str, Loader] = {
    "codiesp": load_codiesp,
    "jsonl": load_jsonl,
    "csv": load_table,
    "parquet": load_table,
}
# a file's format by its suffix, for datasets (load_dataset) and notes to code (read_notes) alike
FILE_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
}


def register_loader(scheme: str, loader: Loader, *, replace: bool = False) -> None:
    """Make ``load_dataset("SCHEME:REST")`` call ``loader("REST")`` (e.g. ``feedback:DATABASE_URL``)."""
    scheme = scheme.lower()
    if not scheme.isidentifier():
        raise ValueError(f"invalid scheme {scheme!r}")
    if scheme in _LOADERS and not replace:
        raise ValueError(f"a loader for {scheme!r} is already registered")
    _LOADERS[scheme] = loader


def registered_schemes() -> list[str]:
    return sorted(_LOADERS)


def load_dataset(spec: str) -> Dataset:
    """Load ``SCHEME:TARGET`` (``codiesp:DIR``, ``jsonl:FILE``, ...) or a bare path whose kind is guessed."""
    scheme, sep, target = str(spec).partition(":")
    if sep and scheme.lower() in _LOADERS:
        scheme = scheme.lower()
    else:
        target = str(spec)
        path = Path(target)
        if path.is_dir():
            scheme = "codiesp"
        elif path.suffix.lower() in FILE_FORMATS:
            scheme = FILE_FORMATS[path.suffix.lower()]
        else:
            raise DatasetError(
                f"cannot tell how to load {spec!r}: use SCHEME:TARGET with one of {', '.join(registered_schemes())}"
            )
    if not target:
        raise DatasetError(f"{spec!r}: nothing after '{scheme}:'")
    if scheme in {"codiesp", "jsonl", "csv", "parquet"} and not Path(target).exists():
        raise DatasetError(f"{target}: no such file or folder")
    return _LOADERS[scheme](target)


# -- notes to code ---------------------------------------------------------------------------


def notes_format(path: str | Path) -> str:
    """``"text"`` for a folder of ``*.txt`` notes, else the file's format by its suffix (a Parquet
    folder too); raises :class:`DatasetError` for an unknown suffix."""
    name = Path(str(path).rstrip("/"))
    suffix = name.suffix.lower()
    if suffix in FILE_FORMATS:
        return FILE_FORMATS[suffix]
    if name.is_dir():
        return "text"
    raise DatasetError(
        f"{path}: unknown notes format {suffix or '(no suffix)'!r} (expected a folder of .txt notes, .parquet, .csv or .jsonl)"
    )


def _read_text_folder(folder: Path) -> list[tuple[str, Any]]:
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise DatasetError(f"{folder}: no .txt notes in this folder")
    notes = []
    for file in files:
        try:
            notes.append((file.stem, file.read_text(encoding="utf-8")))
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{file}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first") from None
    return notes


def read_notes(path: str | Path) -> list[tuple[str, Any]]:
    """``(note_id, text)`` pairs to code, in order: a folder of ``*.txt`` (id = the file name
    without ``.txt``) or a notes file (``.parquet``, ``.csv``, ``.jsonl``: columns ``note_id`` and
    ``text``; codes, if any, are ignored). A text that is not a string is ``None``. Raises
    :class:`DatasetError` (unknown format, unreadable, a missing column, an id twice)."""
    path = Path(path)
    kind = notes_format(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if kind == "text":
        return _read_text_folder(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path, columns=None)
        elif kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        else:
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except Exception as exc:  # pandas / pyarrow parse errors have many types
        raise DatasetError(f"{path}: cannot read as {kind} ({exc})") from None
    missing = [c for c in ("note_id", "text") if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (expected note_id and text)")
    notes = []
    seen: set[str] = set()
    for row, (note_id, text) in enumerate(zip(frame["note_id"], frame["text"]), start=1):
        if note_id is None or (isinstance(note_id, float) and note_id != note_id) or not str(note_id).strip():
            raise DatasetError(f"{path}: row {row}: 'note_id' must be a non-empty string, got {note_id!r}")
        note_id = str(note_id).strip()
        if note_id in seen:
            raise DatasetError(f"{path}: row {row}: note_id {note_id!r} appears twice")
        seen.add(note_id)
        notes.append((note_id, text if isinstance(text, str) else None))
    return notes
