"""Batch coding: a file of notes in, one Parquet row per (note, suggested code) out.

>>> run_batch("notes.parquet", "suggestions.parquet", model="var/models/20261128-0910-77f0e1")
>>> run_batch("s3a://bucket/notes/", "s3a://bucket/suggestions/", model=..., engine="spark",
...           spark_master="spark://head:7077")

Input
-----
``notes.parquet`` / ``.csv`` / ``.jsonl`` with (at least) the columns ``note_id`` and
``text``: the generic dataset format of :mod:`codesuggest.training.datasets`, whose
``codes`` column is optional here and ignored; or (local engine) a folder of ``*.txt``
notes, each file's name without ``.txt`` its ``note_id`` (one reader,
:func:`~codesuggest.training.datasets.read_notes`, for this and ``codesuggest predict``).
Unlike the dataset loaders (which skip empty notes), a note that cannot be coded (empty,
too long, a pipeline error) is kept and reported on its output row, so every input note
is accounted for. The same ``note_id`` twice is refused (:class:`~codesuggest.training.datasets.DatasetError`).

Output
------
One row per (note, code), :data:`OUTPUT_COLUMNS`; a note that failed gets one row with
``code`` null and the message in ``error``; a note with no suggestion gets one row with
``code`` and ``error`` null. Rows are sorted by ``note_id`` then ``rank``, so a re-run
over the same input and model writes the same rows. The rows are the service's suggestions
(``ModelSuggester.suggest_many`` over all code systems: billable codes, then the coding
guidelines); ``score`` is their confidence, exactly what ``codesuggest predict --billable`` writes
for the note and code; ``principal`` marks the principal / first-listed diagnosis and
``guidelines`` says what the coding rules did to the code.

The output is written atomically: to a hidden temporary file (local engine) or folder
(Spark engine) next to the target, then renamed over it. The local engine writes one
Parquet file; Spark writes a folder of part files (``pandas.read_parquet`` and
``spark.read.parquet`` read both).

Engines
-------
``local``  loads the model once, then forks ``workers`` processes (default: all cores) that
           share it (:class:`~codesuggest.models.runtime.SuggesterProcesses`) and code chunks
           of :data:`CHUNK` notes; tqdm shows progress. ``workers=1`` runs in this process.
``spark``  ``mapInPandas`` over the notes; each executor's Python worker loads the model
           once (:func:`cached_suggester`, a module-level cache keyed by the model spec)
           and keeps it across tasks (``spark.python.worker.reuse``, on by default).
           Progress is in Spark's UI and logs. See the "Batch coding" section of
           README.md for ``spark-submit`` and what the executors need.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path
from .training.datasets import DatasetError, notes_format, read_notes

if TYPE_CHECKING:
    from .models.runtime import SuggesterProcesses

log = logging.getLogger(__name__)

CHUNK = 32  # notes per call to suggest_many (the batch size of codesuggest predict)
WORKER_MAX_CHUNKS = 300  # a local worker is replaced by a fresh fork after ~10,000 notes (SuggesterProcesses)
ENGINES = ("local", "spark")

EVIDENCE_TYPE = pa.list_(
    pa.struct([("start", pa.int32()), ("end", pa.int32()), ("section", pa.string()), ("assertion", pa.string())])
)
OUTPUT_SCHEMA = pa.schema(
    [
        ("note_id", pa.string()),
        ("system", pa.string()),
        ("code", pa.string()),
        ("description", pa.string()),
        ("score", pa.float64()),
        ("rank", pa.int32()),
        ("needs_review", pa.bool_()),
        ("principal", pa.bool_()),
        ("guidelines", pa.list_(pa.string())),
        ("evidence", EVIDENCE_TYPE),
        ("model_version", pa.string()),
        ("error", pa.string()),
    ]
)
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA.names)
SPARK_OUTPUT_DDL = (
    "note_id string, system string, code string, description string, score double, rank int, "
    "needs_review boolean, principal boolean, guidelines array<string>, "
    "evidence array<struct<start:int,end:int,section:string,assertion:string>>, "
    "model_version string, error string"
)

__all__ = [
    "BatchResult", "ModelSpec", "OUTPUT_COLUMNS", "OUTPUT_SCHEMA", "cached_suggester",
    "code_notes", "read_notes", "run_batch",
]


# -- the model, as a worker process loads it ------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """What a worker process needs to load the model itself: plain paths, picklable.

    Every path must be readable where the workers run (on a cluster: a shared path).
    ``approximate`` builds the pipeline with approximate (ANN) search; ``resolve`` takes it from
    the settings (``CODESUGGEST_APPROXIMATE_SEARCH``), as the service and ``codesuggest predict`` do.
    """

    model_dir: str  # an absolute model directory (a version is resolved on the driver)
    cache_dir: str  # the code-set caches (term index, ANN index)
    code_files: tuple[tuple[str, str], ...] = ()  # (system name, absolute path): Settings.code_files()
    approximate: bool = False

    @classmethod
    def resolve(cls, model: str | Path, settings: Any, *, models_dir: str | Path | None = None, approximate: bool | None = None) -> "ModelSpec":
        """``model`` is a model directory or a version in ``models_dir`` (default
        ``settings.models_dir``); raises ``UnknownModelVersion`` / ``ModelLoadError``."""
        from .models.artifact import read_manifest
        from .models.registry import FileModelRegistry

        path = Path(model)
        if not path.is_dir():
            path = FileModelRegistry(models_dir or settings.models_dir).path_of(str(model))
        read_manifest(path)  # fail on the driver, not in every worker
        return cls(
            model_dir=str(path.resolve()),
            cache_dir=str(Path(settings.cache_dir).resolve()),
            code_files=tuple((system, str(Path(file).resolve())) for system, file in settings.code_files().items()),
            approximate=settings.approximate_search if approximate is None else approximate,
        )

    def load(self) -> Any:
        """A fresh :class:`~codesuggest.models.suggester.ModelSuggester` (seconds to minutes) over the
        process's code sets and pipeline (:func:`~codesuggest.models.runtime.shared_resources`)."""
        from .codesets import CodeSetSources
        from .models.registry import FileModelRegistry
        from .models.runtime import shared_resources

        sources = CodeSetSources(dict(self.code_files))
        catalog, analyzer = shared_resources(sources, Path(self.cache_dir), self.approximate)
        registry = FileModelRegistry(Path(self.model_dir).parent, analyzer=analyzer, catalog=catalog)
        return registry.load_path(self.model_dir)


_SUGGESTERS: dict[ModelSpec, Any] = {}


def cached_suggester(spec: ModelSpec) -> Any:
    """The suggester for ``spec``, loaded once per process (pool worker, Spark Python worker)."""
    suggester = _SUGGESTERS.get(spec)
    if suggester is None:
        log.info("pid %d: loading model %s", os.getpid(), spec.model_dir)
        suggester = _SUGGESTERS[spec] = spec.load()
    return suggester


# -- coding notes: the same function for every engine ----------------------------------------


def _suggest(suggester: Any, texts: list[str], top_k: int) -> list[list[Any]]:
    """Suggestions per note, all systems, as the service serves them (billable, coding guidelines)."""
    return suggester.suggest_many(texts, top_k=top_k)


def _rows_for(note_id: str, suggestions: Sequence[Any], version: str) -> list[dict[str, Any]]:
    if not suggestions:
        return [_empty_row(note_id, version, None)]
    return [
        {
            "note_id": note_id,
            "system": s.system,
            "code": s.code,
            "description": s.description,
            "score": s.confidence,
            "rank": rank,
            "needs_review": bool(s.needs_review),
            "principal": bool(s.principal),
            "guidelines": [f"{g.message} [{g.section}]" for g in s.guidelines],
            "evidence": [
                {"start": e.start, "end": e.end, "section": e.section, "assertion": e.assertion} for e in s.evidence
            ],
            "model_version": version,
            "error": None,
        }
        for rank, s in enumerate(suggestions, start=1)
    ]


def _empty_row(note_id: str, version: str, error: str | None) -> dict[str, Any]:
    row = dict.fromkeys(OUTPUT_COLUMNS)
    row.update(note_id=note_id, model_version=version, error=error)
    return row


def _error_message(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def code_notes(suggester: Any, notes: Sequence[tuple[str, Any]], top_k: int) -> list[dict[str, Any]]:
    """Output rows for ``(note_id, text)`` pairs. A chunk that fails is retried note by note,
    so one bad note costs one error row, not the chunk."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(notes), CHUNK):
        chunk = notes[start : start + CHUNK]
        try:
            results = _suggest(suggester, [text for _, text in chunk], top_k)
        except Exception:  # noqa: BLE001 - isolate the note(s) that fail below
            results = None
        for position, (note_id, text) in enumerate(chunk):
            if results is not None:
                rows += _rows_for(note_id, results[position], suggester.version)
                continue
            try:
                rows += _rows_for(note_id, _suggest(suggester, [text], top_k)[0], suggester.version)
            except Exception as exc:  # noqa: BLE001 - reported on the note's row
                log.warning("note %s failed: %s", note_id, _error_message(exc))
                rows.append(_empty_row(note_id, suggester.version, _error_message(exc)))
    return rows


def _table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=OUTPUT_SCHEMA)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("note_id", "ascending"), ("rank", "ascending")])


# -- output ---------------------------------------------------------------------------------


def _write_table(table: pa.Table, output: Path) -> None:
    with atomic_path(output) as tmp:
        pq.write_table(table, tmp, compression="zstd")


# -- engines --------------------------------------------------------------------------------


def _code_chunk(suggester: Any, chunk: list[tuple[str, Any]], top_k: int) -> pa.Table:
    """A chunk's rows as an Arrow table (in a worker: pickling it back costs a tenth of a list of dicts;
    in one process: a list of every row's dict is several times their size in Arrow)."""
    return _table(code_notes(suggester, chunk, top_k))


def _code_chunk_in(processes: SuggesterProcesses, chunk: list[tuple[str, Any]], top_k: int) -> pa.Table:
    """A chunk coded in a worker process. If the worker dies (a note that crashes the pipeline's native
    code, the kernel's OOM killer), the chunk is coded again note by note, so that only the notes that
    kill a worker get an error row."""
    from .models.runtime import ModelWorkerError

    try:
        return processes.run(_code_chunk, chunk, top_k)
    except ModelWorkerError:
        log.warning("a worker died on a chunk of %d notes; coding them one by one", len(chunk))
    tables = []
    for note in chunk:
        try:
            tables.append(processes.run(_code_chunk, [note], top_k))
        except ModelWorkerError as exc:
            log.warning("note %s: %s", note[0], exc)
            tables.append(_table([_empty_row(note[0], processes.version, f"{type(exc).__name__}: {exc}")]))
    return pa.concat_tables(tables)


def _run_local(notes: list[tuple[str, Any]], spec: ModelSpec, top_k: int, workers: int, progress: bool) -> pa.Table:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    from .models.runtime import SuggesterProcesses, can_fork

    chunks = [notes[i : i + CHUNK] for i in range(0, len(notes), CHUNK)]
    suggester = cached_suggester(spec)  # loaded once, here: forked workers share it page for page
    workers = min(workers, len(chunks))
    if workers > 1 and not can_fork():
        log.warning("this platform cannot fork: coding in one process (use --engine spark for more)")
        workers = 1
    if workers <= 1:
        with tqdm(total=len(notes), desc="notes", unit="note", disable=not progress) as bar:
            tables = []
            for chunk in chunks:
                tables.append(_code_chunk(suggester, chunk, top_k))
                bar.update(len(chunk))
        return pa.concat_tables(tables) if tables else _table([])
    processes = SuggesterProcesses(suggester, workers, WORKER_MAX_CHUNKS)  # forked before tqdm starts its monitor thread
    results: list[pa.Table] = [_table([])] * len(chunks)
    try:
        with tqdm(total=len(notes), desc="notes", unit="note", disable=not progress) as bar, ThreadPoolExecutor(workers) as threads:
            futures = {threads.submit(_code_chunk_in, processes, chunk, top_k): i for i, chunk in enumerate(chunks)}
            for future in as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                bar.update(len(chunks[index]))
    finally:
        processes.close()
    return pa.concat_tables(results)


def _spark_partition(batches: Iterator[pd.DataFrame], spec: ModelSpec, top_k: int) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` function: runs in the executors' Python workers."""
    suggester = cached_suggester(spec)
    for batch in batches:
        notes = [
            (str(note_id), text if isinstance(text, str) else None)
            for note_id, text in zip(batch["note_id"], batch["text"])
        ]
        rows = code_notes(suggester, notes, top_k)
        yield pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA).to_pandas()


def _spark_read(spark: Any, path: str, kind: str) -> Any:
    from pyspark.errors import AnalysisException

    if kind == "text":
        raise DatasetError(f"{path}: the spark engine reads notes files (.parquet, .csv or .jsonl), not a folder of .txt")
    reader = spark.read
    try:
        if kind == "parquet":
            frame = reader.parquet(path)
        elif kind == "csv":
            frame = reader.options(header=True, multiLine=True, escape='"', encoding="UTF-8").csv(path)
        else:
            frame = reader.json(path)  # JSON Lines
    except AnalysisException as exc:  # no such path, not Parquet, ...
        raise DatasetError(f"{path}: cannot read as {kind} ({str(exc).strip().splitlines()[0]})") from None
    missing = [c for c in ("note_id", "text") if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (expected note_id and text)")
    return frame.selectExpr("trim(cast(note_id as string)) as note_id", "cast(text as string) as text")


def _is_uri(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _run_spark(input_path: str, output_path: str, spec: ModelSpec, top_k: int, master: str | None, partitions: int | None) -> int:
    from pyspark.sql import SparkSession, functions as F

    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"  # not under spark-submit, which brings its own master
    builder = SparkSession.builder.appName("codesuggest-batch")
    if master:
        builder = builder.master(master)
    if master and master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # local workers run this interpreter (the one with codesuggest installed), not `python3` on PATH;
        # PySpark reads the variable when the SparkContext starts
        os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = builder.getOrCreate()
    notes = _spark_read(spark, input_path, notes_format(input_path)).cache()
    bad = notes.where(F.col("note_id").isNull() | (F.col("note_id") == "")).limit(1).collect()
    if bad:
        raise DatasetError(f"{input_path}: a row has no note_id")
    twice = notes.groupBy("note_id").count().where("count > 1").limit(1).collect()
    if twice:
        raise DatasetError(f"{input_path}: note_id {twice[0]['note_id']!r} appears twice")
    count = notes.count()
    # enough partitions to keep every core busy; each Python worker still loads the model once.
    # Range-partition the *notes* by note_id, then sort within partitions: the part files come out
    # in note_id order and the model runs once per note (a global orderBy after mapInPandas would
    # run the model a second time to sample the sort keys).
    n = partitions or max(1, min(count, 2 * spark.sparkContext.defaultParallelism))
    suggestions = (
        notes.repartitionByRange(n, "note_id")
        .mapInPandas(partial(_spark_partition, spec=spec, top_k=top_k), SPARK_OUTPUT_DDL)
        .sortWithinPartitions(F.col("note_id").asc(), F.col("rank").asc_nulls_first())
    )
    if _is_uri(output_path):  # HDFS, S3, ...: Spark's committer (_temporary, then _SUCCESS)
        suggestions.write.mode("overwrite").parquet(output_path)
    else:
        with atomic_path(Path(output_path.removeprefix("file://"))) as tmp:
            suggestions.write.parquet(str(tmp.resolve()))
    notes.unpersist()
    return count


@dataclass(frozen=True)
class BatchResult:
    notes: int
    rows: int | None  # None for Spark (counting would re-read the output)
    failed: int | None
    model_version: str
    output: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_batch(
    input_path: str | Path,
    output_path: str | Path,
    model: str | Path | ModelSpec,
    *,
    engine: str = "local",
    top_k: int = 30,
    workers: int | None = None,
    spark_master: str | None = None,
    settings: Any = None,
    progress: bool = True,
    spark_partitions: int | None = None,
) -> BatchResult:
    """Code every note of ``input_path`` and write ``output_path`` (see the module docstring).

    ``model`` is a model directory, a version in ``settings.models_dir``, or a
    :class:`ModelSpec`. ``settings`` default to :func:`codesuggest.config.get_settings`.
    The local engine keeps the output rows in memory
    until it writes them (fine up to a few million rows; beyond, use Spark).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (expected {' or '.join(ENGINES)})")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if isinstance(model, ModelSpec):
        spec = model
    else:
        if settings is None:
            from .config import get_settings

            settings = get_settings()
        spec = ModelSpec.resolve(model, settings)
    from .models.artifact import read_manifest

    version = read_manifest(Path(spec.model_dir))["version"]
    if engine == "spark":
        count = _run_spark(str(input_path), str(output_path), spec, top_k, spark_master, spark_partitions)
        return BatchResult(notes=count, rows=None, failed=None, model_version=version, output=str(output_path))
    notes = read_notes(input_path)
    table = _sorted(_run_local(notes, spec, top_k, workers or os.cpu_count() or 1, progress))
    _write_table(table, Path(output_path))
    failed = len(table) - table["error"].null_count
    return BatchResult(notes=len(notes), rows=table.num_rows, failed=failed, model_version=version, output=str(output_path))

