"""Helpers and the children paired with them (结对帮扶): one or two children per helper at most.

A pair ends by hand, when the child's file closes, or when the helper leaves.
"""

import copy
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.child import Child
from domain.errors import Conflict, InvalidValue, RuleViolation
from domain.events import Stamp
from domain.helper import DEFAULT_CAPACITY, Helper, Pair
from domain.settings import TenantSettings
from tests.builders import child_details

TODAY = date(2026, 11, 29)
COMMUNITY = "150902001001"
GRID = "150902001001001"


def stamp(on: date = TODAY) -> Stamp:
    return Stamp.of("community-staff-3", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))),
                    TODAY).describing(on)


def enrolled() -> Helper:
    return Helper.enrol(uuid4(), "李爱华", "caring_mother", "13600000000", COMMUNITY, stamp=stamp())


def registered() -> Child:
    return Child.register(uuid4(), child_details(GRID), stamp=stamp())


def paired(helper: Helper, child: Child | None = None, capacity: int = DEFAULT_CAPACITY) -> Pair:
    return Pair.form(uuid4(), child or registered(), helper, capacity, stamp=stamp())


def event_names(aggregate) -> list[str]:
    return [type(event).__name__ for event in aggregate.collect_events()]


def test_an_enrolled_helper_is_active_with_no_children():
    helper = enrolled()

    assert helper.active is True
    assert helper.children == []
    assert helper.home_unit == COMMUNITY
    assert (helper.name, helper.kind, helper.phone) == ("李爱华", "caring_mother", "13600000000")


def test_a_pair_records_the_child_and_helper_and_takes_a_place_on_the_helpers_stream():
    helper, child = enrolled(), registered()

    pair = paired(helper, child)

    assert (pair.child_id, pair.helper_id, pair.unit) == (child.id, helper.id, GRID)
    assert pair.active is True
    assert pair.started_on == TODAY
    assert helper.children == [child.id]
    assert event_names(helper) == ["Enrolled", "ChildTaken"]


def test_a_pair_is_noted_on_the_childs_stream_so_a_closing_and_a_pairing_collide_there():
    helper, child = enrolled(), registered()

    pair = paired(helper, child)

    assert child.pair_ids == [pair.id]
    noted = child.collect_events()[-1]
    assert (type(noted).__name__, noted.pair_id, noted.helper_id, noted.unit) == ("Paired", pair.id, helper.id, GRID)


def test_a_closed_file_cannot_be_paired():
    helper, child = enrolled(), registered()
    child.close("parent_returned", None, stamp=stamp())

    with pytest.raises(RuleViolation) as refusal:
        paired(helper, child)
    assert refusal.value.field == "child_id"
    assert helper.children == [] and child.pair_ids == []


def test_a_helper_may_take_two_children_by_default():
    helper = enrolled()

    paired(helper)
    paired(helper)

    assert len(helper.children) == 2 == DEFAULT_CAPACITY


def test_a_helper_cannot_take_a_third_child():
    helper = enrolled()
    paired(helper)
    paired(helper)

    with pytest.raises(RuleViolation) as refusal:
        paired(helper)
    assert refusal.value.field == "helper_id"
    assert len(helper.children) == 2


def test_the_default_capacity_is_the_tenants_default_setting():
    assert TenantSettings().helper_capacity == DEFAULT_CAPACITY == 2


def test_a_tenant_allowing_one_child_per_helper_is_honoured():
    helper = enrolled()
    paired(helper, capacity=1)

    with pytest.raises(RuleViolation):
        paired(helper, capacity=1)


def test_a_helper_cannot_be_paired_with_the_same_child_twice():
    helper, child = enrolled(), registered()
    paired(helper, child)

    with pytest.raises(RuleViolation) as refusal:
        paired(helper, child)
    assert refusal.value.field == "child_id"
    assert len(child.pair_ids) == 1


def test_a_pair_cannot_start_in_the_future():
    helper = enrolled()

    with pytest.raises(InvalidValue) as refusal:
        Pair.form(uuid4(), registered(), helper, DEFAULT_CAPACITY, stamp=stamp(TODAY + timedelta(days=1)))
    assert refusal.value.field == "started_on"
    assert helper.children == []


def test_ending_a_pair_frees_the_helpers_place():
    helper = enrolled()
    first = paired(helper)
    paired(helper)

    first.end("儿童父母返乡", helper, stamp=stamp())

    assert first.active is False
    assert first.ended_on == TODAY
    assert len(helper.children) == 1
    paired(helper)
    assert len(helper.children) == 2


def test_ending_a_pair_twice_is_refused():
    helper = enrolled()
    pair = paired(helper)
    pair.end(None, helper, stamp=stamp())

    with pytest.raises(RuleViolation):
        pair.end(None, helper, stamp=stamp())


def test_a_pair_cannot_end_before_it_started():
    helper = enrolled()
    pair = paired(helper)

    with pytest.raises(InvalidValue) as refusal:
        pair.end(None, helper, stamp=stamp(TODAY - timedelta(days=1)))
    assert refusal.value.field == "ended_on"
    assert pair.active is True


def test_a_pair_cannot_end_in_the_future():
    helper = enrolled()
    pair = paired(helper)

    with pytest.raises(InvalidValue) as refusal:
        pair.end(None, helper, stamp=stamp(TODAY + timedelta(days=1)))
    assert refusal.value.field == "ended_on"
    assert pair.active is True
    assert len(helper.children) == 1


def test_a_pair_cannot_be_ended_through_another_helper():
    helper, someone_else = enrolled(), enrolled()
    pair = paired(helper)
    paired(someone_else)

    with pytest.raises(InvalidValue) as refusal:
        pair.end(None, someone_else, stamp=stamp())
    assert refusal.value.field == "helper_id"
    assert pair.active is True
    assert len(helper.children) == 1 and len(someone_else.children) == 1


def test_a_pairs_events_are_about_the_child():
    helper, child = enrolled(), registered()
    pair = paired(helper, child)
    pair.end(None, helper, stamp=stamp())

    assert all(event.child_id == child.id for event in pair.collect_events())
    assert Pair.Event.SUBJECT == "child_id"


def test_a_helper_who_left_cannot_take_children():
    helper = enrolled()
    helper.leave("搬家", stamp=stamp())

    with pytest.raises(RuleViolation) as refusal:
        paired(helper)
    assert refusal.value.field == "helper_id"
    assert helper.active is False


def test_a_helper_may_leave_once_every_pair_has_ended():
    helper = enrolled()
    pair = paired(helper)
    pair.end(None, helper, stamp=stamp())

    helper.leave(None, stamp=stamp())

    assert helper.active is False
    assert helper.collect_events()[-1].unit == COMMUNITY


def test_a_helper_cannot_leave_twice():
    helper = enrolled()
    helper.leave(None, stamp=stamp())

    with pytest.raises(RuleViolation):
        helper.leave(None, stamp=stamp())


# When the child's file closes

def test_closing_a_file_ends_each_of_its_pairs_on_the_same_day_by_the_same_person():
    mother, teacher, child = enrolled(), enrolled(), registered()
    pairs = [paired(mother, child), paired(teacher, child)]

    child.close("parent_returned", "父亲返乡", pairs, [mother, teacher], stamp=stamp())

    closed = child.collect_events()[-1]
    ends = [pair.collect_events()[-1] for pair in pairs]
    assert child.status == "closed" and [pair.active for pair in pairs] == [False, False]
    assert [type(end).__name__ for end in ends] == ["Ended", "Ended"]
    assert [(end.actor, end.occurred_on, end.why) for end in ends] == [
        (closed.actor, closed.occurred_on, "儿童档案已关闭")] * 2


def test_closing_a_file_frees_each_helpers_place_for_another_child():
    helper, child = enrolled(), registered()
    pair = paired(helper, child)
    paired(helper)

    child.close("moved_away", None, [pair], [helper], stamp=stamp())

    assert len(helper.children) == 1 and child.id not in helper.children
    assert [type(e).__name__ for e in helper.collect_events()][-1] == "ChildReleased"
    paired(helper)
    assert len(helper.children) == 2


def test_closing_a_file_leaves_a_pair_that_had_already_ended_as_it_was():
    helper, child = enrolled(), registered()
    pair = paired(helper, child)
    pair.end("帮扶人调动", helper, stamp=stamp())
    pair.collect_events()

    child.close("turned_16", None, [pair], [], stamp=stamp())

    assert pair.collect_events() == [] and pair.ended_on == TODAY


def test_a_file_cannot_be_closed_without_every_pair_it_knows_of():
    helper, child = enrolled(), registered()
    pair = paired(helper, child)

    with pytest.raises(ValueError):
        child.close("parent_returned", None, stamp=stamp())
    with pytest.raises(ValueError):
        child.close("parent_returned", None, [pair], [], stamp=stamp())  # nor without its helper
    assert child.status == "open" and pair.active is True


def test_a_reopened_file_has_no_helper_until_it_is_paired_again():
    helper, child = enrolled(), registered()
    pair = paired(helper, child)
    child.close("parent_returned", None, [pair], [helper], stamp=stamp())

    child.reopen("父亲再次外出", stamp=stamp())

    assert pair.active is False and helper.children == []
    again = paired(helper, child)
    assert helper.children == [child.id] and child.pair_ids == [pair.id, again.id]


# When the helper leaves

def test_a_helper_leaving_ends_each_of_its_pairs_on_the_same_day_by_the_same_person():
    helper = enrolled()
    pairs = [paired(helper), paired(helper)]

    helper.leave("搬家", pairs, stamp=stamp())

    left = helper.collect_events()[-1]
    ends = [pair.collect_events()[-1] for pair in pairs]
    assert helper.active is False and helper.children == [] and [pair.active for pair in pairs] == [False, False]
    assert type(left).__name__ == "Left" and left.why == "搬家"
    assert [(type(end).__name__, end.actor, end.occurred_on, end.why) for end in ends] == [
        ("Ended", left.actor, left.occurred_on, "帮扶人已退出")] * 2


def test_a_helper_cannot_leave_without_ending_every_pair_it_has():
    helper = enrolled()
    pair = paired(helper)
    paired(helper)

    with pytest.raises(ValueError):
        helper.leave(None, [pair], stamp=stamp())
    assert helper.active is True and pair.active is True and len(helper.children) == 2


def test_a_helper_read_before_one_of_its_pairs_ended_cannot_leave_on_that_reading():
    helper = enrolled()
    pair = paired(helper)
    read_before = copy.deepcopy(helper)
    pair.end("帮扶人调动", helper, stamp=stamp())

    with pytest.raises(Conflict):
        read_before.leave(None, [pair], stamp=stamp())
    assert read_before.active is True
