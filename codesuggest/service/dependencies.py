"""Request dependencies: the service state, one database session per request, the authenticated
principal (``Authorization: Bearer <key>``) and role checks through ``Security(..., scopes=[roles])``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlalchemy.orm import Session

from ..codesets import CodeCatalog
from ..models.interface import CodeSuggester
from .errors import Forbidden, Unauthorized, Unavailable
from .keys import Principal, Role, authenticate
from .runtime import ServiceState

bearer = HTTPBearer(auto_error=False, description="an API key made with `codesuggest keys create`")


def get_state(request: Request) -> ServiceState:
    state = getattr(request.app.state, "service", None)
    if state is None:
        raise Unavailable("the service is starting")
    return state


State = Annotated[ServiceState, Depends(get_state)]


def get_session(state: State) -> Iterator[Session]:
    """One session per request; handlers commit, anything left uncommitted is rolled back."""
    with state.db.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller; 401 without a valid key, 403 when the key's role is not among the scopes (admins pass)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    # a request with a body was authenticated by the middleware before its body was read
    principal = getattr(request.state, "principal", None)
    if principal is None:
        with state.db.sessions() as session:
            principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise Unauthorized()
    request.state.principal = principal  # read by the access log
    if security_scopes.scopes and not principal.has_role(*security_scopes.scopes):
        allowed = ", ".join(sorted(set(security_scopes.scopes) | {Role.ADMIN.value}))
        raise Forbidden(f"role {principal.role.value!r} may not do this (allowed: {allowed})")
    return principal


def get_suggester(state: State) -> CodeSuggester:
    """The model for this request: taken once, so a concurrent activation does not change it mid-request."""
    return state.models.current


def get_catalog(state: State) -> CodeCatalog:
    return state.catalog


def note_accessed(request: Request, note_id: str) -> None:
    """Tell the access log which note a request touched (path parameters are picked up without this)."""
    request.state.note_id = note_id


def notes_disclosed(request: Request, note_ids: list[str]) -> None:
    """Tell the access log every note whose text a response discloses (written before the response starts)."""
    request.state.disclosed_note_ids = note_ids


AnyRole = Annotated[Principal, Security(get_principal)]
Coder = Annotated[Principal, Security(get_principal, scopes=[Role.CODER.value])]
CoderOrAuditor = Annotated[Principal, Security(get_principal, scopes=[Role.CODER.value, Role.AUDITOR.value])]
Auditor = Annotated[Principal, Security(get_principal, scopes=[Role.AUDITOR.value])]
AuditorOrDataScientist = Annotated[
    Principal, Security(get_principal, scopes=[Role.AUDITOR.value, Role.DATA_SCIENTIST.value])
]
DataScientist = Annotated[Principal, Security(get_principal, scopes=[Role.DATA_SCIENTIST.value])]
Admin = Annotated[Principal, Security(get_principal, scopes=[Role.ADMIN.value])]
Suggester = Annotated[CodeSuggester, Depends(get_suggester)]
Catalog = Annotated[CodeCatalog, Depends(get_catalog)]
