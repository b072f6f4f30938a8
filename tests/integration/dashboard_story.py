"""A scripted story of a district's care work, told through the use cases, with its own plain bookkeeping.

Every step calls the real use case and notes the fact in a small model kept by hand here; the
expected dashboard of any unit is then counted from that model by the definitions in API.md,
without any code of the projections.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from services.app import children, concerns, helpers
from tests.builders import child_details
from tests.conftest import NOW, Street

KINDS = ("home_visit", "talk", "teacher_contact", "guardian_contact", "letter", "parent_call", "parent_letter")
FIVE_ONES = {"home_visit": 1, "talk": 1, "teacher_contact": 1, "guardian_contact": 1, "letter": 1}
SEMESTERS = {"2026-spring": (date(2026, 2, 1), date(2026, 8, 31)),
             "2026-autumn": (date(2026, 9, 1), date(2027, 1, 31))}
_names = itertools.count(1)


@dataclass
class Kid:
    street: Street
    grid: str
    reason: str
    status: str = "open"
    pairs: set[UUID] = field(default_factory=set)
    visits: dict[UUID, tuple[str, date]] = field(default_factory=dict)
    helper: UUID | None = None
    details: Any = None


@dataclass
class Worry:
    child: UUID
    severity: str
    level: str = "community"
    status: str = "open"
    acknowledged: bool = False
    since: datetime = NOW


@dataclass
class Story:
    """What was done, as the users did it, and what the model says that amounts to."""

    kids: dict[UUID, Kid] = field(default_factory=dict)
    worries: dict[UUID, Worry] = field(default_factory=dict)
    aid: list[tuple[str, date, int]] = field(default_factory=list)
    helpers: dict[UUID, Street] = field(default_factory=dict)
    now: datetime = NOW

    def register(self, street: Street, grid: str, reason: str = "both_parents_away") -> UUID:
        n = next(_names)
        details = child_details(grid, name=f"看板童{n}号", address=f"看板路{n}号", reason=reason)
        child_id = children.register_child(details, ctx=street.ctx()).id
        self.kids[child_id] = Kid(street, grid, reason, details=details)
        return child_id

    def helper(self, street: Street, name: str) -> UUID:
        helper_id = helpers.enrol_helper(name, "caring_mother", None, street.code, ctx=street.ctx()).id
        self.helpers[helper_id] = street
        return helper_id

    def pair(self, child: UUID, helper: UUID, on: date = date(2026, 9, 1)) -> UUID:
        kid = self.kids[child]
        pair_id = helpers.form_pair(child, helper, on, ctx=kid.street.ctx()).id
        kid.pairs.add(pair_id)
        kid.helper = kid.helper or helper
        return pair_id

    def end_pair(self, child: UUID, pair_id: UUID) -> None:
        kid = self.kids[child]
        helpers.end_pair(pair_id, "帮扶人调动", date(2026, 10, 20), ctx=kid.street.ctx())
        kid.pairs.discard(pair_id)
        kid.helper = None

    def visit(self, child: UUID, kind: str, on: date) -> UUID:
        kid = self.kids[child]
        visit_id = children.log_visit(child, kind, on, None, "走访记录", ctx=kid.street.ctx()).id  # type: ignore[arg-type]
        kid.visits[visit_id] = (kind, on)
        return visit_id

    def correct_visit(self, child: UUID, visit_id: UUID, kind: str | None = None, on: date | None = None) -> None:
        kid = self.kids[child]
        children.correct_visit(child, visit_id, kind=kind, occurred_on=on, notes=None,  # type: ignore[arg-type]
                               why="记录有误", ctx=kid.street.ctx())
        was_kind, was_on = kid.visits[visit_id]
        kid.visits[visit_id] = (kind or was_kind, on or was_on)

    def move(self, child: UUID, grid: str) -> None:
        kid = self.kids[child]
        children.move_child(child, grid, ctx=kid.street.ctx())
        kid.grid = grid

    def close(self, child: UUID) -> None:
        children.close_child(child, "parent_returned", None, ctx=self.kids[child].street.ctx())
        self.kids[child].status = "closed"

    def reopen(self, child: UUID) -> None:
        children.reopen_child(child, None, ctx=self.kids[child].street.ctx())
        self.kids[child].status = "open"

    def forget(self, child: UUID) -> None:
        children.forget_child(child, "监护人依法申请删除", ctx=self.kids[child].street.ctx())

    def grant(self, child: UUID, fen: int, on: date) -> None:
        kid = self.kids[child]
        children.grant_aid(child, "supplies", fen, "区妇联", on, ctx=kid.street.ctx())
        self.aid.append((kid.grid, on, fen))

    def worry(self, child: UUID, severity: str, at: datetime = NOW) -> UUID:
        kid = self.kids[child]
        concern_id = concerns.raise_concern(child, "psychological", severity, "情绪低落，需要关注",  # type: ignore[arg-type]
                                            ctx=kid.street.ctx("grid_worker", now=at)).id
        self.worries[concern_id] = Worry(child, severity, since=at)
        return concern_id

    def escalate(self, concern_id: UUID, at: datetime = NOW) -> None:
        worry = self.worries[concern_id]
        concerns.escalate_concern(concern_id, "社区无法处理", ctx=self.kids[worry.child].street.ctx(now=at))
        worry.level = {"community": "street", "street": "district"}[worry.level]
        worry.acknowledged, worry.since = False, at

    def acknowledge(self, concern_id: UUID) -> None:
        worry = self.worries[concern_id]
        concerns.acknowledge_concern(concern_id, None, ctx=self.kids[worry.child].street.ctx())
        worry.acknowledged = True

    def resolve(self, concern_id: UUID) -> None:
        worry = self.worries[concern_id]
        concerns.resolve_concern(concern_id, "已妥善处理", ctx=self.kids[worry.child].street.ctx())
        worry.status = "resolved"

    def expected(self, unit: str, semester: str, quota: dict[str, int] | None = None,
                 ack_hours: int = 4) -> dict[str, Any]:
        """The dashboard of `unit`, counted from the model by API.md's definitions."""
        quota = quota or FIVE_ONES
        first, last = SEMESTERS[semester]
        mine = [k for k in self.kids.values() if k.grid.startswith(unit)]
        open_ = [k for k in mine if k.status == "open"]

        def met(kid: Kid, kind: str) -> bool:
            done = sum(1 for k, on in kid.visits.values() if k == kind and first <= on <= last)
            return done >= quota.get(kind, 0)

        done = {kind: sum(met(k, kind) for k in open_) for kind in KINDS if quota.get(kind, 0)}
        worries = [w for w in self.worries.values() if w.status == "open" and self.kids[w.child].grid.startswith(unit)]
        late = self.now - timedelta(hours=ack_hours)
        return {
            "children_open": len(open_), "children_closed": len(mine) - len(open_),
            "paired": sum(bool(k.pairs) for k in open_),
            "done": done, "all_done": sum(all(met(k, kind) for kind in KINDS) for k in open_),
            "by_reason": {r: sum(k.reason == r for k in open_)
                          for r in ("both_parents_away", "one_parent_away_other_unable")},
            "concerns_open": {s: sum(w.severity == s for w in worries) for s in ("low", "medium", "high", "urgent")},
            "concerns_open_by_level": {lv: sum(w.level == lv for w in worries)
                                       for lv in ("community", "street", "district")},
            "concerns_overdue": sum(w.severity == "urgent" and not w.acknowledged and w.since < late for w in worries),
            "aid_fen": sum(fen for grid, on, fen in self.aid if grid.startswith(unit) and first <= on <= last),
        }


def observed(board: dict[str, Any]) -> dict[str, Any]:
    """The same figures, as a dashboard shows them."""
    contacts = board["contacts"]
    return {
        "children_open": board["children_open"], "children_closed": board["children_closed"],
        "paired": board["paired"]["count"],
        "done": {k: v["done"] for k, v in contacts.items() if k not in ("all_done", "all_done_pct")},
        "all_done": contacts["all_done"], "by_reason": board["by_reason"], "concerns_open": board["concerns_open"],
        "concerns_open_by_level": board["concerns_open_by_level"], "concerns_overdue": board["concerns_overdue"],
        "aid_fen": board["aid_fen"],
    }
