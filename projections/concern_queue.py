"""The concern queue: every concern with where it sits (level and unit), its severity and its age.

A row follows the concern through acknowledgement, escalation, resolution and reopening, and
follows its child's grid when the child moves, so "open concerns about children in a unit" is
one range read. `waiting_since` is when the level now holding the concern received it, cleared
when that level acknowledges it: an urgent concern waiting past the tenant's `urgent_ack_hours`
is overdue (judged when read, against the clock). Descriptions and notes are never copied here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from uuid import UUID

from domain.child import Child
from domain.concern import Concern

NAME = "concern_queue"


class QueueRows(Protocol):
    """The queue's row changes within a batch's transaction (infra: `infra.concern_rows`)."""

    def insert(self, row: dict[str, Any]) -> None: ...

    def update(self, concern_id: UUID, changes: dict[str, Any]) -> None: ...

    def concerns_about(self, child_id: UUID) -> list[UUID]:
        """Every concern (open or resolved) about a child, as the queue holds them so far."""
        ...


def _raised(e: Concern.Raised, position: int, rows: QueueRows) -> None:
    rows.insert({
        "concern_id": e.originator_id, "child_id": e.child_id, "grid": e.grid, "level": "community",
        "level_unit": e.unit, "category": e.category, "severity": e.severity, "status": "open",
        "acknowledged": False, "raised_at": e.timestamp, "waiting_since": e.timestamp, "resolved_at": None,
        "version": e.originator_version, "position": position,
    })


_CHANGES: dict[type, Callable[[Any], dict[str, Any]]] = {
    Concern.Acknowledged: lambda e: {"acknowledged": True, "waiting_since": None},
    Concern.Escalated: lambda e: {"level": e.to_level, "level_unit": e.unit, "acknowledged": False,
                                  "waiting_since": e.timestamp},
    Concern.ActionRecorded: lambda e: {},
    Concern.Resolved: lambda e: {"status": "resolved", "resolved_at": e.timestamp},
    Concern.Reopened: lambda e: {"status": "open", "resolved_at": None},
}

TOPICS: frozenset[str] = frozenset(cls.TOPIC for cls in (Concern.Raised, Child.Moved, *_CHANGES))
PERSONAL_TOPICS: frozenset[str] = frozenset()  # nothing sealed is read


def apply(event: Any, position: int, rows: QueueRows) -> None:
    """Make the queue's row changes for one event found at `position` in the tenant log."""
    kind = type(event)
    if kind is Concern.Raised:
        _raised(event, position, rows)
    elif kind in _CHANGES:
        rows.update(event.originator_id, {**_CHANGES[kind](event), "version": event.originator_version,
                                          "position": position})
    elif kind is Child.Moved:
        for concern_id in rows.concerns_about(event.originator_id):
            rows.update(concern_id, {"grid": event.to_grid})
