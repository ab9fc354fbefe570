"""Alembic migrations for the service database; run by ``codesuggest.service.db.migrate`` (no alembic.ini)."""
