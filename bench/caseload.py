"""Realistic case logs, fast: domain aggregates recorded many at a time through `CaseLog.record`.

Going through the use cases costs a transaction per command; the benchmark needs millions of
events, so this plays a street's year the way the use cases would (same aggregates, same rules,
same sealing of personal data) and records a few hundred aggregates per transaction. The year is
played week by week across all children, so the log interleaves children as a real one does: a
batch of a thousand events touches hundreds of children, not a few.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.child import Child, ChildDetails, Guardian, Parent
from domain.concern import Concern
from domain.events import Stamp
from domain.helper import Helper, Pair
from domain.identity import make_id_number

TODAY = date(2026, 11, 29)
AT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
KINDS = ("home_visit", "talk", "teacher_contact", "guardian_contact", "letter")
# The weeks contacts are logged in: the spring and the autumn semesters of 2026.
WEEKS = [date(2026, 2, 23) + timedelta(weeks=w) for w in range(21)] + \
        [date(2026, 9, 7) + timedelta(weeks=w) for w in range(12)]


@dataclass(frozen=True)
class Profile:
    """How much happens to a child in the generated year."""

    contacts: float  # contacts logged per year, on average
    extras: bool  # corrections, moves, closures, aid, concerns


FULL = Profile(contacts=13.0, extras=True)  # about 18 events per child
LIGHT = Profile(contacts=2.0, extras=False)  # about 5 events per child


def _stamp(on: date) -> Stamp:
    return Stamp("bench", AT, TODAY, on)


def _details(grid: str, n: int, rng: random.Random) -> ChildDetails:
    birth = date(2012 + rng.randrange(9), 1 + rng.randrange(12), 1 + rng.randrange(28))
    gender = rng.choice("FM")
    return ChildDetails(
        name=f"儿童{n}", gender=gender, birth_date=birth, grid=grid,  # type: ignore[arg-type]
        reason=rng.choice(("both_parents_away", "one_parent_away_other_unable")),  # type: ignore[arg-type]
        id_number=make_id_number("150902", birth, n % 500, gender), school="集宁区第一小学", class_name="三年级二班",
        address=f"白沙关村{n}号",
        guardian=Guardian(name="李桂兰", relation="paternal_grandparent", phone=f"139{n:08d}", birth_year=1958),
        parents=(Parent(relation="father", name="王建国", work_place="广东省东莞市", phone=f"138{n:08d}"),))


Paired = dict[UUID, tuple[Pair, Helper]]  # child id → its pair and the pair's helper


def _enrol(grids: list[str], count: int, rng: random.Random) -> Iterator[tuple[list[Aggregate], list[Child], Paired]]:
    """Registrations, two children and their helper at a time, most of them paired."""
    for n in range(0, count, 2):
        grid = grids[(n // 2) % len(grids)]
        helper = Helper.enrol(uuid4(), f"帮扶人{n}", "caring_mother", None, grid, stamp=_stamp(date(2026, 2, 1)))
        kids = [Child.register(uuid4(), _details(grid, k, rng), stamp=_stamp(date(2026, 2, 10))) for k in (n, n + 1)]
        pairs = [Pair.form(uuid4(), kid, helper, 2, stamp=_stamp(date(2026, 2, 15)))
                 for kid in kids if rng.random() < 0.8]
        yield [*kids, helper, *pairs], kids, {pair.child_id: (pair, helper) for pair in pairs}


def _week(child: Child, day: date, grids: list[str], profile: Profile, rng: random.Random,
          concern: Concern | None, paired: Paired) -> list[Aggregate]:
    """What happens to one child in one week: usually nothing, often a contact, sometimes more."""
    touched: list[Aggregate] = []
    if child.status == "open" and rng.random() < profile.contacts / len(WEEKS):
        visit_id = uuid4()
        kind = rng.choice(KINDS) if rng.random() < 0.9 else "parent_call"
        child.log_visit(visit_id, kind, None, "情况良好", stamp=_stamp(day))  # type: ignore[arg-type]
        if profile.extras and rng.random() < 0.05:
            child.correct_visit(visit_id, kind=rng.choice(KINDS), visit_on=None, notes=None,  # type: ignore[arg-type]
                                why="记错类别", stamp=_stamp(TODAY))
        touched.append(child)
    if not profile.extras:
        return touched
    chance = rng.random() * len(WEEKS)  # one draw: at most one rarer thing a week
    if chance < 0.5 and child.status == "open":
        child.grant_aid(uuid4(), "supplies", 20_000, "区妇联", stamp=_stamp(day))  # type: ignore[arg-type]
    elif chance < 0.55:
        child.correct_profile({"school": "集宁区第二小学"}, "转学", stamp=_stamp(TODAY))
    elif chance < 0.6:
        child.change_guardian(Guardian(name="张秀英", relation="maternal_grandparent"), stamp=_stamp(TODAY))
    elif chance < 0.65 and grids[0] != child.grid:
        child.move(grids[0], stamp=_stamp(TODAY))
    elif chance < 0.71 and child.status == "open":
        pair, helper = paired[child.id] if child.id in paired else (None, None)
        pairs, helpers = ([pair], [helper]) if pair is not None else ([], [])
        child.close("parent_returned", None, pairs, helpers, stamp=_stamp(TODAY))  # its pair ends with it
        return [child, *pairs, *helpers, *([concern] if concern is not None else [])]
    elif chance < 0.71:
        child.reopen(None, stamp=_stamp(TODAY))
    elif chance < 0.81 and concern is None:
        concern = Concern.raise_(uuid4(), child.id, child.grid, "psychological", rng.choice(  # type: ignore[arg-type]
            ("low", "medium", "high", "urgent")), "情绪低落", stamp=_stamp(TODAY))
    elif chance < 0.91 and concern is not None and concern.status == "open":
        if not concern.acknowledged:
            concern.acknowledge(None, stamp=_stamp(TODAY))
        elif concern.level != "district" and rng.random() < 0.5:
            concern.escalate("需要上级协调", stamp=_stamp(TODAY))
        else:
            concern.resolve("已处理", stamp=_stamp(TODAY))
    else:
        return touched
    return [child, *([concern] if concern is not None else [])]


def year(grids: list[str], count: int, profile: Profile, seed: int = 7) -> Iterator[list[Aggregate]]:
    """`count` children's year in a street, as groups of aggregates changed together, in recording order."""
    rng = random.Random(seed)
    children: list[Child] = []
    paired: Paired = {}
    for batch, kids, pairs in _enrol(grids, count, rng):
        children += kids
        paired.update(pairs)
        yield batch
    concerns: dict[int, Concern] = {}
    for day in WEEKS:
        for n, child in enumerate(children):
            touched = _week(child, day, grids, profile, rng, concerns.get(n), paired)
            for aggregate in touched:
                if isinstance(aggregate, Concern):
                    concerns[n] = aggregate
            if touched:
                yield touched


def record(case_log: object, groups: Iterator[list[Aggregate]], per_transaction: int = 300) -> int:
    """Record the groups, about `per_transaction` aggregates at a time; return the log's head position."""
    pending: dict[object, Aggregate] = {}
    head = 0
    for group in groups:
        for aggregate in group:
            if aggregate.id in pending:  # changed again before its events were recorded: record those first
                head = case_log.record(*pending.values())  # type: ignore[attr-defined]
                pending = {}
            pending[aggregate.id] = aggregate
        if len(pending) >= per_transaction:
            head = case_log.record(*pending.values())  # type: ignore[attr-defined]
            pending = {}
    if pending:
        head = case_log.record(*pending.values())  # type: ignore[attr-defined]
    return head


def unit_codes(street: str, communities: int, grids: int) -> list[tuple[str, str, str]]:
    """(code, level, parent) of a street's communities and grids."""
    units = []
    for c in range(1, communities + 1):
        community = f"{street}{c:03d}"
        units.append((community, "community", street))
        units += [(f"{community}{g:02d}", "grid", community) for g in range(1, grids + 1)]
    return units


def grids_of(units: list[tuple[str, str, str]]) -> list[str]:
    return [code for code, level, _ in units if level == "grid"]
