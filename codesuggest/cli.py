"""The ``codesuggest`` command line: each command parses its arguments and calls library code.

Errors a user can fix (a missing file, a malformed line) end with exit code 2
and one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from .codesets import CodeCatalog, CodeSystem
from .config import Settings, get_settings
from .pipeline.notetext import NotClinicalTextError, check_note_text

app = typer.Typer(no_args_is_help=True, add_completion=False, help="NLP-assisted medical coding suggestions.")
codesets_app = typer.Typer(no_args_is_help=True, help="Code sets: build the caches, inspect versions.")
app.add_typer(codesets_app, name="codesets")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(pcs_file: Path | None = None, cpt_file: Path | None = None, codes_file: list[str] | None = None) -> Settings:
    """The settings with the command's codes files: ``--codes-file SYSTEM=PATH`` for any registered
    system (``codesets.systems``), and ``--pcs-file`` / ``--cpt-file``, kept as its aliases for
    ICD10PCS and CPT. A file given here wins over the environment's (``CODESUGGEST_<SETTING>``)."""
    from .codesets.systems import spec_for_setting

    base = get_settings()
    files = {spec_for_setting(setting).name: path for setting, path in (("pcs_file", pcs_file), ("cpt_file", cpt_file))}
    for item in codes_file or []:
        system, sep, path = item.partition("=")
        if not sep or not path.strip():
            fail(f"--codes-file {item!r}: expected SYSTEM=PATH (e.g. ICD10PCS=icd10pcs_codes_2026.txt)")
        try:
            files[CodeSystem.parse(system).value] = Path(path.strip())
        except ValueError as exc:
            fail(f"--codes-file {item!r}: {exc}")
    given = {system: path for system, path in files.items() if path is not None}
    return base.model_copy(update={"codes_files": {**base.codes_files, **given}}) if given else base


PcsOption = Annotated[Optional[Path], typer.Option("--pcs-file", help="CMS ICD-10-PCS codes file (--codes-file ICD10PCS=PATH) [env: CODESUGGEST_PCS_FILE]")]
CptOption = Annotated[Optional[Path], typer.Option("--cpt-file", help="your licensed CPT CSV (code,description) (--codes-file CPT=PATH) [env: CODESUGGEST_CPT_FILE]")]
CodesFileOption = Annotated[
    Optional[list[str]],
    typer.Option("--codes-file", metavar="SYSTEM=PATH", help="a code system's codes file, repeatable: ICD10CM=, ICD10PCS=, CPT= or any registered system [env: CODESUGGEST_<SYSTEM SETTING>, e.g. CODESUGGEST_CM_FILE]"),
]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@codesets_app.command("build")
def codesets_build(
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
    approximate: Annotated[
        Optional[bool],
        typer.Option(help="also build the approximate-search index (minutes, once) [default: CODESUGGEST_APPROXIMATE_SEARCH]"),
    ] = None,
) -> None:
    """Load the code sets and build (or reuse) the cached indexes for their versions."""
    from .codesets import CodeFileError
    from .pipeline.resources import ensure_ann_index, ensure_term_index

    settings = _settings(pcs_file, cpt_file, codes_file)
    try:
        catalog = CodeCatalog.load(settings.code_set_sources(), settings.cache_dir)
    except CodeFileError as exc:
        fail(str(exc))
    index_path = ensure_term_index(catalog, settings.cache_dir)
    typer.echo(f"term index: {index_path}")
    if settings.approximate_search if approximate is None else approximate:
        typer.echo(f"approximate-search index: {ensure_ann_index(index_path)}")
    for system in catalog.systems:
        count = sum(1 for _ in catalog.codes_of(system))
        typer.echo(f"{system.value}: {count:,} codes ({catalog.versions[system.value]})")


ReleaseFrom = Annotated[str, typer.Option("--from", help="the older release: a codes/order file, tabular XML, SQLite table, wheel or folder")]
ReleaseTo = Annotated[
    str, typer.Option("--to", help="the newer release (same forms), or 'loaded': the code sets loaded now [default: loaded]")
]
SystemOption = Annotated[Optional[str], typer.Option("--system", help="compare one system only: ICD10CM or ICD10PCS")]


def _release(spec: str, system, pcs_file: Path | None = None, cpt_file: Path | None = None, codes_file: list[str] | None = None):
    """A release named on the command line: a path, or ``loaded`` (the configured code sets)."""
    from .codesets.releases import ReleaseError, load_release, release_from_catalog

    if spec.strip().lower() == "loaded":
        from .codesets import CodeFileError

        settings = _settings(pcs_file, cpt_file, codes_file)
        try:
            catalog = CodeCatalog.load(settings.code_set_sources(), settings.cache_dir)
        except CodeFileError as exc:
            fail(str(exc))
        release = release_from_catalog(catalog, label="loaded (" + "; ".join(catalog.versions.values()) + ")")
        if system is not None:
            release.codes = {s: c for s, c in release.codes.items() if s is system}
        return release
    try:
        return load_release(Path(spec), system)
    except ReleaseError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{spec}: {exc.strerror or exc}")


def _system_option(system: str | None):
    from .codesets import CodeSystem

    if system is None:
        return None
    try:
        parsed = CodeSystem.parse(system)
    except ValueError as exc:
        fail(str(exc))
    if parsed is CodeSystem.CPT:
        fail("CPT releases are not compared (only ICD10CM and ICD10PCS)")
    return parsed


@codesets_app.command("inspect")
def codesets_inspect(release: Annotated[str, typer.Argument(help="a release (file, folder, wheel) or 'loaded'")]) -> None:
    """What a release holds: its systems, billable codes and the file each was read from."""
    from .codesets.releases import describe

    typer.echo(describe(_release(release, None)))


@codesets_app.command("diff")
def codesets_diff(
    from_: ReleaseFrom,
    to: ReleaseTo = "loaded",
    system: SystemOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the diff as JSON (every code)")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, help="codes listed per kind in the text output")] = 20,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Added, deleted and retitled billable codes between two releases, per chapter / section."""
    from .codesets.diff import diff_releases

    wanted = _system_option(system)
    old = _release(from_, wanted, pcs_file, cpt_file, codes_file)
    new = _release(to, wanted, pcs_file, cpt_file, codes_file)
    result = diff_releases(old, new)
    if not result.systems:
        fail(f"no system in both releases ({', '.join(s.value for s in old.systems)} vs "
             f"{', '.join(s.value for s in new.systems)})")
    typer.echo(result.to_json() if json_out else result.to_text(limit))


@codesets_app.command("export")
def codesets_export(
    from_: ReleaseFrom,
    system: Annotated[str, typer.Option("--system", help="ICD10CM or ICD10PCS")],
    out: Annotated[Path, typer.Option("--out", help="the codes file to write")],
) -> None:
    """Write one system of a release as a CDC/CMS codes file, to load it (CODESUGGEST_CM_FILE, --pcs-file)."""
    from .codesets.releases import ReleaseError, write_codes_file

    wanted = _system_option(system)
    release = _release(from_, wanted)
    try:
        count = write_codes_file(release, wanted, out)
    except ReleaseError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"{count:,} {wanted.value} codes written to {out}")


ConversionOption = Annotated[
    Optional[Path],
    typer.Option("--conversion-table", help="the CMS/CDC conversion table of the new release (its rows take precedence)"),
]


def _conversion(path: Path | None, system):
    from .codesets.successors import ConversionTableError, read_conversion_table

    if path is None:
        return None
    try:
        return read_conversion_table(path, system)
    except ConversionTableError as exc:
        fail(str(exc))


@codesets_app.command("successors")
def codesets_successors(
    from_: ReleaseFrom,
    to: ReleaseTo = "loaded",
    system: SystemOption = None,
    conversion_table: ConversionOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the map as JSON (every retired code)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="also write the map as JSON here")] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="retired codes listed in the text output")] = 50,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """The codes that take the place of each code the newer release deletes: method, confidence, coverage."""
    from .codesets.successors import map_retired

    wanted = _system_option(system)
    conversion = _conversion(conversion_table, wanted)
    result = map_retired(_release(from_, wanted, pcs_file, cpt_file, codes_file), _release(to, wanted, pcs_file, cpt_file, codes_file), conversion)
    if out is not None:
        try:
            out.write_text(result.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(result.to_json() if json_out else result.to_text(limit))


def run() -> None:
    """The ``codesuggest`` entry point (user errors end in :func:`fail`: one line, exit code 2)."""
    app()


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


# --- codesuggest keys / serve (service/) ---------------------------------------

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the service: a key is printed once, only its hash is kept.")
app.add_typer(keys_app, name="keys")


def _service_database(*, say_where: bool = False):
    """The service's database, migrated; ``say_where``: print which data folder and database (stderr),
    so that a key made for one service is not silently stored in another folder's database."""
    from .storage.db import Database

    settings = get_settings()
    if say_where:
        typer.echo(settings.where(), err=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key (unique)")],
    role: Annotated[str, typer.Option("--role", help="coder | auditor | data_scientist | admin")],
) -> None:
    """Create a key and print it once (stdout); store it now, it cannot be shown again."""
    from .service.keys import create_api_key

    db = _service_database(say_where=True)
    try:
        with db.session() as session:
            token = create_api_key(session, name, role)
    except ValueError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    typer.echo(token)
    typer.echo(f"key {name!r} created; it is shown only this once", err=True)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Option("--name", help="the key's name")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from .service.keys import revoke_api_key

    db = _service_database(say_where=True)
    try:
        with db.session() as session:
            revoked = revoke_api_key(session, name)
    finally:
        db.dispose()
    if not revoked:
        fail(f"no active key named {name!r}")
    typer.echo(f"key {name!r} revoked")


@keys_app.command("list")
def keys_list() -> None:
    """Keys by name, role and state (never the keys themselves)."""
    from .service.keys import list_api_keys

    db = _service_database()
    try:
        with db.session() as session:
            for key in list_api_keys(session):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                typer.echo(f"{key.name}\t{key.role}\t{key.prefix}...\t{state}")
    finally:
        db.dispose()


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Run the HTTP service (uvicorn) with the active model and the code sets."""
    if not _is_loopback(host):
        typer.echo(
            f"warning: listening on {host}, not on loopback: put TLS (a reverse proxy) in front; "
            "API keys and note text cross the network",
            err=True,
        )
    import uvicorn

    from .models.runtime import load_active_or_default, open_registry
    from .service.app import create_app

    settings = _settings(pcs_file, cpt_file, codes_file)
    typer.echo(settings.where(), err=True)
    registry = open_registry(settings)

    def provide_model():
        suggester = load_active_or_default(settings)
        typer.echo(f"model: {suggester.version}", err=True)
        return suggester

    service = create_app(
        settings,
        suggester_provider=provide_model,
        registry=registry,
        catalog=lambda: registry.resources()[0],  # the catalogue the models use, loaded once per process
    )
    uvicorn.run(service, host=host, port=port, log_level="info")


# --- codesuggest check (codesets/rules.py) ------------------------------------


@app.command()
def check(
    codes: Annotated[Optional[str], typer.Option("--codes", help="codes, comma-separated: E11.22,E11,S72.001")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="a file of codes (one a line, or comma-separated)")] = None,
    system: Annotated[str, typer.Option("--system", help="code system of the codes: ICD10CM, ICD10PCS, CPT")] = "ICD10CM",
    text: Annotated[Optional[Path], typer.Option("--text", help="the note's text, to suggest companion codes")] = None,
    rule: Annotated[Optional[list[str]], typer.Option("--rule", help="run only this rule; repeatable")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Check one note's code set against ICD-10-CM rules; exit code 1 when there are findings."""
    from .codesets import CodeCatalog, CodeSystem
    from .codesets.rules import RULES, check_codes, parse_codes

    try:
        code_system = CodeSystem.parse(system)
    except ValueError as exc:
        fail(str(exc))
    unknown_rules = [r for r in rule or [] if r not in RULES]
    if unknown_rules:
        fail(f"unknown rule {unknown_rules[0]!r} (known: {', '.join(RULES)})")
    raw = codes or ""
    for path, what in ((file, "--file"), (text, "--text")):
        if path is not None and not path.is_file():
            fail(f"{what} {path}: no such file")
    if file is not None:
        raw += "\n" + file.read_text(encoding="utf-8", errors="replace")
    pairs = parse_codes(raw, code_system)
    if not pairs:
        fail("no codes given (use --codes or --file)")
    note_text = text.read_text(encoding="utf-8", errors="replace") if text is not None else None
    settings = _settings(pcs_file, cpt_file, codes_file)
    catalog = CodeCatalog.load(settings.code_set_sources(), settings.cache_dir)
    findings = check_codes(pairs, catalog, note_text=note_text, rules=rule or None)
    if json_out:
        typer.echo(json.dumps({"codes": [c for _, c in pairs], "findings": [f.to_dict() for f in findings]}, indent=2))
    elif not findings:
        typer.echo(f"{len(pairs)} code(s): no findings")
    else:
        for f in findings:
            typer.echo(f"{f.severity:7} {f.rule:22} {f.message}")
            if f.suggestions:
                typer.echo(f"{'':30} suggest: {', '.join(f.suggestions)}")
    raise typer.Exit(1 if findings else 0)


@app.command()
def guidelines() -> None:
    """The ICD-10-CM Official Guidelines rules applied to suggestions, in the order they run, with the
    section each implements (switch rules off with CODESUGGEST_GUIDELINES_OFF=name,name)."""
    from .guidelines import RULES

    off = get_settings().guideline_rules_off
    for rule in RULES:
        state = "off" if rule.name in off else "on "
        typer.echo(f"{state} {rule.name:28} {rule.section:22} {rule.summary}")


# --- codesuggest models / predict / extract (models/registry.py) ----------------

models_app = typer.Typer(no_args_is_help=True, help="Model versions: list them, show a manifest, promote one to active.")
app.add_typer(models_app, name="models")
ModelsDirOption = Annotated[
    Optional[Path], typer.Option("--models-dir", help="model versions folder [default: DATA_DIR/models]")
]


def _model_registry(models_dir: Path | None, settings: Settings | None = None):
    from .models.registry import FileModelRegistry

    settings = settings or get_settings()
    return FileModelRegistry(models_dir or settings.models_dir, settings=settings)


def _read_note(path: Path) -> str:
    """A note file's text; user errors (missing, not UTF-8, empty) end with exit code 2."""
    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first")
    except OSError as exc:
        fail(f"{path}: cannot read it ({exc.strerror or exc})")
    if not text.strip():
        fail(f"{path}: the note is empty")
    return text


def _read_notes(source: Path) -> list[tuple[str, str | None]]:
    """``(note_id, text)`` of a folder of ``*.txt`` or a notes file; user errors end with exit code 2."""
    from .training.datasets import DatasetError, read_notes

    try:
        return read_notes(source)
    except DatasetError as exc:
        fail(str(exc))


@models_app.command("list")
def models_list(models_dir: ModelsDirOption = None) -> None:
    """Model versions, oldest first: version, created, active, code sets, metrics."""
    infos = _model_registry(models_dir).list()
    if not infos:
        typer.echo("no models yet (codesuggest serve builds the default one)", err=True)
    for info in infos:
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted(info.metrics.items()))
        code_sets = "; ".join(f"{k} {v}" for k, v in sorted(info.code_set_versions.items()))
        typer.echo(f"{'*' if info.active else ' '} {info.version}\t{info.created_at}\t{code_sets}\t{metrics}")


@models_app.command("show")
def models_show(version: str, models_dir: ModelsDirOption = None) -> None:
    """Print a version's manifest (JSON)."""
    from .models.registry import UnknownModelVersion
    from .models.artifact import ModelLoadError

    try:
        manifest = _model_registry(models_dir).show(version)
    except (UnknownModelVersion, ModelLoadError) as exc:
        fail(str(exc))
    typer.echo(json.dumps(manifest, indent=2, sort_keys=True))


@models_app.command("promote")
def models_promote(version: str, models_dir: ModelsDirOption = None) -> None:
    """Make VERSION the active model (its files are checked first); a running service picks it
    up at its next start or through POST /v1/models/{version}/activate."""
    from .models.registry import UnknownModelVersion
    from .models.artifact import ModelLoadError

    registry = _model_registry(models_dir)
    previous = registry.active_version()
    try:
        registry.activate(version)
    except (UnknownModelVersion, ModelLoadError) as exc:
        fail(str(exc))
    typer.echo(f"active model: {version} (was {previous or 'none'})")


@models_app.command("migrate")
def models_migrate(
    version: str,
    from_: Annotated[
        Optional[str],
        typer.Option("--from", help="the release the model was built on (file, folder or wheel); without it, only "
                     "labels the loaded release lacks altogether are mapped, by hierarchy"),
    ] = None,
    to: Annotated[str, typer.Option("--to", help="'loaded': the code sets loaded now (--pcs-file, CODESUGGEST_CM_FILE)")] = "loaded",
    conversion_table: ConversionOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report the mapping, save nothing")] = False,
    models_dir: ModelsDirOption = None,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Map a model's labels to the loaded code sets (retired codes to their successors) and save it as a
    new version; the old one stays active until the new one is promoted. Retrain to learn the new codes."""
    from .models.artifact import ModelLoadError
    from .models.migration import migrate_model
    from .models.registry import UnknownModelVersion

    if to.strip().lower() != "loaded":
        fail("--to must be 'loaded': load the new release (CODESUGGEST_CM_FILE, --pcs-file) and migrate to it")
    settings = _settings(pcs_file, cpt_file, codes_file)
    registry = _model_registry(models_dir, settings)
    try:
        model_dir = registry.path_of(version)
    except UnknownModelVersion as exc:
        fail(str(exc))
    from .codesets import CodeFileError
    from .codesets.releases import release_from_catalog

    try:
        catalog = CodeCatalog.load(settings.code_set_sources(), settings.cache_dir)
    except CodeFileError as exc:
        fail(str(exc))
    new = release_from_catalog(catalog, label="loaded (" + "; ".join(catalog.versions.values()) + ")")
    old = _release(from_, None) if from_ else None
    try:
        report = migrate_model(model_dir, registry.models_dir, new, catalog.versions, old,
                               _conversion(conversion_table, None), dry_run=dry_run)
    except ModelLoadError as exc:
        fail(str(exc))
    typer.echo(report.to_text())


@app.command()
def predict(
    model: Annotated[str, typer.Option("--model", help="a model directory, or a version in --models-dir")],
    notes: Annotated[Path, typer.Option("--notes", help="a folder of .txt notes, or a notes file: .parquet, .csv or .jsonl (note_id, text)")],
    out: Annotated[Path, typer.Option("--out", help="predictions TSV: note_id, code, system, score")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="codes per note and code system")] = 50,
    billable: Annotated[
        bool,
        typer.Option(
            "--billable/--as-trained",
            help="the codes as the service and `batch` serve them: billable (headers, missing 7th characters, retired "
            "codes replaced), then the ICD-10-CM coding guidelines; default: the ranker's codes as trained, "
            "comparable with the corpus's gold",
        ),
    ] = False,
    models_dir: ModelsDirOption = None,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Rank codes for a batch of notes with one model (the file ``codesuggest evaluate --pred`` reads)."""
    from tqdm import tqdm

    from .models.artifact import ModelLoadError
    from .models.interface import Output
    from .models.registry import UnknownModelVersion
    from .training.predictions import write_predictions

    settings = _settings(pcs_file, cpt_file, codes_file)
    registry = _model_registry(models_dir, settings)
    batch = _read_notes(notes)
    try:
        suggester = registry.load_path(Path(model)) if Path(model).is_dir() else registry.load(model)
    except (UnknownModelVersion, ModelLoadError) as exc:
        fail(str(exc))
    output = Output.CODED if billable else Output.RANKED
    kept = []
    for note_id, text in batch:
        if not (text or "").strip():
            typer.echo(f"warning: note {note_id} is empty; no predictions for it", err=True)
            continue
        try:
            check_note_text(text)
        except NotClinicalTextError as exc:
            typer.echo(f"warning: note {note_id}: {exc}; no predictions for it", err=True)
            continue
        kept.append((note_id, text))
    rows = []
    with tqdm(total=len(kept), desc="notes", unit="note", disable=None) as progress:
        for start in range(0, len(kept), 32):
            chunk = kept[start : start + 32]
            for (note_id, _), coded in zip(chunk, suggester.suggest_many([t for _, t in chunk], top_k=top_k, output=output)):
                rows += [(note_id, s.code, s.system, s.score if output is Output.RANKED else s.confidence) for s in coded]
            progress.update(len(chunk))
    try:
        count = write_predictions(rows, out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"{count} predictions for {len(batch)} notes written to {out} (model {suggester.version})", err=True)


@app.command()
def extract(
    note: Annotated[Path, typer.Argument(help="a note as a UTF-8 text file")],
    json_out: Annotated[bool, typer.Option("--json", help="print NoteAnalysis.to_dict() as JSON")] = False,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Run the pipeline on one note: mentions with offsets, section, assertion and candidate codes."""
    from .models.runtime import shared_resources

    text = _read_note(note)
    settings = _settings(pcs_file, cpt_file, codes_file)
    _, analyzer = shared_resources(settings.code_set_sources(), settings.cache_dir, settings.approximate_search)
    try:
        analysis = analyzer.analyze(text)
    except NotClinicalTextError as exc:
        fail(f"{note}: {exc}")
    if json_out:
        typer.echo(json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False))
        return
    for m in analysis.mentions:
        candidates = ", ".join(f"{c.code} {c.similarity:.2f}" for c in m.candidates[:5])
        typer.echo(f"{m.start}-{m.end}\t{m.kind}\t{m.section}\t{m.assertion.label}\t{m.text!r}\t{candidates}")
    typer.echo(f"{len(analysis.mentions)} mention(s)", err=True)


# --- codesuggest train (training/workflow.py) -----------------------------------


@app.command()
def train(
    data: Annotated[
        list[str],
        typer.Option("--data", help="codiesp:DIR, jsonl:FILE, csv:FILE, parquet:FILE or feedback:DATABASE_URL; repeatable"),
    ],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="models folder to save the version in [default: DATA_DIR/models]")
    ] = None,
    activate: Annotated[bool, typer.Option("--activate", help="make the new version the active model once saved")] = False,
    seed: Annotated[int, typer.Option("--seed", help="seed of every random step (same data + seed -> same model)")] = 0,
    model_type: Annotated[str, typer.Option("--type", help="the model type to train (codesuggest.models.trainable)")] = "code-ranker",
    params: Annotated[Optional[str], typer.Option("--params", help='the model\'s parameters as JSON, e.g. \'{"max_iter": 100}\'')] = None,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Train a model (``--type``, by default the code ranker) on coded notes and save it as a new model
    version (printed on stdout).

    The version is written atomically: an interrupted run leaves the existing versions and the
    active model untouched. Metrics in the manifest are out-of-fold on the training notes."""
    from .models.artifact import MANIFEST, ManifestFormatError, ModelLoadError, read_manifest
    from .models.registry import FileModelRegistry
    from .training.datasets import DatasetError
    from .training.workflow import load_training_data, train_and_save

    settings = _settings(pcs_file, cpt_file, codes_file)
    models_dir = out or settings.models_dir
    if models_dir.exists() and not models_dir.is_dir():
        fail(f"--out {models_dir}: not a folder")
    if (models_dir / MANIFEST).is_file():
        try:
            manifest = read_manifest(models_dir)
        except ManifestFormatError as exc:
            fail(f"--out {models_dir} is a model version directory, and an unusable one: {exc}")
        fail(
            f"--out {models_dir} is the model version directory {manifest['version']}; "
            f"give the models folder that holds versions (e.g. {models_dir.parent})"
        )
    try:
        ranker_params = json.loads(params) if params else {}
    except json.JSONDecodeError as exc:
        fail(f"--params: not JSON ({exc.msg})")
    if not isinstance(ranker_params, dict):
        fail("--params: expected a JSON object")
    from .models.trainable import model_types, new_model

    if model_type not in model_types():
        fail(f"--type: unknown model type {model_type!r} (registered: {', '.join(model_types())})")
    try:
        new_model(model_type).set_params(**ranker_params)
    except ValueError as exc:
        fail(f"--params: {exc}")

    from .models.runtime import shared_resources

    catalog, analyzer = shared_resources(settings.code_set_sources(), settings.cache_dir, settings.approximate_search)
    try:
        training_data = load_training_data(data, catalog)
    except DatasetError as exc:
        fail(str(exc))
    typer.echo(training_data.summary(), err=True)
    registry = FileModelRegistry(models_dir, settings=settings, analyzer=analyzer, catalog=catalog)
    try:
        result = train_and_save(
            training_data, analyzer, registry, seed=seed, params=ranker_params, activate=activate, model_type=model_type
        )
    except (TypeError, ValueError) as exc:  # bad --params, too few notes to cross-fit
        fail(f"training failed: {exc}")
    except (OSError, ModelLoadError) as exc:
        fail(f"cannot save the model in {models_dir}: {exc}")
    oof = " ".join(f"{k.removeprefix('oof.')}={v:.3f}" for k, v in sorted(result.metrics.items())
                   if k.startswith("oof.") and k.endswith((".map", ".f1")))
    typer.echo(
        f"saved model {result.version} in {models_dir} ({len(training_data.notes)} notes, {result.seconds:.0f} s; "
        f"out-of-fold {oof}){'; active' if activate else ''}",
        err=True,
    )
    typer.echo(result.version)


# --- codesuggest batch (batch.py) ---------------------------------------------


@app.command()
def batch(
    input_path: Annotated[Path, typer.Option("--input", help="notes .parquet / .csv / .jsonl with note_id and text columns, or a folder of .txt notes")],
    output_path: Annotated[Path, typer.Option("--output", help="suggestions Parquet: one row per (note, code)")],
    model: Annotated[str, typer.Option("--model", help="a model directory, or a version in --models-dir")],
    engine: Annotated[str, typer.Option("--engine", help="local (a process pool) or spark (mapInPandas)")] = "local",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="codes per note and code system")] = 30,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="local engine: processes [default: all cores]")] = None,
    master: Annotated[Optional[str], typer.Option("--master", help="spark engine: master URL [default: local[*]; under spark-submit, its --master]")] = None,
    models_dir: ModelsDirOption = None,
    pcs_file: PcsOption = None,
    cpt_file: CptOption = None,
    codes_file: CodesFileOption = None,
) -> None:
    """Code a file of notes in parallel; failed notes get a row with the error instead of stopping the run."""
    from .batch import ENGINES, ModelSpec, read_notes, run_batch
    from .models.artifact import ModelLoadError
    from .models.registry import UnknownModelVersion
    from .training.datasets import DatasetError

    if engine not in ENGINES:
        fail(f"--engine {engine!r}: expected {' or '.join(ENGINES)}")
    if engine == "local":
        try:
            read_notes(input_path)  # check the input before the workers start (read again by run_batch)
        except DatasetError as exc:
            fail(str(exc))
    elif "://" not in str(input_path) and not input_path.exists():
        fail(f"{input_path}: no such file or folder")
    settings = _settings(pcs_file, cpt_file, codes_file)
    try:
        spec = ModelSpec.resolve(model, settings, models_dir=models_dir)
    except (UnknownModelVersion, ModelLoadError) as exc:
        fail(str(exc))
    try:
        result = run_batch(input_path, output_path, spec, engine=engine, top_k=top_k, workers=workers, spark_master=master)
    except DatasetError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output_path}: {exc.strerror or exc}")
    failed = "" if result.failed is None else f", {result.failed} failed (see the error column)"
    typer.echo(f"{result.notes} notes coded with model {result.model_version}{failed}: {output_path}", err=True)
