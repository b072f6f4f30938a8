"""Who must know: which events notify which people, by role and unit, and how urgently.

A rule names its audience (supervisors of a unit, district officers of a district, the helpers
of a child, the grid workers over a grid); infra resolves an audience to the users it means when
the notification is written, so someone given that role later hears of what happens next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from domain.units import ancestor

Kind = Literal["concern_raised", "concern_escalated", "contact_overdue", "child_without_helper"]
KINDS: tuple[Kind, ...] = ("concern_raised", "concern_escalated", "contact_overdue", "child_without_helper")
# Severities a supervisor is told of the moment a concern is raised; the others wait for their queue.
NOTIFIED_SEVERITIES = frozenset({"high", "urgent"})


@dataclass(frozen=True)
class Audience:
    """People of one role: whose scope is `unit` (or, `within`, whose scope holds `unit`), or one helper's user."""

    role: str
    unit: str | None = None
    within: bool = False
    helper_id: UUID | None = None


@dataclass(frozen=True)
class Notice:
    """Something people must be told, about a unit (and a concern or child), and who they are."""

    kind: Kind
    unit: str
    at: datetime
    audiences: tuple[Audience, ...]
    concern_id: UUID | None = None
    child_id: UUID | None = None
    severity: str | None = None
    level: str | None = None


def _supervisors(unit: str) -> Audience:
    # District officers act for the district; supervisors for a street or community.
    return Audience("district_officer" if len(unit) == 6 else "supervisor", unit)


def concern_raised(concern_id: UUID, child_id: UUID, grid: str, severity: str, at: datetime) -> Notice | None:
    """A high or urgent concern: the supervisors of the child's community and street."""
    if severity not in NOTIFIED_SEVERITIES:
        return None
    community = ancestor(grid, "community")
    return Notice("concern_raised", community, at,
                  (_supervisors(community), _supervisors(ancestor(grid, "street"))),
                  concern_id=concern_id, child_id=child_id, severity=severity, level="community")


def concern_escalated(concern_id: UUID, child_id: UUID, unit: str, level: str, severity: str | None,
                      at: datetime) -> Notice:
    """Escalated (by a person or by its deadline): whoever works at the level it reached."""
    return Notice("concern_escalated", unit, at, (_supervisors(unit),), concern_id=concern_id, child_id=child_id,
                  severity=severity, level=level)


def contact_overdue(child_id: UUID, grid: str, helper_ids: list[UUID], at: datetime) -> Notice:
    """A child too long without contact: its helpers and the grid workers over its grid."""
    helpers = tuple(Audience("helper", helper_id=h) for h in helper_ids)
    return Notice("contact_overdue", grid, at, (*helpers, Audience("grid_worker", grid, within=True)),
                  child_id=child_id)


def child_without_helper(child_id: UUID, grid: str, helpers_left: int, file_open: bool,
                         at: datetime) -> Notice | None:
    """A pair ended and the open child has no helper left: the supervisors of its community."""
    if helpers_left or not file_open:
        return None
    community = ancestor(grid, "community")
    return Notice("child_without_helper", community, at, (_supervisors(community),), child_id=child_id)
