"""The unit tree: district (6 digits), street (9), community (12), grid (13-15)."""

import pytest

from domain.errors import InvalidValue
from domain.units import ancestor, contains, level_of, validate_child_unit

DISTRICT, STREET, COMMUNITY, GRID = "150902", "150902001", "150902001001", "150902001001003"


@pytest.mark.parametrize(("code", "level"), [
    (DISTRICT, "district"), (STREET, "street"), (COMMUNITY, "community"),
    ("1509020010010", "grid"), ("15090200100101", "grid"), (GRID, "grid"),
])
def test_a_units_level_is_read_off_the_length_of_its_code(code, level):
    assert level_of(code) == level


@pytest.mark.parametrize("code", ["", "15090", "1509020", "1509020010", "15090200100", "1509020010010031"])
def test_a_code_of_no_level_is_refused(code):
    with pytest.raises(InvalidValue) as refusal:
        level_of(code)
    assert refusal.value.field == "code"


@pytest.mark.parametrize("code", ["15090A", "150-902", "１５０９０２", "15090²"],
                         ids=["letter", "dash", "fullwidth", "superscript"])
def test_a_code_with_anything_but_ascii_digits_is_refused(code):
    with pytest.raises(InvalidValue) as refusal:
        level_of(code)
    assert refusal.value.field == "code"


@pytest.mark.parametrize(("level", "code"), [
    ("district", DISTRICT), ("street", STREET), ("community", COMMUNITY), ("grid", GRID),
])
def test_the_ancestor_of_a_grid_at_each_level_is_a_prefix_of_its_code(level, code):
    assert ancestor(GRID, level) == code


def test_a_community_is_its_own_community():
    assert ancestor(COMMUNITY, "community") == COMMUNITY


def test_a_unit_lies_within_its_ancestors_and_itself():
    assert contains(DISTRICT, GRID)
    assert contains(STREET, GRID)
    assert contains(GRID, GRID)


def test_a_unit_does_not_lie_within_a_neighbouring_street():
    assert not contains("150902002", GRID)
    assert not contains(GRID, STREET)


@pytest.mark.parametrize(("code", "parent", "level"), [
    (STREET, DISTRICT, "street"), (COMMUNITY, STREET, "community"), (GRID, COMMUNITY, "grid"),
])
def test_a_unit_directly_under_its_parent_is_accepted(code, parent, level):
    validate_child_unit(code, parent, level)


def test_a_unit_whose_code_is_not_of_the_stated_level_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        validate_child_unit(COMMUNITY, STREET, "street")
    assert refusal.value.field == "code"


def test_a_unit_whose_code_does_not_start_with_its_parents_is_refused():
    with pytest.raises(InvalidValue) as refusal:
        validate_child_unit("150902002001", STREET, "community")
    assert refusal.value.field == "parent"


def test_a_unit_must_sit_directly_under_its_parent_not_further_down():
    with pytest.raises(InvalidValue) as refusal:
        validate_child_unit(COMMUNITY, DISTRICT, "community")
    assert refusal.value.field == "parent"
