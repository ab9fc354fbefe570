"""Storage: the database the service writes and training reads, apart from both.

- ``db``: engines and sessions (the same code on SQLite and PostgreSQL) and ``migrate``;
- ``orm``: the tables (SQLAlchemy 2.0 typed models);
- ``migrations``: their Alembic scripts (run by ``db.migrate``; no ``alembic.ini``);
- ``decisions``: a note's final code set, replayed from its decision events;
- ``feedback``: the coders' final code sets as training examples (``--data feedback:URL``,
  ``GET /v1/feedback/export``).

Storage imports neither the service, training nor the CLI (pyproject.toml's import contracts).
"""
