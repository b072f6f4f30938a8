"""Helpers and pairs, concerns through their levels, and activities, over HTTP."""

from __future__ import annotations

from tests.e2e.conftest import assert_problem, days_ago, register


async def enrol(api, team, **overrides):
    body = {"name": "刘爱华", "kind": "caring_mother", "phone": "13900003333", "unit": team.street.community,
            **overrides}
    return await api.post(team.url("/helpers"), json=body, headers=team.as_("supervisor"))


async def test_a_supervisor_enrols_a_helper_and_bad_bodies_name_their_fields(api, team):
    enrolled = await enrol(api, team)

    assert enrolled.status_code == 201 and enrolled.json()["version"] == 1
    assert_problem(await enrol(api, team, kind="neighbour", phone="not a phone"), 422, "kind", "phone")
    assert_problem(await enrol(api, team, unit=team.street.code[:6]), 422, "unit")  # the district: outside
    assert_problem(await api.post(team.url("/helpers"), headers=team.as_("grid_worker"), json={
        "name": "刘", "kind": "teacher", "unit": team.street.grid}), 403)


async def test_pairs_form_up_to_the_helpers_capacity_and_end(api, team):
    supervisor = team.as_("supervisor")
    helper_id = (await enrol(api, team)).json()["id"]
    first, second, third = [await register(api, team) for _ in range(3)]

    def pairing(child_id):
        return {"child_id": str(child_id), "helper_id": helper_id, "started_on": days_ago(20)}

    formed = await api.post(team.url("/pairs"), json=pairing(first), headers=supervisor)
    assert formed.status_code == 201
    assert_problem(await api.post(team.url("/pairs"), json=pairing(first), headers=supervisor), 409, "child_id")
    assert (await api.post(team.url("/pairs"), json=pairing(second), headers=supervisor)).status_code == 201
    assert_problem(await api.post(team.url("/pairs"), json=pairing(third), headers=supervisor), 409, "helper_id")

    ended = await api.post(team.url(f"/pairs/{formed.json()['id']}/end"), headers=supervisor,
                           json={"reason": "儿童随父母迁出", "ended_on": days_ago(1)})

    assert ended.status_code == 200 and ended.json()["id"] == formed.json()["id"] and ended.json()["version"] == 2
    assert (await api.post(team.url("/pairs"), json=pairing(third), headers=supervisor)).status_code == 201
    assert_problem(await api.post(team.url(f"/pairs/{formed.json()['id']}/end"), headers=supervisor,
                                  json={"reason": "", "ended_on": "tomorrow"}), 422, "reason", "ended_on")
    assert_problem(await api.post(team.url("/pairs"), headers=supervisor, json={
        "child_id": "not-a-uuid", "helper_id": helper_id, "started_on": days_ago(1)}), 422, "child_id")


async def test_a_concern_is_raised_acknowledged_escalated_acted_on_resolved_and_reopened(api, team):
    child_id = await register(api, team)
    raised = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
        "child_id": str(child_id), "category": "safety", "severity": "urgent", "description": "独自在家，门锁损坏"})
    assert raised.status_code == 201
    url = team.url(f"/concerns/{raised.json()['id']}")
    supervisor, officer = team.as_("supervisor"), team.as_("district_officer")

    steps = [
        (supervisor, "/acknowledge", None), (supervisor, "/escalate", {"reason": "社区无法处理"}),
        (supervisor, "/acknowledge", {"note": "街道已知悉"}), (supervisor, "/escalate", {"reason": "需区级协调"}),
        (officer, "/actions", {"note": "已联系派出所"}), (officer, "/resolve", {"outcome": "门锁已修好，祖母搬来同住"}),
        (officer, "/reopen", {"reason": "再次独自在家"}),
    ]
    for version, (who, path, body) in enumerate(steps, start=2):
        response = await api.post(url + path, json=body, headers=who) if body is not None else \
            await api.post(url + path, headers=who)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["version"] == version

    assert_problem(await api.post(url + "/escalate", json={"reason": "再上报"}, headers=officer), 409)
    assert_problem(await api.post(url + "/actions", json={"note": "街道跟进"}, headers=supervisor), 403)
    assert_problem(await api.post(url + "/resolve", json={"outcome": "x"}, headers={**officer, "If-Match": "2"}), 412)
    assert_problem(await api.post(url + "/actions", json={}, headers=officer), 422, "note")


async def test_concern_bodies_are_checked_field_by_field(api, team):
    child_id = await register(api, team)

    response = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
        "child_id": str(child_id), "category": "gossip", "severity": "extreme", "description": "x" * 501})

    assert_problem(response, 422, "category", "severity", "description")
    assert_problem(await api.post(team.url("/concerns"), headers=team.as_("auditor"), json={
        "child_id": str(child_id), "category": "health", "severity": "low", "description": "x"}), 403)


async def test_an_activity_is_recorded_with_children_the_caller_can_see(api, team):
    attendees = [str(await register(api, team)) for _ in range(2)]
    body = {"unit": team.street.community, "title": "周末读书会", "kind": "读书活动", "held_on": days_ago(3),
            "attendees": attendees}

    held = await api.post(team.url("/activities"), json=body, headers=team.as_("supervisor"))

    assert held.status_code == 201 and held.json()["version"] == 1
    unknown = {**body, "attendees": [*attendees, "00000000-0000-0000-0000-000000000009"]}
    assert_problem(await api.post(team.url("/activities"), json=unknown, headers=team.as_("supervisor")),
                   422, "attendees")
    assert_problem(await api.post(team.url("/activities"), json={**body, "title": "", "kind": "x" * 501},
                                  headers=team.as_("supervisor")), 422, "title", "kind")
    assert_problem(await api.post(team.url("/activities"), json=body, headers=team.as_("helper")), 403)
