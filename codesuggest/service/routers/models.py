"""Model versions: list them, activate one without a restart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from .. import schemas
from ..dependencies import AnyRole, DataScientist, State

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=schemas.ModelList, name="models.list")
def list_models(principal: AnyRole, state: State) -> schemas.ModelList:
    serving = state.models.current.version
    registry = state.models.registry
    infos = registry.list() if registry is not None else []
    models = [
        schemas.ModelOut(
            version=i.version, created_at=i.created_at, active=i.active, serving=i.version == serving,
            code_set_versions=dict(i.code_set_versions), metrics=dict(i.metrics),
        )
        for i in infos
    ]
    if not any(m.serving for m in models):
        models.append(schemas.ModelOut(version=serving, active=registry is None, serving=True))
    return schemas.ModelList(serving_version=serving, models=models)


@router.post("/{version}/activate", response_model=schemas.Activated, name="models.activate")
def activate(
    version: Annotated[str, Path(max_length=100)], principal: DataScientist, state: State
) -> schemas.Activated:
    previous, current = state.models.activate(version)
    return schemas.Activated(serving_version=current, previous_version=previous)
