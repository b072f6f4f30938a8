"""Resident identity numbers (GB 11643-1999): 18 characters, the last a check digit."""

from __future__ import annotations

from datetime import date

from domain.errors import InvalidValue

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate_id_number(id_number: str, *, birth_date: date, gender: str, field: str = "id_number") -> str:
    """Return the normalised ID number, or refuse one that is malformed or disagrees with the child."""
    value = id_number.strip().upper()
    # str.isdigit() also accepts full-width and other non-ASCII digits; an ID number has none.
    if len(value) != 18 or not value.isascii() or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidValue("身份证号应为18位（前17位为数字，末位为数字或X）", field=field)
    if check_digit(value[:17]) != value[17]:
        raise InvalidValue("身份证号校验位不正确", field=field)
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidValue("身份证号中的出生日期无效", field=field) from None
    if born != birth_date:
        raise InvalidValue("身份证号中的出生日期与出生日期不一致", field=field)
    # The 17th digit is odd for men and even for women.
    if ("M" if int(value[16]) % 2 else "F") != gender:
        raise InvalidValue("身份证号中的性别与性别不一致", field=field)
    return value


def make_id_number(region: str, birth_date: date, sequence: int, gender: str) -> str:
    """A valid ID number for test and demo data (`sequence` 0-499)."""
    order = sequence * 2 + (1 if gender == "M" else 0)
    first17 = f"{region}{birth_date:%Y%m%d}{order:03d}"
    return first17 + check_digit(first17)
