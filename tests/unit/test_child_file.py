"""A child's file: registration, age limit, corrections, guardian, grid, closing, reopening, forgetting."""

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import msgspec
import pytest

from domain.child import Child, ChildDetails, Guardian, Parent, turns_16_on
from domain.errors import InvalidValue, RuleViolation
from domain.events import Stamp
from domain.identity import make_id_number

TODAY = date(2026, 11, 29)
STAMP = Stamp.of("grid-worker-1", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))), TODAY)
GRID = "150902001001001"
OTHER_GRID = "150902001001002"
BORN = date(2015, 3, 4)


def details(**changes: object) -> ChildDetails:
    boy = ChildDetails(
        name="王小明", gender="M", birth_date=BORN, grid=GRID, reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent", phone="13800000000", health="good"),
        parents=(Parent(relation="father", name="王大山", work_place="深圳", phone="13900000000"),
                 Parent(relation="mother", name="李春花", work_place="东莞", phone="13700000000")),
        id_number=make_id_number("150902", BORN, 5, "M"), school="三河小学", class_name="五年级二班",
        address="三河街道白沙关社区 12 号",
    )
    return msgspec.structs.replace(boy, **changes)


def registered(**changes: object) -> Child:
    return Child.register(uuid4(), details(**changes), stamp=STAMP)


def closed() -> Child:
    child = registered()
    child.close("parent_returned", "父亲返乡", stamp=STAMP)
    return child


def forgotten() -> Child:
    child = registered()
    child.forget("监护人依法申请删除", stamp=STAMP)
    return child


def registered_on(day: date, birth_date: date) -> Child:
    stamp = Stamp.of("grid-worker-1", STAMP.at, day)
    return Child.register(uuid4(), details(birth_date=birth_date, id_number=None), stamp=stamp)


def event_names(child: Child) -> list[str]:
    return [type(event).__name__ for event in child.collect_events()]


# Registration


def test_a_registered_child_has_an_open_file_with_what_the_grid_worker_recorded():
    child = registered()

    assert child.status == "open"
    assert child.erased is False
    assert child.registered_on == TODAY
    assert (child.name, child.gender, child.birth_date, child.grid) == ("王小明", "M", BORN, GRID)
    assert child.guardian["name"] == "王奶奶"
    assert [parent["relation"] for parent in child.parents] == ["father", "mother"]
    assert child.visits == {} and child.aid == {}


def test_registration_stores_plain_data_not_value_objects():
    (event,) = registered().collect_events()

    assert type(event).__name__ == "Registered"
    assert event.guardian == {"name": "王奶奶", "relation": "paternal_grandparent", "phone": "13800000000",
                              "birth_year": None, "health": "good"}
    assert isinstance(event.parents, list) and all(isinstance(parent, dict) for parent in event.parents)
    assert event.unit == GRID and event.grid == GRID


def test_registration_may_describe_an_earlier_census_day():
    census_day = date(2026, 9, 15)
    child = Child.register(uuid4(), details(), stamp=STAMP.describing(census_day))

    assert child.registered_on == census_day


# Age


def test_a_child_one_day_before_their_16th_birthday_is_accepted():
    child = registered_on(date(2026, 11, 28), birth_date=date(2010, 11, 29))

    assert child.status == "open"


def test_a_child_aged_16_on_the_registration_date_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        registered_on(date(2026, 11, 29), birth_date=date(2010, 11, 29))
    assert refusal.value.field == "birth_date"


def test_a_child_older_than_16_is_refused():
    with pytest.raises(InvalidValue):
        registered_on(TODAY, birth_date=date(2005, 1, 1))


def test_a_child_born_on_the_registration_date_is_accepted():
    assert registered_on(TODAY, birth_date=TODAY).birth_date == TODAY


def test_a_birth_date_in_the_future_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        registered_on(TODAY, birth_date=TODAY + timedelta(days=1))
    assert refusal.value.field == "birth_date"


def test_a_child_born_on_29_february_turns_16_on_29_february_of_a_leap_year():
    born = date(2012, 2, 29)

    assert registered_on(date(2028, 2, 28), birth_date=born).status == "open"
    with pytest.raises(InvalidValue):
        registered_on(date(2028, 2, 29), birth_date=born)


def test_a_child_born_on_29_february_turns_16_on_1_march_when_that_year_has_no_29_february():
    # 2100 is not a leap year, so the 16th birthday of a child born 29 Feb 2084 falls on 1 March.
    assert turns_16_on(date(2084, 2, 29)) == date(2100, 3, 1)
    assert registered_on(date(2100, 2, 28), birth_date=date(2084, 2, 29)).status == "open"
    with pytest.raises(InvalidValue):
        registered_on(date(2100, 3, 1), birth_date=date(2084, 2, 29))


# Corrections


def test_a_correction_appears_in_the_childs_file():
    child = registered()

    child.correct_profile({"school": "三河中学", "class_name": "初一一班"}, "升学", stamp=STAMP)

    assert (child.school, child.class_name) == ("三河中学", "初一一班")
    assert event_names(child) == ["Registered", "ProfileCorrected"]


def test_an_id_number_correction_is_normalised():
    child = registered(id_number=None)
    boys_id = make_id_number("150902", BORN, 24, "M")

    child.correct_profile({"id_number": boys_id.lower()}, None, stamp=STAMP)

    assert child.id_number == boys_id


def test_an_id_number_correction_that_disagrees_with_the_birth_date_is_refused():
    child = registered()
    someone_elses = make_id_number("150902", date(2015, 3, 5), 5, "M")

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"id_number": someone_elses}, None, stamp=STAMP)
    assert refusal.value.field == "changes.id_number"


def test_an_id_number_correction_that_disagrees_with_the_gender_is_refused():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"id_number": make_id_number("150902", BORN, 5, "F")}, None, stamp=STAMP)
    assert refusal.value.field == "changes.id_number"


def test_a_birth_date_correction_is_checked_against_the_id_number_on_file():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"birth_date": date(2015, 3, 5)}, None, stamp=STAMP)
    assert refusal.value.field == "changes.id_number"


def test_a_gender_correction_is_checked_against_the_id_number_on_file():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"gender": "F"}, None, stamp=STAMP)
    assert refusal.value.field == "changes.id_number"


def test_birth_date_gender_and_id_number_may_be_corrected_together():
    child = registered()
    born = date(2015, 6, 1)

    child.correct_profile({"birth_date": born, "gender": "F",
                           "id_number": make_id_number("150902", born, 9, "F")}, "登记错误", stamp=STAMP)

    assert (child.birth_date, child.gender) == (born, "F")


def test_a_birth_date_correction_making_the_child_16_at_registration_is_refused():
    child = registered(id_number=None)

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"birth_date": date(2010, 11, 29)}, None, stamp=STAMP)
    assert refusal.value.field == "changes.birth_date"


def test_age_at_a_correction_is_judged_on_the_day_the_file_was_opened():
    child = registered_on(date(2026, 1, 10), birth_date=date(2010, 3, 1))
    later = Stamp.of("grid-worker-1", STAMP.at, TODAY)

    # The child is 16 by now, but was 15 when the file was opened.
    child.correct_profile({"birth_date": date(2010, 3, 2)}, None, stamp=later)

    assert child.birth_date == date(2010, 3, 2)


def test_a_correction_of_an_unknown_field_is_refused_naming_it():
    child = registered()

    with pytest.raises(InvalidValue) as refusal:
        child.correct_profile({"favourite_colour": "red"}, None, stamp=STAMP)
    assert refusal.value.field == "changes.favourite_colour"


def test_the_grid_cannot_be_changed_by_a_correction():
    with pytest.raises(InvalidValue) as refusal:
        registered().correct_profile({"grid": OTHER_GRID}, None, stamp=STAMP)
    assert refusal.value.field == "changes.grid"


def test_an_empty_correction_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        registered().correct_profile({}, None, stamp=STAMP)
    assert refusal.value.field == "changes"


def test_corrected_parents_are_stored_as_plain_data():
    child = registered()

    child.correct_profile({"parents": [Parent(relation="mother", name="李春花", phone="13700000001")]}, None,
                          stamp=STAMP)

    corrected = child.collect_events()[-1]
    assert corrected.changes["parents"] == [
        {"relation": "mother", "name": "李春花", "work_place": None, "phone": "13700000001"}
    ]
    assert child.parents == corrected.changes["parents"]


# Guardian and grid


def test_a_new_guardian_replaces_the_old_one():
    child = registered()

    child.change_guardian(Guardian(name="李外婆", relation="maternal_grandparent"), stamp=STAMP)

    assert child.guardian["name"] == "李外婆"
    assert child.guardian["relation"] == "maternal_grandparent"


def test_a_child_moves_to_another_grid():
    child = registered()

    child.move(OTHER_GRID, stamp=STAMP)

    assert child.grid == OTHER_GRID
    moved = child.collect_events()[-1]
    assert (moved.from_grid, moved.to_grid, moved.unit) == (GRID, OTHER_GRID, GRID)


def test_moving_a_child_to_the_grid_it_is_in_is_refused():
    with pytest.raises(RuleViolation) as refusal:
        registered().move(GRID, stamp=STAMP)
    assert refusal.value.field == "grid"


# Closing and reopening


def test_a_closed_file_keeps_its_reason():
    child = closed()

    assert child.status == "closed"
    assert child.closed_reason == "parent_returned"


def test_closing_a_closed_file_is_refused():
    with pytest.raises(RuleViolation):
        closed().close("moved_away", None, stamp=STAMP)


def test_a_reopened_file_is_open_again_and_forgets_why_it_was_closed():
    child = closed()

    child.reopen("父亲再次外出务工", stamp=STAMP)

    assert child.status == "open"
    assert child.closed_reason is None


def test_reopening_an_open_file_is_refused():
    with pytest.raises(RuleViolation):
        registered().reopen(None, stamp=STAMP)


def test_a_closed_file_refuses_visits_until_reopened():
    child = closed()

    with pytest.raises(RuleViolation):
        child.log_visit(uuid4(), "home_visit", None, None, stamp=STAMP)

    child.reopen(None, stamp=STAMP)
    child.log_visit(uuid4(), "home_visit", None, None, stamp=STAMP)
    assert len(child.visits) == 1


def test_a_closed_file_refuses_aid_until_reopened():
    child = closed()

    with pytest.raises(RuleViolation):
        child.grant_aid(uuid4(), "supplies", 20_000, "区妇联", stamp=STAMP)

    child.reopen(None, stamp=STAMP)
    child.grant_aid(uuid4(), "supplies", 20_000, "区妇联", stamp=STAMP)
    assert len(child.aid) == 1


# Forgetting


def test_a_forgotten_childs_personal_fields_read_as_none():
    child = forgotten()

    assert child.erased is True
    assert (child.name, child.id_number, child.address) == (None, None, None)
    assert (child.guardian["name"], child.guardian["phone"], child.guardian["health"]) == (None, None, None)
    assert child.guardian["relation"] == "paternal_grandparent"
    for parent in child.parents:
        assert (parent["name"], parent["work_place"], parent["phone"]) == (None, None, None)


def test_a_forgotten_file_keeps_what_is_not_personal():
    child = forgotten()

    assert (child.gender, child.birth_date, child.grid, child.status) == ("M", BORN, GRID, "open")


def test_the_legal_ground_for_forgetting_stays_readable():
    assert forgotten().collect_events()[-1].why == "监护人依法申请删除"


FURTHER_COMMANDS = {
    "correct_profile": lambda child: child.correct_profile({"school": "三河中学"}, None, stamp=STAMP),
    "change_guardian": lambda child: child.change_guardian(
        Guardian(name="李外婆", relation="maternal_grandparent"), stamp=STAMP),
    "move": lambda child: child.move(OTHER_GRID, stamp=STAMP),
    "close": lambda child: child.close("other", None, stamp=STAMP),
    "log_visit": lambda child: child.log_visit(uuid4(), "talk", None, None, stamp=STAMP),
    "grant_aid": lambda child: child.grant_aid(uuid4(), "cash", 100, "街道", stamp=STAMP),
    "forget": lambda child: child.forget("again", stamp=STAMP),
}


@pytest.mark.parametrize("command", FURTHER_COMMANDS.values(), ids=FURTHER_COMMANDS.keys())
def test_a_forgotten_file_refuses_every_further_command(command):
    child = forgotten()

    with pytest.raises(RuleViolation):
        command(child)
    assert event_names(child) == ["Registered", "Forgotten"]


def test_a_forgotten_closed_file_cannot_be_reopened():
    child = closed()
    child.forget("监护人依法申请删除", stamp=STAMP)

    with pytest.raises(RuleViolation):
        child.reopen(None, stamp=STAMP)


def test_a_forgotten_file_refuses_a_correction_of_a_logged_visit():
    child = registered()
    visit_id = uuid4()
    child.log_visit(visit_id, "talk", None, "谈心", stamp=STAMP)
    child.forget("监护人依法申请删除", stamp=STAMP)

    with pytest.raises(RuleViolation):
        child.correct_visit(visit_id, kind=None, visit_on=None, notes="更正", why=None, stamp=STAMP)


def test_a_child_whose_parents_were_corrected_can_still_be_forgotten():
    child = registered()
    child.correct_profile({"parents": [Parent(relation="mother", name="李春花")]}, None, stamp=STAMP)

    child.forget("监护人依法申请删除", stamp=STAMP)

    assert child.parents == [{"relation": "mother", "name": None, "work_place": None, "phone": None}]
