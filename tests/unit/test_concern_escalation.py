"""Concerns: raised at the child's community, escalated a level at a time, acknowledged at each level."""

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.concern import Concern
from domain.errors import RuleViolation
from domain.events import Stamp

STAMP = Stamp.of("helper-7", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))), date(2026, 11, 29))
GRID = "150902001001003"
COMMUNITY, STREET, DISTRICT = "150902001001", "150902001", "150902"
CHILD = uuid4()


def raised() -> Concern:
    return Concern.raise_(uuid4(), CHILD, GRID, "safety", "urgent", "孩子独自在家，屋顶漏雨", stamp=STAMP)


def escalated(times: int) -> Concern:
    concern = raised()
    for _ in range(times):
        concern.escalate("社区无法处理", stamp=STAMP)
    return concern


def resolved() -> Concern:
    concern = raised()
    concern.resolve("已修缮房屋，安排邻居照看", stamp=STAMP)
    return concern


def last_event(concern: Concern):
    return concern.collect_events()[-1]


def test_a_concern_is_raised_at_the_community_of_the_childs_grid():
    concern = raised()

    assert (concern.level, concern.level_unit) == ("community", COMMUNITY)
    assert (concern.status, concern.acknowledged) == ("open", False)
    assert (concern.child_id, concern.grid, concern.category, concern.severity) == (CHILD, GRID, "safety", "urgent")
    assert concern.raised_at == STAMP.at
    assert last_event(concern).unit == COMMUNITY


def test_a_concern_escalated_from_the_community_goes_to_the_street():
    concern = escalated(1)

    assert (concern.level, concern.level_unit) == ("street", STREET)
    event = last_event(concern)
    assert (event.from_level, event.to_level, event.unit) == ("community", "street", STREET)


def test_a_concern_escalated_from_the_street_goes_to_the_district():
    concern = escalated(2)

    assert (concern.level, concern.level_unit) == ("district", DISTRICT)
    assert last_event(concern).unit == DISTRICT


def test_a_concern_cannot_be_escalated_past_the_district():
    concern = escalated(2)

    with pytest.raises(RuleViolation):
        concern.escalate("还是不行", stamp=STAMP)
    assert concern.level == "district"


def test_acknowledging_a_concern_marks_it_seen_at_its_level():
    concern = raised()

    concern.acknowledge("已知悉，今天上门", stamp=STAMP)

    assert concern.acknowledged is True
    assert last_event(concern).unit == COMMUNITY


def test_acknowledging_a_concern_twice_is_refused():
    concern = raised()
    concern.acknowledge(None, stamp=STAMP)

    with pytest.raises(RuleViolation):
        concern.acknowledge(None, stamp=STAMP)


def test_an_escalated_concern_waits_for_the_new_levels_acknowledgement():
    concern = raised()
    concern.acknowledge(None, stamp=STAMP)

    concern.escalate("需要街道协调", stamp=STAMP)

    assert concern.acknowledged is False
    concern.acknowledge("街道已知悉", stamp=STAMP)
    assert concern.acknowledged is True
    assert last_event(concern).unit == STREET


def test_an_action_is_recorded_at_the_level_holding_the_concern():
    concern = escalated(1)

    concern.record_action("联系民政所申请临时救助", stamp=STAMP)

    event = last_event(concern)
    assert type(event).__name__ == "ActionRecorded"
    assert (event.note, event.unit) == ("联系民政所申请临时救助", STREET)


def test_a_resolved_concern_is_resolved():
    assert resolved().status == "resolved"


def test_a_resolved_concern_takes_no_escalation():
    with pytest.raises(RuleViolation):
        resolved().escalate(None, stamp=STAMP)


def test_a_resolved_concern_takes_no_action():
    with pytest.raises(RuleViolation):
        resolved().record_action("再次走访", stamp=STAMP)


def test_a_resolved_concern_takes_no_acknowledgement():
    with pytest.raises(RuleViolation):
        resolved().acknowledge(None, stamp=STAMP)


def test_resolving_a_resolved_concern_is_refused():
    with pytest.raises(RuleViolation):
        resolved().resolve("again", stamp=STAMP)


def test_a_resolved_concern_can_be_reopened_and_escalated_again():
    concern = resolved()

    concern.reopen("屋顶再次漏雨", stamp=STAMP)

    assert concern.status == "open"
    concern.escalate(None, stamp=STAMP)
    assert concern.level == "street"


def test_a_reopened_concern_stays_at_the_level_where_it_was_resolved():
    concern = escalated(1)
    concern.resolve("已处理", stamp=STAMP)

    concern.reopen("复发", stamp=STAMP)

    assert (concern.level, concern.level_unit) == ("street", STREET)
    assert last_event(concern).unit == STREET


def test_reopening_an_open_concern_is_refused():
    with pytest.raises(RuleViolation):
        raised().reopen("?", stamp=STAMP)


def test_every_event_of_a_concern_is_about_the_child():
    concern = escalated(2)
    concern.acknowledge(None, stamp=STAMP)
    concern.record_action("区妇联介入", stamp=STAMP)
    concern.resolve("已安置", stamp=STAMP)
    concern.reopen("复查", stamp=STAMP)

    assert {event.child_id for event in concern.collect_events()} == {CHILD}
    assert Concern.Event.SUBJECT == "child_id"
