"""``feedback:DATABASE_URL``: coders' final code sets from a service database, as a :class:`Dataset`.

>>> import codesuggest.training.feedback_loader  # registers the scheme
>>> notes = load_dataset("feedback:sqlite:///var/codesuggest.db")

The records come from :func:`codesuggest.storage.feedback.export_feedback` (the same
generic format ``GET /v1/feedback/export`` streams). Storage (SQLAlchemy, the ORM) is
imported only when a feedback dataset is loaded, so importing training code does not
pull in a database stack it may not use.
"""

from __future__ import annotations

from .datasets import Dataset, DatasetError, records_to_dataset, register_loader, registered_schemes

__all__ = ["load_feedback"]

SCHEME = "feedback"


def _redacted(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: report it as given, without a password guess
        return url.split("@")[-1]


def load_feedback(url: str, since: str | None = None) -> Dataset:
    """Coded notes of the service database at ``url`` (read only; no migration). A code decided under
    an older code-set release that the configured one no longer bills comes as its successor."""
    from ..storage.feedback import export_feedback  # lazily: the database stack only when asked for

    source = f"feedback:{_redacted(url)}"
    remapper = _loaded_remapper()
    try:
        records = export_feedback(url, since, remapper=remapper)
    except Exception as exc:  # SQLAlchemy raises many kinds (bad URL, no such table, connection refused)
        raise DatasetError(f"{source}: cannot read the feedback ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    return records_to_dataset(records, source)


def _loaded_remapper():
    """The remapper to the configured code sets (the ones training analyses notes with)."""
    from ..codesets import CodeCatalog
    from ..codesets.successors import remapper_for
    from ..config import get_settings

    settings = get_settings()
    return remapper_for(CodeCatalog.load(settings.code_set_sources(), settings.cache_dir))


if SCHEME not in registered_schemes():
    register_loader(SCHEME, load_feedback)
