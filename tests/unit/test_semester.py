"""Semesters follow the school year: autumn is September to January, spring February to August."""

from datetime import date

import pytest

from domain.errors import InvalidValue
from domain.semester import Semester, semester_key


def test_autumn_runs_from_the_first_of_september_to_the_last_of_january_of_the_next_year():
    autumn = Semester.parse("2026-autumn")

    assert (autumn.starts_on, autumn.ends_on) == (date(2026, 9, 1), date(2027, 1, 31))
    assert Semester.of(date(2026, 9, 1)) == autumn
    assert Semester.of(date(2026, 12, 31)) == autumn
    assert Semester.of(date(2027, 1, 31)) == autumn


def test_spring_runs_from_the_first_of_february_to_the_last_of_august():
    spring = Semester.parse("2027-spring")

    assert (spring.starts_on, spring.ends_on) == (date(2027, 2, 1), date(2027, 8, 31))
    assert Semester.of(date(2027, 2, 1)) == spring
    assert Semester.of(date(2027, 8, 31)) == spring
    assert Semester.of(date(2026, 8, 31)) == Semester(2026, "spring")


def test_every_day_of_a_year_falls_in_exactly_the_semester_that_contains_it():
    day = date(2026, 1, 1)
    while day.year == 2026:
        semester = Semester.of(day)
        assert semester.contains(day)
        assert not semester.next().contains(day)
        day = date.fromordinal(day.toordinal() + 1)


def test_a_semester_reads_and_prints_as_year_and_term():
    assert str(Semester(2026, "autumn")) == "2026-autumn"
    assert semester_key(date(2027, 1, 15)) == "2026-autumn"
    assert Semester(2026, "autumn").next() == Semester(2027, "spring")
    assert Semester(2027, "spring").next() == Semester(2027, "autumn")
    assert Semester(2026, "spring") < Semester(2026, "autumn") < Semester(2027, "spring")


@pytest.mark.parametrize("text", ["2026-winter", "26-autumn", "2026autumn", "２０２６-autumn", "", "2026-"])
def test_a_malformed_semester_is_refused_naming_the_field(text):
    with pytest.raises(InvalidValue) as refused:
        Semester.parse(text)

    assert refused.value.field == "semester"
