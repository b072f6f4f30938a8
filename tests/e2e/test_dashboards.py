"""Dashboards, worklists and concern queues over HTTP: each caller sees the units of its scope, and nothing else."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from domain.semester import Semester
from infra.bootstrap import Infrastructure
from infra.projection_runner import catch_up
from services.api import app as app_module
from tests.e2e.conftest import Team, assert_problem, child_body, days_ago, new_team, pair, register, today


@pytest.fixture(scope="module")
async def api(infra: Infrastructure) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app_module.create_app(infra)) as client:
        yield client


@pytest.fixture(scope="module")
async def told(api: AsyncTestClient, infra: Infrastructure) -> dict[str, Any]:
    """A street of its own with two children in its grid (one paired and visited, one with an urgent concern)
    and one in its other grid."""
    team = await new_team(infra)
    visited, waiting = await register(api, team), await register(api, team)
    await pair(api, team, visited)
    for kind in ("home_visit", "talk", "teacher_contact", "guardian_contact", "letter"):
        answer = await api.post(team.url(f"/children/{visited}/visits"), headers=team.as_("grid_worker"),
                                json={"kind": kind, "occurred_on": today().isoformat()})
        assert answer.status_code == 201, answer.text
    concern = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
        "child_id": str(waiting), "category": "safety", "severity": "urgent", "description": "独自在家"})
    elsewhere = await api.post(team.url("/children"), headers=team.as_("tenant_admin"),
                               json=child_body(team.street.other_grid))
    catch_up(infra, team.code)
    return {"team": team, "visited": visited, "waiting": waiting, "concern": concern.json()["id"],
            "elsewhere": elsewhere.json()["id"]}


def units(team: Team, path: str) -> str:
    return f"/api/v1/units/{path}"


async def test_a_street_dashboard_counts_its_children_contacts_and_concerns(api, told):
    team = told["team"]
    board = await api.get(units(team, f"{team.code}/dashboard"), headers=team.as_("supervisor"))

    assert board.status_code == 200, board.text
    body = board.json()
    assert (body["unit"], body["level"], body["semester"]) == (team.code, "street", str(Semester.of(today())))
    assert (body["children_open"], body["paired"], body["concerns_open"]["urgent"]) == (
        3, {"count": 1, "pct": 33.3}, 1)
    assert body["contacts"]["talk"] == {"done": 1, "pct": 33.3} and body["contacts"]["all_done_pct"] == 33.3
    assert [c["unit"] for c in body["children_by_child_unit"]] == [team.street.community, team.code + "002"]


async def test_a_dashboard_counts_contacts_month_by_month_over_the_semester(api, told):
    team = told["team"]
    this_month = today().strftime("%Y-%m")
    term = Semester.of(today())
    months = {}
    for code in (team.code, team.street.grid, team.street.other_grid, team.code[:6]):
        board = (await api.get(units(team, f"{code}/dashboard?months=true"), headers=team.as_("district_officer"))).json()
        months[code] = board["contacts_by_month"]

    listed = list(months[team.code])
    assert listed == sorted(listed) and len(listed) == (5 if term.term == "autumn" else 7), "every month, in order"
    assert (listed[0], listed[-1]) == (term.starts_on.strftime("%Y-%m"), term.ends_on.strftime("%Y-%m"))
    assert months[team.code][this_month] == months[team.street.grid][this_month] == 5
    assert months[team.street.other_grid][this_month] == 0
    assert months[team.code[:6]][this_month] >= 5, "the district sums its streets"
    assert sum(months[team.code].values()) == 5


@pytest.mark.parametrize("who, unit, status", [
    ("grid_worker", "grid", 200), ("grid_worker", "other_grid", 404), ("grid_worker", "street", 404),
    ("outside_supervisor", "community", 404), ("district_officer", "street", 200),
    ("district_officer", "district", 200), ("far_officer", "district", 404), ("stranger", "street", 404),
    ("auditor", "district", 200), ("helper", "grid", 403), ("platform_admin", "street", 403),
])
async def test_a_dashboard_outside_the_callers_scope_is_not_found(api, told, who, unit, status):
    team = told["team"]
    code = {"grid": team.street.grid, "other_grid": team.street.other_grid, "community": team.street.community,
            "street": team.code, "district": team.code[:6]}[unit]
    for path in (f"{code}/dashboard", f"{code}/worklist"):
        answer = await api.get(units(team, path), headers=team.as_(who))
        if status == 200:
            assert answer.status_code == 200, answer.text
        else:
            assert_problem(answer, status)


async def test_unknown_units_and_malformed_semesters_are_refused(api, told):
    team = told["team"]
    assert_problem(await api.get(units(team, f"{team.code}999/dashboard"), headers=team.as_("supervisor")), 404)
    assert_problem(await api.get(units(team, "x/dashboard"), headers=team.as_("supervisor")), 404)
    assert_problem(await api.get(units(team, f"{team.code}/dashboard?semester=2026-winter"),
                                 headers=team.as_("supervisor")), 422, "semester")


async def test_a_worklist_names_children_only_for_those_who_work_on_their_files(api, told):
    team = told["team"]
    staff = (await api.get(units(team, f"{team.code}/worklist"), headers=team.as_("supervisor"))).json()
    officer = (await api.get(units(team, f"{team.code}/worklist"), headers=team.as_("district_officer"))).json()

    assert {i["child_id"] for i in staff["items"]} == {str(told["waiting"]), told["elsewhere"]}
    assert all(i["name"] and "helper_name" in i for i in staff["items"])
    assert all("name" not in i and "helper_name" not in i for i in officer["items"])
    assert len(staff["items"][0]["missing"]) == 5


async def test_the_concern_queue_shows_each_caller_its_level(api, told):
    team = told["team"]
    queue = await api.get(team.url("/concerns?status=open"), headers=team.as_("supervisor"))
    assert queue.status_code == 200, queue.text
    (item,) = queue.json()["items"]
    assert (item["id"], item["severity"], item["level"], item["overdue"]) == (told["concern"], "urgent",
                                                                              "community", False)
    officer = await api.get(team.url("/concerns"), headers=team.as_("district_officer"))
    assert officer.json()["items"] == []  # nothing escalated to the district yet
    assert_problem(await api.get(team.url("/concerns"), headers=team.as_("helper")), 403)
    assert_problem(await api.get(team.url(f"/concerns?unit={team.street.other_grid}"),
                                 headers=team.as_("grid_worker")), 404)
    assert_problem(await api.get(team.url("/concerns?level=county"), headers=team.as_("supervisor")), 422)


async def test_min_position_waits_for_the_dashboard_to_catch_up(api, told, infra):
    team = told["team"]
    path = units(team, f"{team.street.other_grid}/dashboard")
    before = (await api.get(path, headers=team.as_("supervisor"))).json()
    created = await api.post(team.url("/children"), headers=team.as_("tenant_admin"),
                             json=child_body(team.street.other_grid))
    visit = await api.post(team.url(f"/children/{created.json()['id']}/visits"), headers=team.as_("tenant_admin"),
                           json={"kind": "talk", "occurred_on": days_ago(0)})
    timer = threading.Timer(0.3, catch_up, args=(infra, team.code))
    timer.start()
    try:
        after = (await api.get(f"{path}?min_position={visit.json()['position']}",
                               headers=team.as_("supervisor"))).json()
    finally:
        timer.join()
    assert after["children_open"] == before["children_open"] + 1
    assert after["contacts"]["talk"]["done"] == before["contacts"]["talk"]["done"] + 1
