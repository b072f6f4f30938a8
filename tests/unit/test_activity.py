"""Activities held by a unit and the children who attended."""

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.activity import Activity
from domain.errors import InvalidValue
from domain.events import Stamp

TODAY = date(2026, 11, 29)
STAMP = Stamp.of("child-director-2", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))), TODAY)
COMMUNITY = "150902001001"


def held(attendees: list, on: date = TODAY) -> Activity:
    return Activity.hold(uuid4(), COMMUNITY, "十一月家园活动", "home_activity", attendees, stamp=STAMP.describing(on))


def test_an_activity_records_who_attended():
    children = [uuid4(), uuid4()]

    activity = held(children, on=date(2026, 11, 22))

    assert activity.attendees == children
    assert (activity.title, activity.kind) == ("十一月家园活动", "home_activity")
    (event,) = activity.collect_events()
    assert (event.occurred_on, event.unit) == (date(2026, 11, 22), COMMUNITY)


def test_an_activity_with_nobody_attending_may_be_recorded():
    assert held([]).attendees == []


def test_an_activity_in_the_future_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        held([uuid4()], on=TODAY + timedelta(days=1))
    assert refusal.value.field == "held_on"


def test_an_activity_listing_a_child_twice_is_refused():
    child = uuid4()

    with pytest.raises(InvalidValue) as refusal:
        held([child, uuid4(), child])
    assert refusal.value.field == "attendees"


def test_the_attendance_list_is_the_activitys_own_copy():
    children = [uuid4()]
    activity = held(children)

    children.append(uuid4())

    assert len(activity.attendees) == 1
