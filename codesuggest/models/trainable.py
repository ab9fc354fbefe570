"""The model types ``codesuggest train`` can fit, by name.

A model type is a factory of an unfitted scikit-learn-style estimator: parameters in the
constructor (``get_params`` / ``set_params``), ``fit(analyses, labels)`` (the notes'
:class:`~codesuggest.pipeline.schema.NoteAnalysis` and their sets of ``(system, code)`` pairs),
and once fitted a :class:`~.interface.NoteRanker`. Training another type is one
:func:`register_model_type` call; the CLI (``--type``), :func:`codesuggest.training.train.train_model`
and the training workflow take its name, and the saved manifest records it (``params.kind``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MODEL_TYPE", "model_types", "new_model", "register_model_type"]

DEFAULT_MODEL_TYPE = "code-ranker"


def _code_ranker(**params: Any) -> Any:
    from .ranker import CodeRanker  # imported when a model is made: the CLI starts without it

    return CodeRanker(**params)


_TYPES: dict[str, Callable[..., Any]] = {DEFAULT_MODEL_TYPE: _code_ranker}


def register_model_type(name: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
    """Make ``name`` trainable: ``factory(**params)`` returns an unfitted estimator."""
    if not name or name != name.strip():
        raise ValueError(f"invalid model type name {name!r}")
    if name in _TYPES and not replace:
        raise ValueError(f"model type {name!r} is already registered")
    _TYPES[name] = factory


def model_types() -> list[str]:
    return sorted(_TYPES)


def new_model(name: str = DEFAULT_MODEL_TYPE, **params: Any) -> Any:
    """An unfitted estimator of the registered type ``name``; ``ValueError`` for an unknown name."""
    try:
        factory = _TYPES[name]
    except KeyError:
        raise ValueError(f"unknown model type {name!r} (registered: {', '.join(model_types())})") from None
    return factory(**params)
