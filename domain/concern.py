"""A concern about a child: raised at the child's community, escalated a level at a time."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import RuleViolation
from domain.events import CaseEventFields, Stamp, stamped
from domain.units import ConcernLevel, ancestor

Category = Literal[
    "academic", "psychological", "behaviour", "suspected_offence", "health", "safety", "abuse", "guardianship",
    "poverty",
]
Severity = Literal["low", "medium", "high", "urgent"]
NEXT_LEVEL: dict[str, ConcernLevel] = {"community": "street", "street": "district"}


class Concern(Aggregate):
    TOPIC = "shouwang:concern"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:concern:event"
        SUBJECT = "child_id"
        child_id: UUID

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:concern:created"

    class Raised(Created):
        TOPIC = "shouwang:concern:raised"
        PERSONAL = ("description",)
        grid: str
        category: str
        severity: str
        description: str | None

        def apply(self, concern: Concern) -> None:
            concern.child_id, concern.grid = self.child_id, self.grid
            concern.category, concern.severity, concern.description = self.category, self.severity, self.description
            concern.level, concern.level_unit = "community", self.unit
            concern.status, concern.acknowledged = "open", False
            concern.raised_at = self.timestamp
            concern.received_at = self.timestamp  # when the level now holding it got it

    class Acknowledged(Event):
        TOPIC = "shouwang:concern:acknowledged"
        PERSONAL = ("note",)
        note: str | None

        def apply(self, concern: Concern) -> None:
            concern.acknowledged = True

    class Escalated(Event):
        TOPIC = "shouwang:concern:escalated"
        PERSONAL = ("why",)
        from_level: str
        to_level: str
        why: str | None

        def apply(self, concern: Concern) -> None:
            concern.level, concern.level_unit = self.to_level, self.unit
            # A concern arriving at a new level waits for that level's acknowledgement.
            concern.acknowledged = False
            concern.received_at = self.timestamp

    class ActionRecorded(Event):
        TOPIC = "shouwang:concern:action-recorded"
        PERSONAL = ("note",)
        note: str | None

    class Resolved(Event):
        TOPIC = "shouwang:concern:resolved"
        PERSONAL = ("outcome",)
        outcome: str | None

        def apply(self, concern: Concern) -> None:
            concern.status = "resolved"

    class Reopened(Event):
        TOPIC = "shouwang:concern:reopened"
        PERSONAL = ("why",)
        why: str | None

        def apply(self, concern: Concern) -> None:
            concern.status = "open"

    @classmethod
    def raise_(cls, concern_id: UUID, child_id: UUID, grid: str, category: Category, severity: Severity,
               description: str, *, stamp: Stamp) -> Concern:
        """Raise a concern at the community of the child's grid."""
        return cls._create(cls.Raised, id=concern_id, **stamped(
            stamp, ancestor(grid, "community"), child_id=child_id, grid=grid, category=category,
            severity=severity, description=description,
        ))

    def _record(self, event_class: type[Concern.Event], stamp: Stamp, unit: str | None = None, **fields: Any) -> None:
        self.trigger_event(event_class, **stamped(stamp, unit or self.level_unit, child_id=self.child_id, **fields))

    def _require_open(self, what: str) -> None:
        if self.status != "open":
            raise RuleViolation(f"该关注事项已解决，不能{what}")

    def acknowledge(self, note: str | None, *, stamp: Stamp) -> None:
        """The level holding the concern has seen it."""
        self._require_open("确认")
        if self.acknowledged:
            raise RuleViolation("该关注事项已确认")
        self._record(self.Acknowledged, stamp, note=note)

    def escalate(self, why: str | None, *, stamp: Stamp) -> None:
        """Hand the concern up one level: community → street → district, never further."""
        self._require_open("上报")
        to_level = NEXT_LEVEL.get(self.level)
        if to_level is None:
            raise RuleViolation("关注事项已在区级，不能继续上报")
        self._record(self.Escalated, stamp, unit=ancestor(self.grid, to_level),
                     from_level=self.level, to_level=to_level, why=why)

    def record_action(self, note: str, *, stamp: Stamp) -> None:
        """Note what was done about the concern."""
        self._require_open("记录处置")
        self._record(self.ActionRecorded, stamp, note=note)

    def resolve(self, outcome: str, *, stamp: Stamp) -> None:
        """Close the concern with its outcome."""
        self._require_open("再次解决")
        self._record(self.Resolved, stamp, outcome=outcome)

    def reopen(self, why: str, *, stamp: Stamp) -> None:
        """Reopen a resolved concern at the level where it was resolved."""
        if self.status == "open":
            raise RuleViolation("该关注事项未解决，无需重新开启")
        self._record(self.Reopened, stamp, why=why)
