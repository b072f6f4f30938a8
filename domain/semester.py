"""School semesters, the period every contact quota is counted over.

`YYYY-autumn` runs from 1 September YYYY to 31 January YYYY+1; `YYYY-spring` from 1 February to
31 August YYYY. A contact counts in the semester of the date it describes (`occurred_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from domain.errors import InvalidValue

Term = Literal["autumn", "spring"]


@dataclass(frozen=True)
class Semester:
    year: int
    term: Term

    @classmethod
    def of(cls, day: date) -> Semester:
        """The semester a business date falls in."""
        return _semester_of(day)

    @classmethod
    def parse(cls, text: str, field: str = "semester") -> Semester:
        """`2026-autumn` or `2027-spring`; anything else is refused naming `field`."""
        year, _, term = text.partition("-")
        if not (len(year) == 4 and year.isascii() and year.isdigit()) or term not in ("autumn", "spring"):
            raise InvalidValue("学期格式应为 YYYY-autumn 或 YYYY-spring", field=field)
        return cls(int(year), term)  # type: ignore[arg-type]

    @property
    def starts_on(self) -> date:
        return date(self.year, 9, 1) if self.term == "autumn" else date(self.year, 2, 1)

    @property
    def ends_on(self) -> date:
        return date(self.year + 1, 1, 31) if self.term == "autumn" else date(self.year, 8, 31)

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def next(self) -> Semester:
        return Semester(self.year + 1, "spring") if self.term == "autumn" else Semester(self.year, "autumn")

    def __lt__(self, other: Semester) -> bool:
        # By date, not by field: "autumn" sorts before "spring" alphabetically but comes after it.
        return self.starts_on < other.starts_on

    def __str__(self) -> str:
        return f"{self.year}-{self.term}"


@lru_cache(maxsize=4096)
def _semester_of(day: date) -> Semester:
    # Cached: projections ask this of every contact, and dates repeat a lot.
    if day.month >= 9:
        return Semester(day.year, "autumn")
    if day.month == 1:
        return Semester(day.year - 1, "autumn")
    return Semester(day.year, "spring")


def semester_key(day: date) -> str:
    """The semester of a date as read models store it (`2026-autumn`)."""
    return _key_of(day)


@lru_cache(maxsize=4096)
def _key_of(day: date) -> str:
    return str(_semester_of(day))
