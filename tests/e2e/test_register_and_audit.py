"""The child register and the audit endpoints over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading

from infra.bundle import verify_bundle
from infra.projection_runner import catch_up
from tests.e2e.conftest import assert_problem, child_body, days_ago, pair, register


async def test_the_register_lists_the_children_each_caller_may_see(api, fresh_team, infra):
    team = fresh_team
    mine = await register(api, team)
    paired = await register(api, team)
    await pair(api, team, paired)
    elsewhere = (await api.post(team.url("/children"), json=child_body(team.street.other_grid),
                                headers=team.as_("tenant_admin"))).json()["id"]
    catch_up(infra, team.code)

    def ids(response):
        assert response.status_code == 200, response.text
        return {item["child_id"] for item in response.json()["items"]}

    everyone = {str(mine), str(paired), elsewhere}
    assert ids(await api.get(team.url("/children"), headers=team.as_("supervisor"))) == everyone
    assert ids(await api.get(team.url("/children"), headers=team.as_("grid_worker"))) == {str(mine), str(paired)}
    assert ids(await api.get(team.url("/children"), headers=team.as_("helper"))) == {str(paired)}
    officer = await api.get(team.url("/children"), headers=team.as_("district_officer"))
    assert ids(officer) == everyone and all(i["name"] is None for i in officer.json()["items"])
    assert_problem(await api.get(team.url("/children"), headers=team.as_("stranger")), 404)

    page = await api.get(team.url("/children?limit=2"), headers=team.as_("supervisor"))
    rest = await api.get(team.url(f"/children?limit=2&cursor={page.json()['next_cursor']}"),
                         headers=team.as_("supervisor"))
    assert ids(page) | ids(rest) == everyone and not ids(page) & ids(rest)


async def test_a_child_is_found_by_its_whole_id_number_and_by_part_of_its_name(api, fresh_team, infra):
    team = fresh_team
    body = child_body(team.street.grid)
    child_id = (await api.post(team.url("/children"), json=body, headers=team.as_("grid_worker"))).json()["id"]
    catch_up(infra, team.code)
    by_number = await api.get(team.url(f"/children?q={body['id_number']}"), headers=team.as_("supervisor"))
    by_name = await api.get(team.url(f"/children?q={body['name'][2:]}"), headers=team.as_("supervisor"))
    assert [i["child_id"] for i in by_number.json()["items"]] == [child_id]
    assert [i["child_id"] for i in by_name.json()["items"]] == [child_id]


async def test_min_position_waits_for_the_register_to_catch_up(api, fresh_team, infra):
    team = fresh_team
    created = await api.post(team.url("/children"), json=child_body(team.street.grid), headers=team.as_("grid_worker"))
    position = created.json()["position"]
    timer = threading.Timer(0.3, catch_up, args=(infra, team.code))
    timer.start()
    try:
        listed = await api.get(team.url(f"/children?min_position={position}"), headers=team.as_("supervisor"))
    finally:
        timer.join()
    assert created.json()["id"] in {i["child_id"] for i in listed.json()["items"]}


async def test_an_auditor_verifies_exports_and_reads_the_access_log(api, fresh_team):
    team = fresh_team
    child_id = await register(api, team)
    await api.post(team.url(f"/children/{child_id}/visits"), headers=team.as_("grid_worker"),
                   json={"kind": "home_visit", "occurred_on": days_ago(1)})

    verified = await api.get(team.url("/audit/verify"), headers=team.as_("auditor"))
    assert verified.status_code == 200 and verified.json()["ok"] is True
    assert verified.json()["events_checked"] >= 3

    exported = await api.get(team.url(f"/audit/export?child_id={child_id}"), headers=team.as_("auditor"))
    assert exported.status_code == 200
    assert verify_bundle(json.loads(exported.content))["ok"]

    await api.get(team.url(f"/children/{child_id}"), headers=team.as_("auditor"))
    log = await api.get(team.url(f"/audit/access-log?child_id={child_id}"), headers=team.as_("tenant_admin"))
    vias = [(e["role"], e["via"]) for e in log.json()["items"]]
    assert vias[0] == ("auditor", f"GET /api/v1/t/{team.code}/children/{child_id}")
    assert ("auditor", f"GET /api/v1/t/{team.code}/audit/export") in vias

    assert_problem(await api.get(team.url("/audit/verify"), headers=team.as_("grid_worker")), 403)
    assert_problem(await api.get(team.url("/audit/verify"), headers=team.as_("stranger")), 404)
    # The whole tenant's export (a worker's job) is in tests/e2e/test_tenant_export.py.
    assert_problem(await api.get(team.url("/audit/export"), headers=team.as_("grid_worker")), 403)


async def test_every_command_of_an_auditor_is_refused_and_records_nothing(api, fresh_team):
    team = fresh_team
    child_id = await register(api, team)
    before = (await api.get(team.url("/audit/verify"), headers=team.as_("auditor"))).json()["head_position"]
    attempts = [
        ("/children", child_body(team.street.grid)),
        (f"/children/{child_id}/visits", {"kind": "talk", "occurred_on": days_ago(1)}),
        (f"/children/{child_id}/close", {"reason": "other"}),
        (f"/children/{child_id}/forget", {"reason": "x"}),
        ("/helpers", {"name": "x", "kind": "teacher", "unit": team.street.community}),
        ("/concerns", {"child_id": str(child_id), "category": "health", "severity": "low", "description": "x"}),
    ]
    answers = await asyncio.gather(*(api.post(team.url(path), json=body, headers=team.as_("auditor"))
                                     for path, body in attempts))
    assert [a.status_code for a in answers] == [403] * len(attempts)
    after = (await api.get(team.url("/audit/verify"), headers=team.as_("auditor"))).json()["head_position"]
    assert after == before
