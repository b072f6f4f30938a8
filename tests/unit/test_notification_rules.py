"""Who must know, and when a deadline has passed: the rules, with time passed in."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from domain.child import Child, ChildDetails, Guardian, Parent
from domain.concern import Concern
from domain.deadlines import ContactLapse, acknowledgement_overdue, contact_lapsed_since, lapse_id
from domain.events import Stamp
from domain.notifications import Audience, child_without_helper, concern_escalated, concern_raised, contact_overdue
from domain.quarter import last_day, previous_quarter, quarter_of

AT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
STAMP = Stamp.of("grid-worker-1", AT, date(2026, 11, 29))
GRID, COMMUNITY, STREET, DISTRICT = "150902001001003", "150902001001", "150902001", "150902"


def urgent() -> Concern:
    return Concern.raise_(uuid4(), uuid4(), GRID, "abuse", "urgent", "身上有伤", stamp=STAMP)


def later(hours: float) -> Stamp:
    return Stamp.of("supervisor-1", AT + timedelta(hours=hours), date(2026, 11, 29))


def test_a_high_or_urgent_concern_tells_the_supervisors_of_the_community_and_the_street():
    for severity in ("high", "urgent"):
        notice = concern_raised(uuid4(), uuid4(), GRID, severity, AT)
        assert notice.audiences == (Audience("supervisor", COMMUNITY), Audience("supervisor", STREET))
        assert (notice.kind, notice.unit, notice.level, notice.severity) == (
            "concern_raised", COMMUNITY, "community", severity)


def test_a_low_or_medium_concern_tells_nobody_at_once():
    assert concern_raised(uuid4(), uuid4(), GRID, "low", AT) is None
    assert concern_raised(uuid4(), uuid4(), GRID, "medium", AT) is None


def test_an_escalation_tells_the_level_it_reached_and_district_officers_at_the_district():
    assert concern_escalated(uuid4(), uuid4(), STREET, "street", "high", AT).audiences == (
        Audience("supervisor", STREET),)
    assert concern_escalated(uuid4(), uuid4(), DISTRICT, "district", "low", AT).audiences == (
        Audience("district_officer", DISTRICT),)


def test_a_lapse_of_contact_tells_the_childs_helpers_and_the_grid_workers_over_its_grid():
    helpers = [uuid4(), uuid4()]
    notice = contact_overdue(uuid4(), GRID, helpers, AT)
    assert notice.audiences == (Audience("helper", helper_id=helpers[0]), Audience("helper", helper_id=helpers[1]),
                                Audience("grid_worker", GRID, within=True))


def test_only_the_last_pair_of_an_open_file_ending_tells_the_community():
    assert child_without_helper(uuid4(), GRID, 1, True, AT) is None
    assert child_without_helper(uuid4(), GRID, 0, False, AT) is None
    assert child_without_helper(uuid4(), GRID, 0, True, AT).audiences == (Audience("supervisor", COMMUNITY),)


def test_an_urgent_concern_is_overdue_once_its_level_has_left_it_unacknowledged_for_the_set_hours():
    concern = urgent()
    assert not acknowledgement_overdue(concern, AT + timedelta(hours=4) - timedelta(seconds=1), 4)
    assert acknowledgement_overdue(concern, AT + timedelta(hours=4), 4)


def test_escalating_restarts_the_clock_at_the_new_level_and_the_district_is_never_overdue():
    concern = urgent()
    concern.escalate("超时", stamp=later(5))
    assert not acknowledgement_overdue(concern, AT + timedelta(hours=8), 4)
    assert acknowledgement_overdue(concern, AT + timedelta(hours=9), 4)
    concern.escalate("超时", stamp=later(9))
    assert not acknowledgement_overdue(concern, AT + timedelta(days=30), 4)


def test_an_acknowledged_resolved_or_less_than_urgent_concern_is_never_overdue():
    acknowledged, resolved = urgent(), urgent()
    acknowledged.acknowledge(None, stamp=later(1))
    resolved.resolve("已处理", stamp=later(1))
    high = Concern.raise_(uuid4(), uuid4(), GRID, "abuse", "high", "身上有伤", stamp=STAMP)
    for concern in (acknowledged, resolved, high):
        assert not acknowledgement_overdue(concern, AT + timedelta(days=3), 4)


def a_child() -> Child:
    return Child.register(uuid4(), ChildDetails(
        name="王小明", gender="M", birth_date=date(2015, 3, 4), grid=GRID, reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"), parents=(Parent(relation="father"),),
    ), stamp=STAMP.describing(date(2026, 9, 1)))


def test_a_child_lapses_after_the_set_days_without_contact_counted_from_its_last_contact():
    child = a_child()
    assert contact_lapsed_since(child, date(2026, 10, 30), 60) is None
    assert contact_lapsed_since(child, date(2026, 10, 31), 60) == date(2026, 9, 1)
    child.log_visit(uuid4(), "talk", None, None, stamp=STAMP.describing(date(2026, 10, 1)))
    assert contact_lapsed_since(child, date(2026, 11, 29), 60) is None
    assert contact_lapsed_since(child, date(2026, 11, 30), 60) == date(2026, 10, 1)


def test_a_closed_file_never_lapses():
    child = a_child()
    child.close("parent_returned", None, stamp=STAMP)
    assert contact_lapsed_since(child, date(2027, 6, 1), 60) is None


def test_one_lapse_is_one_stream_and_a_new_contact_starts_another():
    child_id = uuid4()
    first = ContactLapse.notice(child_id, GRID, date(2026, 9, 1), 60, stamp=STAMP)
    assert first.id == lapse_id(child_id, date(2026, 9, 1)) != lapse_id(child_id, date(2026, 10, 1))
    assert ContactLapse.notice(child_id, GRID, date(2026, 9, 1), 61, stamp=STAMP).id == first.id


def test_quarters_and_the_one_a_report_covers():
    assert [quarter_of(date(2026, m, 15)) for m in (1, 4, 7, 10, 12)] == [
        "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-Q4"]
    assert previous_quarter(date(2027, 1, 1)) == "2026-Q4" and previous_quarter(date(2026, 7, 1)) == "2026-Q2"
    assert [last_day(q) for q in ("2026-Q1", "2026-Q4")] == [date(2026, 3, 31), date(2026, 12, 31)]
