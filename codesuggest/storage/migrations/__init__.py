"""Alembic migrations for the service database; run by ``codesuggest.storage.db.migrate`` (no alembic.ini)."""
