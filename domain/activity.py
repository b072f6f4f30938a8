"""Activities held by a unit (家园活动, lectures, festival events) and who attended."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue
from domain.events import CaseEventFields, Stamp, stamped


class Activity(Aggregate):
    TOPIC = "shouwang:activity"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:activity:event"

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:activity:created"

    class Held(Created):
        TOPIC = "shouwang:activity:held"
        title: str
        kind: str
        attendees: list[UUID]

        def apply(self, activity: Activity) -> None:
            activity.title, activity.kind, activity.attendees = self.title, self.kind, self.attendees

    @classmethod
    def hold(cls, activity_id: UUID, unit: str, title: str, kind: str, attendees: list[UUID],
             *, stamp: Stamp) -> Activity:
        """Record an activity held on `stamp.on` and the children who attended."""
        if stamp.on > stamp.today:
            raise InvalidValue("活动日期不能晚于今天", field="held_on")
        if len(set(attendees)) != len(attendees):
            raise InvalidValue("参加儿童有重复", field="attendees")
        return cls._create(cls.Held, id=activity_id, **stamped(
            stamp, unit, title=title, kind=kind, attendees=list(attendees)))
