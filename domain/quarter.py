"""Quarters, the period of the reports every level sends up (每季度上报): `YYYY-Qn`."""

from __future__ import annotations

from datetime import date, timedelta

from domain.errors import InvalidValue


def quarter_of(day: date) -> str:
    """The quarter a date falls in."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    """The quarter before the one `day` falls in (what a report made on the first day of a quarter covers)."""
    return quarter_of(date(day.year, 3 * ((day.month - 1) // 3) + 1, 1) - timedelta(days=1))


def last_day(quarter: str) -> date:
    """The last day of a quarter `YYYY-Qn`; anything else is refused."""
    year, _, n = quarter.partition("-Q")
    if not (len(year) == 4 and year.isascii() and year.isdigit() and n in ("1", "2", "3", "4")):
        raise InvalidValue("报告期格式应为 YYYY-Qn", field="period")
    first_of_next = date(int(year) + (n == "4"), 1 if n == "4" else 3 * int(n) + 1, 1)
    return first_of_next - timedelta(days=1)


def is_quarter(text: str) -> bool:
    try:
        last_day(text)
    except InvalidValue:
        return False
    return True
