"""Small builders of valid commands for tests."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from domain.child import ChildDetails, Guardian, Parent
from domain.identity import make_id_number

_sequence = itertools.count(1)


def child_details(grid: str, **overrides: Any) -> ChildDetails:
    """A valid registration of a nine-year-old girl living with her grandmother."""
    birth = overrides.pop("birth_date", date(2017, 5, 12))
    gender = overrides.pop("gender", "F")
    n = next(_sequence)
    values: dict[str, Any] = dict(
        name=f"王小花{n:05d}", gender=gender, birth_date=birth, grid=grid, reason="both_parents_away",
        id_number=make_id_number("150902", birth, n % 500, gender),
        school="集宁区第一小学", class_name="三年级二班", address=f"白沙关村{n}号",
        guardian=Guardian(name="李桂兰", relation="paternal_grandparent", phone=f"139{n:08d}", birth_year=1958,
                          health="高血压"),
        parents=(Parent(relation="father", name="王建国", work_place="广东省东莞市", phone=f"138{n:08d}"),
                 Parent(relation="mother", name="张丽", work_place="浙江省宁波市", phone=f"137{n:08d}")),
    )
    values.update(overrides)
    return ChildDetails(**values)
