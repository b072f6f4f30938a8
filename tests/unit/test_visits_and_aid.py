"""Contacts with or about a child (visits) and aid given to the child, both on the child's file."""

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.child import Child, ChildDetails, Guardian
from domain.errors import InvalidValue
from domain.events import Stamp

TODAY = date(2026, 11, 29)
STAMP = Stamp.of("helper-7", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))), TODAY)
BORN = date(2015, 3, 4)
HELPER = uuid4()


def registered() -> Child:
    details = ChildDetails(
        name="王小明", gender="M", birth_date=BORN, grid="150902001001001", reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"),
    )
    return Child.register(uuid4(), details, stamp=STAMP.describing(date(2026, 9, 1)))


def with_a_home_visit_on(day: date) -> tuple[Child, object]:
    child, visit_id = registered(), uuid4()
    child.log_visit(visit_id, "home_visit", HELPER, "奶奶身体不好", stamp=STAMP.describing(day))
    return child, visit_id


# Visits


def test_a_logged_visit_appears_in_the_file_on_the_day_it_describes():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))

    assert child.visits[visit_id] == {
        "kind": "home_visit", "occurred_on": date(2026, 11, 20), "helper_id": HELPER, "notes": "奶奶身体不好",
    }


def test_a_visit_logged_today_is_accepted():
    child, visit_id = with_a_home_visit_on(TODAY)

    assert child.visits[visit_id]["occurred_on"] == TODAY


def test_a_visit_in_the_future_is_refused():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.log_visit(uuid4(), "talk", HELPER, None, stamp=STAMP.describing(TODAY + timedelta(days=1)))
    assert refusal.value.field == "occurred_on"
    assert child.visits == {}


def test_a_visit_before_the_child_was_born_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        registered().log_visit(uuid4(), "talk", HELPER, None, stamp=STAMP.describing(BORN - timedelta(days=1)))
    assert refusal.value.field == "occurred_on"


def test_a_correction_changes_the_visit_in_the_file():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))

    child.correct_visit(visit_id, kind="talk", visit_on=date(2026, 11, 19), notes="在学校谈心", why="记错了",
                        stamp=STAMP)

    assert child.visits[visit_id] == {
        "kind": "talk", "occurred_on": date(2026, 11, 19), "helper_id": HELPER, "notes": "在学校谈心",
    }


def test_a_corrected_visit_keeps_its_original_in_the_history():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))

    child.correct_visit(visit_id, kind="talk", visit_on=None, notes=None, why="记错了", stamp=STAMP)

    logged, corrected = child.collect_events()[1:]
    assert type(logged).__name__ == "VisitLogged"
    assert (logged.kind, logged.occurred_on, logged.notes) == ("home_visit", date(2026, 11, 20), "奶奶身体不好")
    assert type(corrected).__name__ == "VisitCorrected"
    assert (corrected.kind, corrected.visit_on, corrected.why) == ("talk", date(2026, 11, 20), "记错了")


def test_a_correction_leaves_what_it_does_not_mention_unchanged():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))

    child.correct_visit(visit_id, kind=None, visit_on=None, notes="补记", why=None, stamp=STAMP)

    assert child.visits[visit_id]["kind"] == "home_visit"
    assert child.visits[visit_id]["occurred_on"] == date(2026, 11, 20)
    assert child.visits[visit_id]["notes"] == "补记"


def test_correcting_a_visit_that_was_never_logged_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        registered().correct_visit(uuid4(), kind="talk", visit_on=None, notes=None, why=None, stamp=STAMP)
    assert refusal.value.field == "visit_id"


def test_correcting_a_visit_to_a_future_date_is_refused():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))

    with pytest.raises(InvalidValue) as refusal:
        child.correct_visit(visit_id, kind=None, visit_on=TODAY + timedelta(days=1), notes=None, why=None,
                            stamp=STAMP)
    assert refusal.value.field == "occurred_on"
    assert child.visits[visit_id]["occurred_on"] == date(2026, 11, 20)


def test_a_visit_is_stamped_with_the_day_it_describes_and_its_correction_with_the_day_it_was_made():
    child, visit_id = with_a_home_visit_on(date(2026, 11, 20))
    child.correct_visit(visit_id, kind=None, visit_on=date(2026, 11, 21), notes=None, why=None, stamp=STAMP)

    logged, corrected = child.collect_events()[1:]
    assert logged.occurred_on == date(2026, 11, 20)
    assert corrected.occurred_on == TODAY


# Aid


def test_aid_granted_appears_in_the_file_in_fen():
    child, aid_id = registered(), uuid4()

    child.grant_aid(aid_id, "material", 40_000, "区妇联六一慰问", stamp=STAMP)

    assert child.aid[aid_id] == {
        "kind": "material", "amount_fen": 40_000, "source": "区妇联六一慰问", "occurred_on": TODAY,
    }


@pytest.mark.parametrize("amount_fen", [0, -100])
def test_aid_of_no_money_or_negative_money_is_refused(amount_fen):
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.grant_aid(uuid4(), "cash", amount_fen, "街道", stamp=STAMP)
    assert refusal.value.field == "amount_fen"
    assert child.aid == {}


def test_aid_may_be_recorded_for_an_earlier_day():
    child, aid_id = registered(), uuid4()

    child.grant_aid(aid_id, "tuition", 50_000, "春蕾计划", stamp=STAMP.describing(date(2026, 9, 1)))

    assert child.aid[aid_id]["occurred_on"] == date(2026, 9, 1)


def test_aid_dated_in_the_future_is_refused():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.grant_aid(uuid4(), "material", 40_000, "六一慰问", stamp=STAMP.describing(TODAY + timedelta(days=1)))
    assert refusal.value.field == "occurred_on"
    assert child.aid == {}
