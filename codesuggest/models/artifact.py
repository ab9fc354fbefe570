"""A model on disk: one directory per version, written atomically, verified before it is unpickled.

Layout of ``<models_dir>/<version>/``::

    manifest.json     what the model is and how to check it (below)
    ranker.joblib     the fitted NoteRanker
    <name>.joblib     any other objects saved with it (optional)

``manifest.json``::

    {"format": 1, "version": "20261127-0530-ab12cd", "created_at": "2026-11-27T05:30:12Z",
     "code_set_versions": {"ICD10CM": "..."}, "training_fingerprint": "sha256...",
     "metrics": {...}, "params": {...}, "packages": {"scikit-learn": "1.6.1", ...},
     "files": {"ranker.joblib": "<sha256>", ...}}

Saving writes everything into a hidden temporary directory next to the target
(same file system), fsyncs it, then renames it into place: a crash mid-save
leaves a ``.tmp-*`` directory that nothing reads, and every existing version
(and the ``ACTIVE`` pointer of :mod:`.registry`) untouched.

Loading checks, in this order and all before any pickle is opened (joblib
files are pickles and run code when loaded): the manifest format, the package
versions that pickles depend on (scikit-learn and numpy, major.minor), the
code-set versions against the ones loaded now, then the SHA-256 of every
file. The hashes catch truncated copies and corruption; they are not a
signature (whoever can write the directory can rewrite the manifest too), so
the models directory must only be writable by whoever deploys models.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

from ..atomic import atomic_path
from ..disk_cache import paused_gc

MANIFEST = "manifest.json"
RANKER_FILE = "ranker.joblib"
MANIFEST_FORMAT = 1  # bump when the layout or the meaning of a field changes
TRACKED_PACKAGES = ("codesuggest", "scikit-learn", "spacy", "numpy", "scipy", "joblib", "simple-icd-10-cm")
PICKLE_PACKAGES = ("scikit-learn", "numpy")  # a different major.minor may not unpickle (or unpickle wrongly)
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.joblib$")
_CHUNK = 1 << 20


class ModelLoadError(Exception):
    """A model directory that must not be loaded; the message says why and what to do."""


class ModelIntegrityError(ModelLoadError):
    """A file is missing, unlisted, or its SHA-256 differs from the manifest."""


class ManifestFormatError(ModelLoadError):
    """No readable manifest, or one written by another codesuggest format."""


class PackageMismatch(ModelLoadError):
    """The model was pickled with a scikit-learn or numpy version that differs from the installed one."""


class CodeSetMismatch(ModelLoadError):
    """The model was built for other code-set versions than the ones loaded."""


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    manifest: dict[str, Any]
    ranker: Any
    extras: dict[str, Any] = field(default_factory=dict)  # the other joblib files, by name without suffix

    @property
    def version(self) -> str:
        return self.manifest["version"]


# -- helpers -------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def training_fingerprint(notes: Iterable[Any]) -> str:
    """SHA-256 over the sorted note ids, each note's sorted codes and the SHA-256 of its text.

    ``notes`` are objects with ``note_id``, ``text`` and ``codes`` (``(system, code)`` pairs),
    such as ``training.datasets.CodedNote``. Same corpus (in any order) -> same fingerprint.
    """
    rows = []
    for note in notes:
        codes = sorted(f"{system}:{code}" for system, code in note.codes)
        rows.append((str(note.note_id), codes, hashlib.sha256(note.text.encode("utf-8")).hexdigest()))
    digest = hashlib.sha256()
    for note_id, codes, text_hash in sorted(rows):
        digest.update(json.dumps([note_id, codes, text_hash]).encode("utf-8") + b"\n")
    return digest.hexdigest()


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numbers only, nested mappings as dotted keys: ``{"ICD10CM": {"map": 0.4}}`` -> ``{"ICD10CM.map": 0.4}``.
    ``None`` and non-numbers are dropped (they have no place in ``ModelInfo.metrics``)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def new_version(seed: str, now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMM-xxxxxx``: the UTC time, then 6 hex digits of a hash of ``seed`` and a nonce."""
    now = now or datetime.now(timezone.utc)
    short = hashlib.sha256(f"{seed}:{now.isoformat()}:{secrets.token_hex(8)}".encode()).hexdigest()[:6]
    return f"{now:%Y%m%d-%H%M}-{short}"


def check_version_name(version: str) -> str:
    """A version is a directory name: letters, digits, ``.``, ``_``, ``-`` only (no paths)."""
    if not isinstance(version, str) or not _VERSION_RE.match(version) or version in {".", ".."}:
        raise ValueError(f"{version!r} is not a valid model version (letters, digits, '.', '_', '-')")
    return version


def _dump(obj: Any, path: Path) -> str:
    joblib.dump(obj, path)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    return sha256_file(path)


# -- saving ----------------------------------------------------------------------------------


def save_model(
    ranker: Any,
    models_dir: str | Path,
    *,
    training_fingerprint: str,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    version: str | None = None,
    code_set_versions: Mapping[str, str] | None = None,
) -> Path:
    """Write ``ranker`` (and ``extras``: name -> object, each to ``<name>.joblib``) as a new
    version under ``models_dir``; return its directory. Never replaces an existing version.

    ``code_set_versions`` default to the ranker's ``code_set_versions_``; ``metrics`` may nest
    (see :func:`flatten_metrics`); ``params`` must be JSON-serialisable (others are written as text).
    """
    models_dir = Path(models_dir)
    code_sets = dict(code_set_versions if code_set_versions is not None else getattr(ranker, "code_set_versions_", {}))
    if not code_sets:
        raise ValueError("the model has no code-set versions (ranker.code_set_versions_ is empty)")
    extras = dict(extras or {})
    for name in extras:
        if not _FILE_RE.match(f"{name}.joblib") or f"{name}.joblib" == RANKER_FILE:
            raise ValueError(f"extra object name {name!r} is not allowed (letters, digits, '.', '_', '-'; not 'ranker')")
    created = datetime.now(timezone.utc)
    version = check_version_name(version or new_version(training_fingerprint, created))
    target = models_dir / version
    if target.exists():
        raise FileExistsError(f"model version {version} already exists in {models_dir}")
    with atomic_path(target, directory=True, overwrite=False, durable=True) as tmp:
        files = {RANKER_FILE: _dump(ranker, tmp / RANKER_FILE)}
        for name, obj in sorted(extras.items()):
            files[f"{name}.joblib"] = _dump(obj, tmp / f"{name}.joblib")
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": version,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code_set_versions": code_sets,
            "training_fingerprint": training_fingerprint,
            "metrics": flatten_metrics(metrics or {}),
            "params": dict(params or {}),
            "ranker_class": f"{type(ranker).__module__}.{type(ranker).__qualname__}",
            "packages": package_versions(),
            "files": files,
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
    return target


# -- loading ---------------------------------------------------------------------------------


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model directory, checked for format; raises :class:`ManifestFormatError`."""
    path = Path(path)
    file = path / MANIFEST
    if not file.is_file():
        raise ManifestFormatError(f"{path}: no {MANIFEST} (not a codesuggest model directory)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestFormatError(f"{file}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ManifestFormatError(f"{file}: the manifest is not a JSON object")
    fmt = manifest.get("format")
    if not isinstance(fmt, int) or fmt < MANIFEST_FORMAT:
        raise ManifestFormatError(
            f"{path}: model format {fmt!r} was written by an older codesuggest (this one reads format "
            f"{MANIFEST_FORMAT}); retrain the model with this version"
        )
    if fmt > MANIFEST_FORMAT:
        raise ManifestFormatError(
            f"{path}: model format {fmt} was written by a newer codesuggest (this one reads format "
            f"{MANIFEST_FORMAT}); upgrade codesuggest"
        )
    for key, kind in (("version", str), ("created_at", str), ("code_set_versions", dict), ("files", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ManifestFormatError(f"{file}: field {key!r} is missing or not a {kind.__name__}")
    if RANKER_FILE not in manifest["files"]:
        raise ManifestFormatError(f"{file}: the manifest lists no {RANKER_FILE}")
    return manifest


def _major_minor(version: str | None) -> tuple[str, ...] | None:
    if not version:
        return None
    return tuple(re.split(r"[.+]", version)[:2])


def check_packages(manifest: Mapping[str, Any], installed: Mapping[str, str | None] | None = None) -> None:
    installed = installed if installed is not None else package_versions()
    saved = manifest.get("packages") or {}
    problems = []
    for name in PICKLE_PACKAGES:
        if _major_minor(saved.get(name)) != _major_minor(installed.get(name)):
            problems.append(f"{name} {saved.get(name)} (saved) vs {installed.get(name)} (installed)")
    if problems:
        raise PackageMismatch(
            f"model {manifest.get('version')} was pickled with other package versions: {'; '.join(problems)}; "
            "install the versions it was saved with, or retrain it"
        )


def check_code_sets(manifest: Mapping[str, Any], loaded: Mapping[str, str]) -> None:
    saved = dict(manifest.get("code_set_versions") or {})
    loaded = dict(loaded)
    if saved == loaded:
        return
    differences = []
    for system in sorted(set(saved) | set(loaded)):
        if saved.get(system) != loaded.get(system):
            differences.append(f"{system}: model {saved.get(system) or 'none'}, loaded {loaded.get(system) or 'none'}")
    raise CodeSetMismatch(
        f"model {manifest.get('version')} was built for other code sets ({'; '.join(differences)}); "
        "load the code sets it was built with (--codes-file SYSTEM=PATH, --pcs-file / --cpt-file, or CODESUGGEST_PCS_FILE / "
        "CODESUGGEST_CPT_FILE / CODESUGGEST_CM_FILE for the service), retrain it, or map it to the loaded ones: "
        f"codesuggest models migrate {manifest.get('version')} --from OLD_RELEASE"
    )


def verify_files(path: str | Path, manifest: Mapping[str, Any]) -> None:
    """Every listed file exists with its SHA-256, and no unlisted pickle lies in the directory."""
    path = Path(path)
    files = manifest["files"]
    for name, expected in sorted(files.items()):
        if not isinstance(name, str) or not _FILE_RE.match(name):
            raise ModelIntegrityError(f"{path}: the manifest lists an invalid file name {name!r}")
        file = path / name
        if not file.is_file():
            raise ModelIntegrityError(f"{path}: {name} is missing")
        actual = sha256_file(file)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path}: {name} does not match its manifest (SHA-256 {actual[:12]}..., expected "
                f"{str(expected)[:12]}...): the file was changed or copied incompletely; refusing to load it"
            )
    unlisted = sorted(p.name for p in path.glob("*.joblib") if p.name not in files)
    if unlisted:
        raise ModelIntegrityError(f"{path}: file(s) not in the manifest: {', '.join(unlisted)}; refusing to load")


def load_model(
    path: str | Path,
    code_set_versions: Mapping[str, str] | None,
    *,
    check_package_versions: bool = True,
) -> LoadedModel:
    """Check a model directory, then unpickle it.

    ``code_set_versions`` are the versions loaded now (``Analyzer.code_set_versions``);
    ``None`` skips that check (for inspecting a model, not for serving it).
    """
    path = Path(path)
    manifest = read_manifest(path)
    if check_package_versions:
        check_packages(manifest)
    if code_set_versions is not None:
        check_code_sets(manifest, code_set_versions)
    verify_files(path, manifest)
    try:
        with paused_gc():
            ranker = joblib.load(path / RANKER_FILE)
            extras = {
                name.removesuffix(".joblib"): joblib.load(path / name)
                for name in sorted(manifest["files"])
                if name != RANKER_FILE
            }
    except Exception as exc:
        raise ModelLoadError(f"{path}: could not unpickle the model ({type(exc).__name__}: {exc})") from exc
    if not callable(getattr(ranker, "rank", None)) or not isinstance(getattr(ranker, "thresholds_", None), dict):
        raise ModelLoadError(f"{path}: {RANKER_FILE} is not a fitted ranker (no rank() or thresholds_)")
    return LoadedModel(path=path, manifest=manifest, ranker=ranker, extras=extras)
