"""Settings shared by the CLI and the service: environment variables prefixed ``CODESUGGEST_``."""

from __future__ import annotations

import multiprocessing
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .codesets import CodeSetSources, CodeSystem, system_specs

APP_NAME = "codesuggest"


def default_data_dir() -> Path:
    """The per-user data folder: platformdirs' user data directory when the package is installed
    (``~/.local/share/codesuggest`` on Linux, ``~/Library/Application Support/codesuggest`` on macOS),
    else ``~/.local/share/codesuggest``.

    Not a folder relative to where a command runs: ``codesuggest keys create`` run from another
    folder must write to the database the running service reads."""
    try:
        from platformdirs import user_data_path
    except ImportError:
        return Path.home() / ".local" / "share" / APP_NAME
    return user_data_path(APP_NAME, appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESUGGEST_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="database, caches and models live here (default: the per-user data folder, default_data_dir())",
    )
    database_url: str | None = Field(default=None, description="default: SQLite in the data directory")
    pcs_file: Path | None = Field(default=None, description="CMS ICD-10-PCS codes file (plain or .gz)")
    cpt_file: Path | None = Field(default=None, description="your licensed CPT CSV: code,description")
    cm_file: Path | None = Field(default=None, description="CDC ICD-10-CM codes file (default: the packaged release)")
    codes_files: dict[str, Path] = Field(
        default_factory=dict,
        description="codes files by code system name, for any registered system (codesets.systems); "
        "a system's own setting (pcs_file, CODESUGGEST_<SETTING>) names its file too; this one wins",
    )
    max_note_chars: int = Field(default=200_000, gt=0)
    approximate_search: bool = Field(
        default=False,
        description="also look leftover words up in the approximate (scispaCy ANN) linker; off by default: "
        "no measured gain in ranking quality for half the pipeline's speed (BENCHMARKS.md)",
    )
    model_processes: int | None = Field(
        default=None, ge=0, le=64,
        description="worker processes the service runs the model in (forked, sharing its memory); 0: in the "
        "server process; default: one per CPU core, at most 4, where fork is available",
    )
    model_worker_max_requests: int = Field(
        default=10_000, ge=0,
        description="a model worker process that has answered this many requests is replaced by a fresh one "
        "(spaCy's vocabulary and tokenizer cache grow with every new word a process sees); 0: never",
    )
    guidelines_off: str = Field(
        default="",
        description="comma-separated names of ICD-10-CM guideline rules not to apply to suggestions "
        "(`codesuggest guidelines` lists them); default: all apply",
    )
    audit_low_confidence_max: float = Field(
        default=0.5, ge=0.0, le=1.0, description="upper edge of the low-confidence band the audit sampler draws from"
    )

    @field_validator("codes_files")
    @classmethod
    def _system_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        """Keys by the systems' names (``pcs`` -> ``ICD10PCS``); an unknown system is refused."""
        return {CodeSystem.parse(system).value: path for system, path in value.items()}

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """One folder whatever the working directory: a relative setting is made absolute once, here."""
        return value.expanduser().absolute()

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'codesuggest.db').resolve()}"

    @property
    def database_display(self) -> str:
        """The database URL to print (a PostgreSQL password hidden)."""
        from sqlalchemy.engine import make_url

        return make_url(self.resolved_database_url).render_as_string(hide_password=True)

    def where(self) -> str:
        """One line saying which data folder and database a command uses (printed at start)."""
        return f"data folder: {self.data_dir} (database: {self.database_display})"

    @property
    def resolved_model_processes(self) -> int:
        if self.model_processes is not None:
            return self.model_processes
        cores = os.cpu_count() or 1  # workers are forked: none where fork is not available
        return min(cores, 4) if cores > 1 and "fork" in multiprocessing.get_all_start_methods() else 0

    @property
    def guideline_rules_off(self) -> frozenset[str]:
        """The guideline rules switched off; an unknown name is refused when a model is loaded."""
        return frozenset(name.strip() for name in self.guidelines_off.split(",") if name.strip())

    def code_files(self) -> dict[str, Path]:
        """Each registered system's codes file (system name -> path), where one is set: ``codes_files``,
        else the system's setting: a field above (``pcs_file``) or, for a system registered
        without one, the environment variable ``CODESUGGEST_<SETTING>``."""
        files: dict[str, Path] = {}
        for spec in system_specs():
            if spec.setting in type(self).model_fields:
                path = getattr(self, spec.setting)
            else:
                path = os.environ.get(spec.env_var) or None
            path = self.codes_files.get(spec.name, path)
            if path is not None:
                files[spec.name] = Path(path)
        return files

    def code_set_sources(self) -> CodeSetSources:
        return CodeSetSources(self.code_files())


@lru_cache
def get_settings() -> Settings:
    return Settings()
