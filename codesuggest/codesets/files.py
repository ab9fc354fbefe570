"""Readers for code files a user brings: CMS/CDC "codes files" and a CPT CSV.

Malformed lines never stop a load and are never silently dropped: each is
reported with its line number in :class:`LoadReport`, and a file with no valid
line at all is an error.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .records import Code, CodeSystem, InvalidCode, normalize_code

log = logging.getLogger(__name__)


class CodeFileError(ValueError):
    """A code file that cannot be used at all (missing, unreadable, empty)."""


@dataclass
class LoadReport:
    path: str
    loaded: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def warn(self) -> None:
        for line_no, why in self.skipped[:20]:
            log.warning("%s:%d: skipped: %s", self.path, line_no, why)
        if len(self.skipped) > 20:
            log.warning("%s: %d more malformed lines skipped", self.path, len(self.skipped) - 20)


def file_fingerprint(path: Path) -> str:
    """Name and short SHA-256 of a file: what a model records as the code-set version."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return f"{Path(path).name}:{digest}"


def _read_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise CodeFileError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise CodeFileError(f"{path}: not a readable gzip file ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # CMS and CDC files are ASCII; an old download may be Latin-1.
        return raw.decode("latin-1")


def read_codes_file(path: Path, system: CodeSystem) -> tuple[list[Code], LoadReport]:
    """Read a CMS ICD-10-PCS or CDC ICD-10-CM codes file: ``CODE<whitespace>description``.

    Also accepts the CMS "order" file (``00001 0016070 1 short long``).
    """
    report = LoadReport(str(path))
    codes: list[Code] = []
    seen: set[str] = set()
    for line_no, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].isdigit() and len(parts[0]) == 5 and system is CodeSystem.ICD10PCS:
            parts = _order_file_parts(parts[1])
        if len(parts) != 2 or not parts[1].strip():
            report.skipped.append((line_no, "expected 'CODE description'"))
            continue
        try:
            code = normalize_code(system, parts[0])
        except InvalidCode as exc:
            report.skipped.append((line_no, str(exc)))
            continue
        if system is CodeSystem.ICD10PCS and len(code) != 7:
            report.skipped.append((line_no, f"{parts[0]!r}: a PCS codes file lists 7-character codes"))
            continue
        if code in seen:
            report.skipped.append((line_no, f"duplicate code {code}"))
            continue
        seen.add(code)
        codes.append(Code(system=system, code=code, description=" ".join(parts[1].split())))
    report.loaded = len(codes)
    if not codes:
        raise CodeFileError(f"{path}: no valid {system.value} code line found")
    report.warn()
    return codes, report


def _order_file_parts(rest: str) -> list[str]:
    fields = rest.split(None, 2)
    if len(fields) < 3 or fields[1] != "1":  # only valid (billable) codes
        return []
    # "short description    long description": the long one follows runs of spaces
    descriptions = [d for d in fields[2].split("  ") if d.strip()]
    return [fields[0], descriptions[-1].strip()] if descriptions else []


def read_cpt_csv(path: Path) -> tuple[list[Code], LoadReport]:
    """Read a user's licensed CPT file: CSV with a header ``code,description`` (extra columns: aliases).

    CPT descriptors belong to the AMA: this project never ships them, it only
    reads the file a licensed user points it at.
    """
    report = LoadReport(str(path))
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or [h.strip().lower() for h in header[:2]] != ["code", "description"]:
        raise CodeFileError(f"{path}: line 1 must be the header 'code,description'")
    codes: list[Code] = []
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[1].strip():
            report.skipped.append((line_no, "expected 'code,description'"))
            continue
        try:
            code = normalize_code(CodeSystem.CPT, row[0])
        except InvalidCode as exc:
            report.skipped.append((line_no, str(exc)))
            continue
        if code in seen:
            report.skipped.append((line_no, f"duplicate code {code}"))
            continue
        seen.add(code)
        aliases = tuple(a.strip() for a in row[2:] if a.strip())
        codes.append(Code(system=CodeSystem.CPT, code=code, description=row[1].strip(), aliases=aliases))
    report.loaded = len(codes)
    if not codes:
        raise CodeFileError(f"{path}: no valid CPT code line found")
    report.warn()
    return codes, report
