"""The final code set of a note, derived from its decision events (append-only: the latest decision on a code wins)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .orm import DecisionEvent


@dataclass(frozen=True, slots=True)
class FinalCode:
    system: str
    code: str
    source: str  # suggestion | added | replacement
    suggestion_id: int | None = None


def final_code_set(events: Iterable[DecisionEvent]) -> list[FinalCode]:
    """Replay decision events in id order; the latest decision on a code wins.

    accept and add put a code in, reject takes it out, replace takes the target
    out and puts the replacement in.
    """
    current: dict[tuple[str, str], FinalCode] = {}
    for event in sorted(events, key=lambda e: e.id):
        key = (event.system, event.code)
        if event.action == "accept":
            current[key] = FinalCode(event.system, event.code, "suggestion", event.suggestion_id)
        elif event.action == "add":
            current[key] = FinalCode(event.system, event.code, "added")
        elif event.action == "reject":
            current.pop(key, None)
        elif event.action == "replace":
            current.pop(key, None)
            assert event.replacement_system and event.replacement_code
            repl = (event.replacement_system, event.replacement_code)
            current[repl] = FinalCode(*repl, "replacement", event.suggestion_id)
    return list(current.values())
