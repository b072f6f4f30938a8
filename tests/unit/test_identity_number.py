"""Resident ID numbers (GB 11643): 18 characters, the last a check digit, agreeing with the child."""

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.child import Child, ChildDetails, Guardian
from domain.errors import InvalidValue
from domain.events import Stamp
from domain.identity import check_digit, make_id_number, validate_id_number

BORN = date(2015, 3, 4)
AT = datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8)))
STAMP = Stamp.of("grid-worker-1", AT, date(2026, 11, 29))


def a_boys_id(sequence: int = 5) -> str:
    return make_id_number("150902", BORN, sequence, "M")


def with_check_digit_changed(id_number: str) -> str:
    wrong = "0" if id_number[17] != "0" else "1"
    return id_number[:17] + wrong


def validate(id_number: str, *, birth_date: date = BORN, gender: str = "M") -> str:
    return validate_id_number(id_number, birth_date=birth_date, gender=gender)


def register_boy_with(id_number: str) -> Child:
    details = ChildDetails(
        name="王小明", gender="M", birth_date=BORN, grid="150902001001001", reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"), id_number=id_number,
    )
    return Child.register(uuid4(), details, stamp=STAMP)


def test_a_valid_id_number_is_accepted_as_it_is():
    assert validate(a_boys_id()) == a_boys_id()


def test_the_made_up_id_numbers_of_test_data_are_valid_for_girls_and_boys():
    for sequence in range(500):
        validate(make_id_number("150902", BORN, sequence, "F"), gender="F")
        validate(make_id_number("150902", BORN, sequence, "M"), gender="M")


def test_the_check_digit_follows_gb_11643():
    # The standard's worked example: 11010519491231002X.
    assert check_digit("11010519491231002") == "X"


def test_an_id_number_with_a_lowercase_x_is_normalised_to_uppercase():
    girls_id = make_id_number("150902", BORN, 3, "F")
    assert girls_id.endswith("X")

    assert validate(girls_id.lower(), gender="F") == girls_id


def test_surrounding_spaces_are_dropped_from_an_id_number():
    assert validate(f"  {a_boys_id()} ") == a_boys_id()


@pytest.mark.parametrize("id_number", ["", "15090220150304011", "1509022015030401155"], ids=["empty", "17", "19"])
def test_an_id_number_of_the_wrong_length_is_refused_naming_the_field(id_number):
    with pytest.raises(InvalidValue) as refusal:
        validate(id_number)
    assert refusal.value.field == "id_number"


@pytest.mark.parametrize("position", [0, 8, 16, 17])
def test_an_id_number_with_a_letter_is_refused_naming_the_field(position):
    id_number = a_boys_id()
    with pytest.raises(InvalidValue) as refusal:
        validate(id_number[:position] + "A" + id_number[position + 1:])
    assert refusal.value.field == "id_number"


@pytest.mark.parametrize("digit", ["１", "²", "٣"], ids=["fullwidth", "superscript", "arabic-indic"])
def test_an_id_number_with_a_non_ascii_digit_is_refused_naming_the_field(digit):
    id_number = a_boys_id()
    with pytest.raises(InvalidValue) as refusal:
        validate(digit + id_number[1:])
    assert refusal.value.field == "id_number"


def test_an_id_number_with_an_x_before_the_last_place_is_refused():
    with pytest.raises(InvalidValue):
        validate(a_boys_id()[:16] + "X" + a_boys_id()[17])


def test_an_id_number_with_a_wrong_check_digit_is_refused_naming_the_field():
    with pytest.raises(InvalidValue) as refusal:
        validate(with_check_digit_changed(a_boys_id()))
    assert refusal.value.field == "id_number"
    assert "校验位" in refusal.value.message


def test_an_id_number_holding_an_impossible_date_is_refused():
    first17 = "150902" + "20150230" + "011"
    with pytest.raises(InvalidValue) as refusal:
        validate(first17 + check_digit(first17))
    assert refusal.value.field == "id_number"


def test_an_id_number_whose_birth_date_disagrees_with_the_childs_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        validate(a_boys_id(), birth_date=date(2015, 3, 5))
    assert refusal.value.field == "id_number"
    assert "出生日期" in refusal.value.message


def test_a_girls_id_number_on_a_boys_file_is_refused():
    girls_id = make_id_number("150902", BORN, 5, "F")
    with pytest.raises(InvalidValue) as refusal:
        validate(girls_id, gender="M")
    assert refusal.value.field == "id_number"
    assert "性别" in refusal.value.message


def test_a_boys_id_number_on_a_girls_file_is_refused():
    with pytest.raises(InvalidValue):
        validate(a_boys_id(), gender="F")


def test_the_refusal_can_name_another_field():
    with pytest.raises(InvalidValue) as refusal:
        validate_id_number("123", birth_date=BORN, gender="M", field="changes.id_number")
    assert refusal.value.field == "changes.id_number"


def test_a_child_is_registered_with_the_normalised_id_number():
    boys_id = a_boys_id(24)
    assert boys_id.endswith("X")

    child = register_boy_with(boys_id.lower())

    assert child.id_number == boys_id
    assert child.collect_events()[0].id_number == boys_id


def test_a_child_with_a_wrong_check_digit_is_not_registered():
    with pytest.raises(InvalidValue) as refusal:
        register_boy_with(with_check_digit_changed(a_boys_id()))
    assert refusal.value.field == "id_number"


def test_a_child_may_be_registered_without_an_id_number():
    details = ChildDetails(
        name="王小红", gender="F", birth_date=BORN, grid="150902001001001", reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"),
    )
    assert Child.register(uuid4(), details, stamp=STAMP).id_number is None
