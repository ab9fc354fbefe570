"""The tables of the service database (SQLAlchemy 2.0 typed models). Schema changes go through Alembic (``migrations/``).

Decision events and the access log are append-only: the code never updates or
deletes them, and database triggers (created by the migrations) refuse to.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_note_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_note_id)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    setting: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | coded (has decisions)
    model_version: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    coded_at: Mapped[datetime | None] = mapped_column()  # time of the latest decision

    suggestions: Mapped[list[Suggestion]] = relationship(
        back_populates="note", order_by="Suggestion.rank", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[DecisionEvent]] = relationship(back_populates="note", order_by="DecisionEvent.id")

    __table_args__ = (Index("ix_notes_status_created", "status", "created_at"),)


class Suggestion(Base):
    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    system: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, index=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, default=None)  # the ranker's, before the coding guidelines
    principal: Mapped[bool] = mapped_column(Boolean, default=False)
    guidelines: Mapped[list[Any]] = mapped_column(default=list)  # [{rule, section, message}]: what the rules did
    model_version: Mapped[str] = mapped_column(String(100))
    code_set_release: Mapped[str | None] = mapped_column(String(500), default=None)  # CodeCatalog.release_label
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[Note] = relationship(back_populates="suggestions")

    __table_args__ = (Index("ix_suggestions_system_code", "system", "code"),)


class DecisionEvent(Base):
    """One coder decision. Append-only; the note's final code set is derived from these in id order."""

    __tablename__ = "decision_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # accept | reject | add | replace
    system: Mapped[str] = mapped_column(String(16))  # the code decided on (a suggestion's, or the coder's)
    code: Mapped[str] = mapped_column(String(16))
    replacement_system: Mapped[str | None] = mapped_column(String(16))
    replacement_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    code_set_release: Mapped[str | None] = mapped_column(String(500), default=None)  # CodeCatalog.release_label
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    note: Mapped[Note] = relationship(back_populates="decisions")
    suggestion: Mapped[Suggestion | None] = relationship()


class CodeSequence(Base):
    """The order of a note's final code set as the coder submitted it: the principal / first-listed diagnosis
    first, present-on-admission indicators, and whether the coder overrode open code-set errors for export.
    Append-only: a note's latest row is its current sequence (decision events still say which codes)."""

    __tablename__ = "code_sequences"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    codes: Mapped[list[Any]] = mapped_column(default=list)  # [{system, code, poa}] in order
    override_reason: Mapped[str | None] = mapped_column(Text)  # set: export despite error-level findings
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditReview(Base):
    """An auditor's finding on one suggestion or on a whole note."""

    __tablename__ = "audit_reviews"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))  # agree | disagree (with the coder's decision)
    corrected_system: Mapped[str | None] = mapped_column(String(16))
    corrected_code: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    auditor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A named key with one role. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters of the token, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class AccessLogEntry(Base):
    """Who called what, on which note, when. Append-only."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    key_name: Mapped[str | None] = mapped_column(String(100), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    note_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status_code: Mapped[int] = mapped_column(Integer)
    query: Mapped[str | None] = mapped_column(String(1000))  # the query string as sent (escaped, cut)
    disclosed: Mapped[int | None] = mapped_column(Integer)  # notes whose text the response disclosed (export)


class AccessLogNote(Base):
    """One note disclosed by an access-log entry that returned many (the feedback export). Append-only."""

    __tablename__ = "access_log_notes"

    access_log_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("access_log.id", ondelete="CASCADE"), primary_key=True
    )
    note_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
