"""Tenancy and scope at the edge: another tenant's caller and a caller outside the scope see nothing;
each role sees only the personal data it may."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from tests.e2e.conftest import Team, assert_problem, child_body, days_ago, pair, register


@dataclass
class Targets:
    child: UUID
    concern: UUID
    pair: UUID
    helper: UUID


@pytest.fixture(scope="module")
async def targets(team: Team, infra) -> Targets:
    """A child with a concern and a pair (to its own helper) in the shared team's street."""
    from litestar.testing import AsyncTestClient

    from services.api.app import create_app

    async with AsyncTestClient(app=create_app(infra)) as api:
        child = await register(api, team)
        concern = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
            "child_id": str(child), "category": "health", "severity": "medium", "description": "经常头痛"})
        helper = await api.post(team.url("/helpers"), headers=team.as_("supervisor"), json={
            "name": "赵老师", "kind": "teacher", "unit": team.street.community})
        formed = await api.post(team.url("/pairs"), headers=team.as_("supervisor"), json={
            "child_id": str(child), "helper_id": helper.json()["id"], "started_on": days_ago(10)})
        return Targets(child, UUID(concern.json()["id"]), UUID(formed.json()["id"]), UUID(helper.json()["id"]))


def endpoints(team: Team, t: Targets) -> list[tuple[str, str, Any, str, int]]:
    """(method, path, body, the in-tenant caller outside the target's scope, what that caller gets)."""
    child, concern = f"/children/{t.child}", f"/concerns/{t.concern}"
    return [
        ("POST", "/children", child_body(team.street.grid), "outside_worker", 422),
        ("GET", child, None, "outside_worker", 404),
        ("GET", child + "/history", None, "outside_worker", 404),
        ("POST", child + "/corrections", {"changes": {"school": "某小学"}}, "outside_worker", 404),
        ("POST", child + "/guardian", {"name": "王", "relation": "other"}, "outside_worker", 404),
        ("POST", child + "/move", {"grid": team.street.other_grid}, "outside_worker", 404),
        ("POST", child + "/close", {"reason": "other"}, "outside_worker", 404),
        ("POST", child + "/reopen", {}, "outside_worker", 404),
        ("POST", child + "/visits", {"kind": "talk", "occurred_on": days_ago(1)}, "outside_worker", 404),
        ("POST", child + "/aid", {"kind": "cash", "amount_fen": 100, "source": "民政", "occurred_on": days_ago(1)},
         "outside_supervisor", 404),
        ("POST", child + "/forget", {"reason": "申请"}, "outside_admin", 404),
        ("POST", "/helpers", {"name": "钱", "kind": "student", "unit": team.street.community}, "outside_supervisor",
         422),
        ("POST", "/pairs", {"child_id": str(t.child), "helper_id": str(t.helper), "started_on": days_ago(1)},
         "outside_supervisor", 404),
        ("POST", f"/pairs/{t.pair}/end", {"reason": "调动", "ended_on": days_ago(1)}, "outside_supervisor", 404),
        ("POST", "/concerns", {"child_id": str(t.child), "category": "safety", "severity": "low", "description": "x"},
         "outside_worker", 404),
        ("POST", concern + "/acknowledge", {}, "outside_supervisor", 404),
        ("POST", concern + "/escalate", {"reason": "x"}, "outside_supervisor", 404),
        ("POST", concern + "/actions", {"note": "x"}, "outside_supervisor", 404),
        ("POST", concern + "/resolve", {"outcome": "x"}, "outside_supervisor", 404),
        ("POST", concern + "/reopen", {"reason": "x"}, "outside_supervisor", 404),
        ("POST", "/activities", {"unit": team.street.community, "title": "读书会", "kind": "lecture",
                                 "held_on": days_ago(1), "attendees": [str(t.child)]}, "outside_supervisor", 422),
    ]


ENDPOINT_NAMES = [
    "register", "file", "history", "corrections", "guardian", "move", "close", "reopen", "visits", "aid", "forget",
    "helpers", "pairs", "pair-end", "concerns", "acknowledge", "escalate", "actions", "resolve", "concern-reopen",
    "activities",
]


@pytest.mark.parametrize("index", range(len(ENDPOINT_NAMES)), ids=ENDPOINT_NAMES)
async def test_callers_of_another_tenant_or_district_get_404_and_callers_outside_the_scope_are_refused(
        api, team, targets, infra, index):
    method, path, body, outsider, outsider_status = endpoints(team, targets)[index]
    before = infra.logs[team.code].position()

    for stranger in ("stranger", "far_officer"):
        response = await api.request(method, team.url(path), json=body, headers=team.as_(stranger))
        assert_problem(response, 404)
    response = await api.request(method, team.url(path), json=body, headers=team.as_(outsider))
    problem = assert_problem(response, outsider_status)

    if outsider_status == 422:
        assert problem["errors"][0]["field"] in ("grid", "unit")
    assert infra.logs[team.code].position() == before


async def test_a_missing_tenant_or_malformed_tenant_reads_like_a_foreign_one(api, team, targets):
    for tenant in ("150902999", "abc", "1509020011"):
        response = await api.get(f"/api/v1/t/{tenant}/children/{targets.child}", headers=team.as_("platform_admin"))
        assert_problem(response, 404)
    missing = await api.get(team.url("/children/00000000-0000-0000-0000-000000000001"), headers=team.as_("supervisor"))
    foreign = await api.get(team.url(f"/children/{targets.child}"), headers=team.as_("stranger"))
    assert missing.json() == foreign.json()


async def test_a_helper_sees_only_its_paired_children_and_only_their_names_school_and_guardian(api, fresh_team):
    team = fresh_team
    paired, unpaired = await register(api, team), await register(api, team)
    await pair(api, team, paired)
    helper = team.as_("helper")

    file = (await api.get(team.url(f"/children/{paired}"), headers=helper)).json()

    assert file["name"] and file["gender"] == "F" and file["school"] and file["class_name"]
    assert {k: v for k, v in file["guardian"].items() if v is not None} == {"name": "李桂兰", "phone": "13900001111"}
    assert file["id_number"] is None and file["address"] is None and file["parents"] is None
    assert_problem(await api.get(team.url(f"/children/{unpaired}"), headers=helper), 404)
    assert_problem(await api.get(team.url(f"/children/{paired}/history"), headers=helper), 403)
    visit = await api.post(team.url(f"/children/{paired}/visits"), headers=helper,
                           json={"kind": "talk", "occurred_on": days_ago(1), "helper_id": None})
    assert visit.status_code == 201
    assert_problem(await api.post(team.url(f"/children/{unpaired}/visits"), headers=helper,
                                  json={"kind": "talk", "occurred_on": days_ago(1)}), 404)
    raised = await api.post(team.url("/concerns"), headers=helper, json={
        "child_id": str(paired), "category": "psychological", "severity": "high", "description": "情绪低落"})
    assert raised.status_code == 201


@pytest.mark.parametrize("who", ["platform_admin", "district_officer"])
async def test_platform_admins_and_district_officers_never_see_personal_fields(api, team, targets, who):
    await api.post(team.url(f"/children/{targets.child}/visits"), headers=team.as_("grid_worker"),
                   json={"kind": "home_visit", "occurred_on": days_ago(2), "notes": "父母在外打工"})

    file = (await api.get(team.url(f"/children/{targets.child}"), headers=team.as_(who))).json()

    for personal in ("name", "id_number", "address", "guardian", "parents"):
        assert file[personal] is None, personal
    assert all(v["notes"] is None for v in file["visits"]) and file["visits"]
    assert file["grid"] == team.street.grid and file["status"] == "open"


async def test_an_auditor_reads_files_and_history_in_its_district_but_changes_nothing(api, team, targets):
    auditor = team.as_("auditor")

    assert (await api.get(team.url(f"/children/{targets.child}"), headers=auditor)).json()["name"]
    assert (await api.get(team.url(f"/children/{targets.child}/history"), headers=auditor)).status_code == 200
    assert_problem(await api.post(team.url(f"/children/{targets.child}/visits"), headers=auditor,
                                  json={"kind": "talk", "occurred_on": days_ago(1)}), 403)
