"""Use case: record an activity held by a unit and who attended."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain.activity import Activity
from domain.errors import InvalidValue, NotFound
from services.app.common import Recorded, load_child, unit_in_scope
from services.app.context import Context


def hold_activity(unit: str, title: str, kind: str, held_on: date, attendees: list[UUID],
                  *, ctx: Context) -> Recorded:
    """Record an activity; every attendee must be a child the caller can see."""
    ctx.require("hold_activity")
    unit_in_scope(ctx, unit, ("street", "community", "grid"))
    for child_id in attendees:
        try:
            load_child(ctx, child_id)
        except NotFound:
            raise InvalidValue(f"儿童 {child_id} 不存在", field="attendees") from None
    activity = Activity.hold(uuid4(), unit, title, kind, attendees, stamp=ctx.stamp(held_on))
    return Recorded(activity.id, activity.version, ctx.case_log.record(activity))
