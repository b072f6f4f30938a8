"""The unit tree: district (6 digits) → street (9) → community (12) → grid (13-15).

A unit's code starts with its parent's code, so ancestry is a prefix test and the
levels above a grid can be read off its code.
"""

from __future__ import annotations

from typing import Literal

from domain.errors import InvalidValue

Level = Literal["district", "street", "community", "grid"]
LEVELS: tuple[Level, ...] = ("district", "street", "community", "grid")
ConcernLevel = Literal["community", "street", "district"]


def level_of(code: str) -> Level:
    """The level a unit code denotes, by its length."""
    # str.isdigit() alone also accepts full-width and other non-ASCII digits.
    if not (code.isascii() and code.isdigit()):
        raise InvalidValue("单位代码只能包含数字", field="code")
    n = len(code)
    if n == 6:
        return "district"
    if n == 9:
        return "street"
    if n == 12:
        return "community"
    if 13 <= n <= 15:
        return "grid"
    raise InvalidValue("单位代码长度应为6、9、12或13-15位", field="code")


def validate_child_unit(code: str, parent: str, level: Level) -> None:
    """Refuse a unit whose code does not sit directly under its parent at the given level."""
    if level_of(code) != level:
        raise InvalidValue(f"代码 {code} 不是{level}级单位代码", field="code")
    if not code.startswith(parent) or LEVELS.index(level_of(parent)) != LEVELS.index(level) - 1:
        raise InvalidValue("单位代码必须以上级单位代码开头", field="parent")


def ancestor(code: str, level: Level) -> str:
    """The code of the unit at `level` above (or equal to) `code`."""
    return code[: {"district": 6, "street": 9, "community": 12}[level]] if level != "grid" else code


def contains(scope: str, code: str) -> bool:
    """Whether the unit `code` lies in the subtree rooted at `scope`."""
    return code.startswith(scope)
