"""Settings shared by the CLI and the service: environment variables prefixed ``CODESUGGEST_``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .codesets import CodeSetSources


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESUGGEST_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="database, caches and models live here")
    database_url: str | None = Field(default=None, description="default: SQLite in the data directory")
    pcs_file: Path | None = Field(default=None, description="CMS ICD-10-PCS codes file (plain or .gz)")
    cpt_file: Path | None = Field(default=None, description="your licensed CPT CSV: code,description")
    cm_file: Path | None = Field(default=None, description="CDC ICD-10-CM codes file (default: the packaged release)")
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
    def resolved_model_processes(self) -> int:
        if self.model_processes is not None:
            return self.model_processes
        from .models.runtime import can_fork

        cores = os.cpu_count() or 1
        return min(cores, 4) if cores > 1 and can_fork() else 0

    @property
    def guideline_rules_off(self) -> frozenset[str]:
        """The guideline rules switched off; an unknown name is refused when a model is loaded."""
        return frozenset(name.strip() for name in self.guidelines_off.split(",") if name.strip())

    def code_set_sources(self) -> CodeSetSources:
        return CodeSetSources(pcs_file=self.pcs_file, cpt_file=self.cpt_file, cm_file=self.cm_file)


@lru_cache
def get_settings() -> Settings:
    return Settings()
