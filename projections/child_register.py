"""The child register: one row per child of a tenant, for listing and finding children.

This module says which events the register takes and which row changes each one makes. It
writes through `RegisterRows`, which infra implements in the tenant's schema; infra also
computes the blind index of an ID number, so the plaintext never reaches a row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from domain.child import Child
from domain.helper import Pair
from domain.units import ancestor

NAME = "child_register"


class RegisterRows(Protocol):
    """The row changes the register makes; every call belongs to the batch's one transaction."""

    def id_index(self, id_number: str) -> bytes:
        """The keyed blind index of an ID number."""
        ...

    def insert(self, row: dict[str, Any]) -> None:
        """Add a child's row."""
        ...

    def update(self, child_id: UUID, changes: dict[str, Any]) -> None:
        """Set some columns of a child's row."""
        ...

    def put_contact(self, child_id: UUID, visit_id: UUID, occurred_on: date, *, redated: bool = False) -> None:
        """Record a contact, or re-date one (`redated`); the row's `last_contact_on` is the latest of its contacts."""
        ...

    def put_pair(self, child_id: UUID, pair_id: UUID, helper_id: UUID | None, position: int) -> None:
        """Start a pair (`helper_id` given) or end it (None); `helper_ids` lists the active pairs' helpers."""
        ...


def _index(rows: RegisterRows, id_number: str | None) -> bytes | None:
    # An erased child's events read its ID number as None: no index then.
    return rows.id_index(id_number) if id_number else None


def _registered(e: Child.Registered, position: int, rows: RegisterRows) -> None:
    rows.insert({
        "child_id": e.originator_id, "grid": e.grid, "community": ancestor(e.grid, "community"),
        "status": "open", "name": e.name, "address": e.address, "id_number_index": _index(rows, e.id_number),
        "gender": e.gender, "birth_date": e.birth_date, "school": e.school, "class_name": e.class_name,
        "reason": e.reason, "registered_on": e.occurred_on, "registered_position": position,
        "erased": False, "version": e.originator_version, "position": position,
    })


_CORRECTABLE_COLUMNS = ("name", "gender", "birth_date", "school", "class_name", "address", "reason")


def _corrected(e: Child.ProfileCorrected) -> dict[str, Any]:
    return {k: v for k, v in e.changes.items() if k in _CORRECTABLE_COLUMNS}


def _moved(e: Child.Moved) -> dict[str, Any]:
    return {"grid": e.to_grid, "community": ancestor(e.to_grid, "community")}


_FORGOTTEN = {"name": None, "address": None, "id_number_index": None, "erased": True}

# Child events and the columns each sets, besides `version` and `position`.
_CHILD_COLUMNS: dict[type, Callable[[Any], dict[str, Any]]] = {
    Child.ProfileCorrected: _corrected,
    Child.GuardianChanged: lambda e: {},  # the register holds no guardian: only the version moves
    Child.Moved: _moved,
    Child.FileClosed: lambda e: {"status": "closed"},
    Child.Reopened: lambda e: {"status": "open"},
    Child.Paired: lambda e: {},  # the pair's own events set `helper_ids`: only the version moves
    Child.VisitLogged: lambda e: {},
    Child.VisitCorrected: lambda e: {},
    Child.AidGranted: lambda e: {},
    Child.Forgotten: lambda e: dict(_FORGOTTEN),
}

TOPICS: frozenset[str] = frozenset(
    cls.TOPIC for cls in (Child.Registered, Pair.Formed, Pair.Ended, *_CHILD_COLUMNS)
)
# The events whose sealed fields the register reads (names, addresses, ID numbers); infra decodes the
# others without decrypting anything.
PERSONAL_TOPICS: frozenset[str] = frozenset({Child.Registered.TOPIC, Child.ProfileCorrected.TOPIC})


def apply(event: Any, position: int, rows: RegisterRows) -> None:
    """Make the register's row changes for one event found at `position` in the tenant log."""
    kind = type(event)
    if kind is Child.Registered:
        _registered(event, position, rows)
    elif kind in _CHILD_COLUMNS:
        child_id = event.originator_id
        changes = _CHILD_COLUMNS[kind](event)
        if kind is Child.ProfileCorrected and "id_number" in event.changes:
            changes["id_number_index"] = _index(rows, event.changes["id_number"])
        if kind is Child.VisitLogged:
            rows.put_contact(child_id, event.visit_id, event.occurred_on)
        elif kind is Child.VisitCorrected:
            rows.put_contact(child_id, event.visit_id, event.visit_on, redated=True)
        rows.update(child_id, {**changes, "version": event.originator_version, "position": position})
    elif kind is Pair.Formed:
        rows.put_pair(event.child_id, event.originator_id, event.helper_id, position)
        rows.update(event.child_id, {"position": position})
    elif kind is Pair.Ended:
        rows.put_pair(event.child_id, event.originator_id, None, position)
        rows.update(event.child_id, {"position": position})
