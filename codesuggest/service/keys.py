"""API keys: named, one role each, stored as the SHA-256 of a high-entropy random token.

No key exists by default; ``codesuggest keys create`` prints a new one once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.orm import ApiKey, utcnow

TOKEN_PREFIX = "csk_"


class Role(str, Enum):
    CODER = "coder"
    AUDITOR = "auditor"
    DATA_SCIENTIST = "data_scientist"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind an API key."""

    name: str
    role: Role

    def has_role(self, *roles: Role | str) -> bool:
        return self.role is Role.ADMIN or self.role.value in {Role(r).value for r in roles}


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower().replace("-", "_"))
    except ValueError:
        raise ValueError(f"unknown role {role!r} (expected one of: {', '.join(r.value for r in Role)})") from None


def create_api_key(session: Session, name: str, role: Role | str) -> str:
    """Store a new key and return its plaintext token (shown once, never stored). The caller commits."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name")
    role = role if isinstance(role, Role) else parse_role(role)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} already exists (revoke it or choose another name)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, role=role.value, key_hash=hash_key(token), prefix=token[: len(TOKEN_PREFIX) + 6]))
    session.flush()
    return token


def revoke_api_key(session: Session, name: str) -> bool:
    """Revoke the key called ``name``; False when there is no such active key. The caller commits."""
    key = session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if key is None:
        return False
    key.revoked_at = utcnow()
    session.flush()
    return True


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of an active key, or ``None``."""
    if not token or len(token) > 200:
        return None
    digest = hash_key(token)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    # The look-up is by the hash of a 256-bit random token; compare in constant time all the same.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at is not None:
        return None
    return Principal(name=key.name, role=Role(key.role))
