"""A unit's dashboard, for a grid, a community, a street or a district: counters summed by code prefix.

Infra reads the counters of each child unit (or of the grid itself) from the shared roll-up
tables, which hold no personal data, and hands them in as `Part`s; this module turns them into
the API's shape. A part lies within one tenant, so it carries the quota its "met" counters were
computed with: a kind the tenant does not require counts every open child as done, and the
district's figures are the sums of each street's against its own quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from domain.concern import Severity
from domain.units import ConcernLevel
from projections.unit_counters import CONTACT_KINDS, MET_COLUMNS, REASONS

SEVERITIES: tuple[str, ...] = get_args(Severity)
CONCERN_LEVELS: tuple[str, ...] = get_args(ConcernLevel)


@dataclass
class Part:
    """The counters of one unit below the dashboard's unit (or of the grid itself)."""

    unit: str
    name: str
    level: str
    quota: Sequence[int]
    status: dict[str, int] = field(default_factory=dict)  # unit_counters.STATUS_COLUMNS → sum
    semester: dict[str, int] = field(default_factory=dict)  # unit_counters.SEMESTER_COLUMNS → sum
    concerns: dict[str, int] = field(default_factory=dict)  # severity → open concerns
    by_level: dict[str, int] = field(default_factory=dict)  # concern level → open concerns
    overdue: int = 0

    @property
    def open(self) -> int:
        return self.status.get("children_open", 0)

    def done(self) -> dict[str, int]:
        """Open children who met each kind's quota (every open child, for a kind not required)."""
        return {kind: self.semester.get(column, 0) if q else self.open
                for kind, column, q in zip(CONTACT_KINDS, MET_COLUMNS, self.quota, strict=True)}

    def all_done(self) -> int:
        return self.semester.get("all_met", 0) if any(self.quota) else self.open


def pct(count: int, of: int) -> float:
    """A percentage with one decimal; 0 of nobody is 0.0."""
    return round(100.0 * count / of, 1) if of else 0.0


def _summary(part: Part) -> dict[str, Any]:
    paired = part.status.get("paired", 0)
    return {
        "unit": part.unit, "name": part.name, "level": part.level, "children_open": part.open,
        "children_closed": part.status.get("children_closed", 0),
        "paired": {"count": paired, "pct": pct(paired, part.open)},
        "all_done_pct": pct(part.all_done(), part.open), "concerns_open": sum(part.concerns.values()),
        "concerns_overdue": part.overdue, "aid_fen": part.semester.get("aid_fen", 0),
    }


def dashboard(unit: str, level: str, semester: str, parts: Sequence[Part], *, breakdown: bool) -> dict[str, Any]:
    """The dashboard of `unit` from its parts; `breakdown` lists each part under `children_by_child_unit`."""
    total_open = sum(p.open for p in parts)
    paired = sum(p.status.get("paired", 0) for p in parts)
    required = [kind for i, kind in enumerate(CONTACT_KINDS) if any(p.quota[i] for p in parts)]
    done = {kind: 0 for kind in CONTACT_KINDS}
    for part in parts:
        for kind, count in part.done().items():
            done[kind] += count
    all_done = sum(p.all_done() for p in parts)
    contacts: dict[str, Any] = {kind: {"done": done[kind], "pct": pct(done[kind], total_open)} for kind in required}
    contacts["all_done"] = all_done
    contacts["all_done_pct"] = pct(all_done, total_open)
    return {
        "unit": unit, "level": level, "semester": semester, "children_open": total_open,
        "children_closed": sum(p.status.get("children_closed", 0) for p in parts),
        "paired": {"count": paired, "pct": pct(paired, total_open)},
        "contacts": contacts,
        "concerns_open": {s: sum(p.concerns.get(s, 0) for p in parts) for s in SEVERITIES},
        "concerns_open_by_level": {lv: sum(p.by_level.get(lv, 0) for p in parts) for lv in CONCERN_LEVELS},
        "concerns_overdue": sum(p.overdue for p in parts),
        "aid_fen": sum(p.semester.get("aid_fen", 0) for p in parts),
        "by_reason": {r: sum(p.status.get(f"reason_{r}", 0) for p in parts) for r in REASONS},
        "children_by_child_unit": [_summary(p) for p in parts] if breakdown else [],
    }
