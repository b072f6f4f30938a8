"""The unit counters and the dashboard built from them, on an in-memory port: given events, then counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.child import Child
from domain.events import Stamp
from domain.helper import Helper, Pair
from projections import unit_counters
from projections.dashboard import Part, dashboard, pct
from projections.unit_counters import CONTACT_KINDS, ChildFacts
from projections.worklist import missing, shows_names
from tests.builders import child_details

GRID, OTHER = "15090200100101", "15090200100201"
FIVE_ONES = (1, 1, 1, 1, 1, 0, 0)


class Rows:
    """The port, in memory: what infra keeps in tables."""

    def __init__(self, quota: tuple[int, ...] = FIVE_ONES) -> None:
        self.quota = quota
        self.children: dict[UUID, ChildFacts] = {}
        self.counts: dict[UUID, dict[str, list[int]]] = defaultdict(dict)
        self.visits: dict[UUID, tuple[str, str]] = {}
        self.helpers: dict[UUID, str | None] = {}
        self.counters: dict[tuple[str, str | None, str], int] = defaultdict(int)

    def child(self, child_id: UUID) -> ChildFacts | None:
        return self.children.get(child_id)

    def put_child(self, facts: ChildFacts) -> None:
        self.children[facts.child_id] = facts

    def contacts(self, child_id: UUID) -> dict[str, list[int]]:
        return self.counts[child_id]

    def put_contacts(self, child_id: UUID, semester: str, counts: list[int]) -> None:
        self.counts[child_id][semester] = counts

    def visit(self, visit_id: UUID) -> tuple[str, str] | None:
        return self.visits.get(visit_id)

    def put_visit(self, visit_id: UUID, child_id: UUID, kind: str, semester: str) -> None:
        self.visits[visit_id] = (kind, semester)

    def put_helper(self, helper_id: UUID, name: str | None) -> None:
        self.helpers[helper_id] = name

    def add(self, grid: str, semester: str | None, column: str, delta: int) -> None:
        self.counters[(grid, semester, column)] += delta

    def at(self, grid: str, semester: str | None = None) -> dict[str, int]:
        return {c: n for (g, s, c), n in self.counters.items() if g == grid and s == semester and n}


def stamp(on: date = date(2026, 11, 29)) -> Stamp:
    return Stamp("tester", datetime(2026, 11, 29, 2, tzinfo=UTC), date(2026, 11, 29), on)


def project(rows: Rows, *aggregates: Any) -> None:
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            unit_counters.apply(event, 0, rows)


def test_a_registered_child_counts_open_in_its_grid_by_reason():
    rows, child = Rows(), Child.register(uuid4(), child_details(GRID), stamp=stamp())

    project(rows, child)

    assert rows.at(GRID) == {"children_open": 1, "reason_both_parents_away": 1}


def test_meeting_every_quota_of_a_semester_counts_once_per_kind_and_once_for_all():
    rows, child = Rows(), Child.register(uuid4(), child_details(GRID), stamp=stamp())
    for n, kind in enumerate(CONTACT_KINDS[:5]):
        child.log_visit(uuid4(), kind, None, None, stamp=stamp(date(2026, 10, 1 + n)))  # type: ignore[arg-type]
    child.log_visit(uuid4(), "talk", None, None, stamp=stamp(date(2026, 10, 9)))  # a second talk adds nothing

    project(rows, child)

    assert rows.at(GRID, "2026-autumn") == {f"met_{k}": 1 for k in CONTACT_KINDS[:5]} | {"all_met": 1}


def test_a_corrected_date_moves_a_contact_to_the_other_semester():
    rows, child, visit = Rows(), Child.register(uuid4(), child_details(GRID), stamp=stamp()), uuid4()
    child.log_visit(visit, "talk", None, None, stamp=stamp(date(2026, 8, 31)))
    project(rows, child)
    assert rows.at(GRID, "2026-spring") == {"met_talk": 1}

    child.correct_visit(visit, kind="letter", visit_on=date(2026, 9, 1), notes=None, why=None, stamp=stamp())
    project(rows, child)

    assert rows.at(GRID, "2026-spring") == {} and rows.at(GRID, "2026-autumn") == {"met_letter": 1}


def test_a_move_takes_the_childs_counts_and_contacts_along_and_a_closure_takes_them_out():
    rows, child = Rows(), Child.register(uuid4(), child_details(GRID), stamp=stamp())
    helper = Helper.enrol(uuid4(), "赵敏", "teacher", None, GRID, stamp=stamp())
    pair = Pair.form(uuid4(), child, helper, 2, stamp=stamp())
    child.log_visit(uuid4(), "home_visit", None, None, stamp=stamp(date(2026, 4, 1)))
    child.move(OTHER, stamp=stamp())
    project(rows, child, helper, pair)

    assert rows.at(GRID) == {} and rows.at(GRID, "2026-spring") == {}
    assert rows.at(OTHER) == {"children_open": 1, "reason_both_parents_away": 1, "paired": 1}
    assert rows.at(OTHER, "2026-spring") == {"met_home_visit": 1} and rows.helpers == {helper.id: "赵敏"}

    child.close("parent_returned", None, [pair], [helper], stamp=stamp())
    project(rows, child, pair, helper)
    assert rows.at(OTHER) == {"children_closed": 1} and rows.at(OTHER, "2026-spring") == {}


def test_aid_stays_with_the_grid_it_was_given_in():
    rows, child = Rows(), Child.register(uuid4(), child_details(GRID), stamp=stamp())
    child.grant_aid(uuid4(), "cash", 40_000, "区妇联", stamp=stamp(date(2026, 6, 1)))
    child.move(OTHER, stamp=stamp())

    project(rows, child)

    assert rows.at(GRID, "2026-spring") == {"aid_fen": 40_000}


def test_a_dashboard_counts_a_kind_a_tenant_does_not_require_as_done_and_shows_shares_in_percent():
    strict = Part("150902001", "一街", "street", (1, 0, 0, 0, 0, 0, 0), {"children_open": 3, "paired": 2},
                  {"met_home_visit": 1, "all_met": 1})
    lax = Part("150902002", "二街", "street", (0, 0, 0, 0, 0, 0, 0), {"children_open": 1})

    board = dashboard("150902", "district", "2026-autumn", [strict, lax], breakdown=True)

    assert board["contacts"] == {"home_visit": {"done": 2, "pct": 50.0}, "all_done": 2, "all_done_pct": 50.0}
    assert board["paired"] == {"count": 2, "pct": 50.0}
    assert [u["all_done_pct"] for u in board["children_by_child_unit"]] == [33.3, 100.0]
    assert pct(0, 0) == 0.0


def test_a_worklist_entry_says_how_many_of_each_kind_are_still_missing():
    assert missing([1, 0, 0, 0, 2, 0, 0], (1, 2, 1, 0, 1, 1, 0)) == {"talk": 2, "teacher_contact": 1,
                                                                      "parent_call": 1}
    assert missing(None, FIVE_ONES) == {k: 1 for k in CONTACT_KINDS[:5]}
    assert shows_names("supervisor") and shows_names("grid_worker")
    assert not shows_names("district_officer") and not shows_names("helper") and not shows_names("auditor")
