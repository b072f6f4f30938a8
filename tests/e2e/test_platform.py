"""Tenants, units, users and settings over HTTP."""

from __future__ import annotations

import itertools

from tests.e2e.conftest import PASSWORD, assert_problem, days_ago, login, register

_codes = itertools.count(700)


def new_tenant_code(district: str = "150902") -> str:
    return f"{district}{next(_codes)}"


async def test_a_platform_admin_hosts_a_tenant_and_a_repeat_is_409(api, team):
    code = new_tenant_code()
    body = {"code": code, "name": "新街道", "district_code": "150902", "district_name": "集宁区"}

    created = await api.post("/api/v1/tenants", json=body, headers=team.as_("platform_admin"))

    assert created.status_code == 201
    assert created.json() == {"code": code, "name": "新街道", "district_code": "150902"}
    assert_problem(await api.post("/api/v1/tenants", json=body, headers=team.as_("platform_admin")), 409, "code")
    assert_problem(await api.post("/api/v1/tenants", json={**body, "code": "150903001"},
                                  headers=team.as_("platform_admin")), 422, "code")
    assert_problem(await api.post("/api/v1/tenants", json={**body, "code": "12345"},
                                  headers=team.as_("platform_admin")), 422, "code")
    assert_problem(await api.post("/api/v1/tenants", json={**body, "code": new_tenant_code()},
                                  headers=team.as_("tenant_admin")), 403)


async def test_each_role_lists_the_tenants_it_may_address(api, team):
    async def listed(who):
        response = await api.get("/api/v1/tenants", headers=team.as_(who))
        assert response.status_code == 200
        return {t["code"] for t in response.json()["items"]}

    everything = await listed("platform_admin")
    district = await listed("district_officer")

    assert team.code in everything and len(everything) > len(district)
    assert team.code in district and all(code.startswith(team.code[:6]) for code in district)
    assert await listed("grid_worker") == {team.code}
    assert team.code not in await listed("far_officer")


async def test_a_tenant_admin_adds_units_and_users_to_its_own_tenant_only(api, team):
    admin = team.as_("tenant_admin")
    community = team.code + "003"

    unit = await api.post(f"/api/v1/tenants/{team.code}/units", headers=admin,
                          json={"code": community, "name": "第三社区", "level": "community", "parent": team.code})
    assert unit.status_code == 201 and unit.json()["tenant"] == team.code
    grid = await api.post(f"/api/v1/tenants/{team.code}/units", headers=admin,
                          json={"code": community + "01", "name": "一网格", "level": "grid", "parent": community})
    assert grid.status_code == 201
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/units", headers=admin, json={
        "code": community, "name": "重复", "level": "community", "parent": team.code}), 409, "code")
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/units", headers=admin, json={
        "code": "150981001001", "name": "外区", "level": "community", "parent": "150981001"}), 422, "parent")
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/units", headers=admin, json={
        "code": community + "02", "name": "x", "level": "street", "parent": community}), 422, "level")
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/units", headers=team.as_("stranger"), json={
        "code": team.code + "004", "name": "x", "level": "community", "parent": team.code}), 404)
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/units", headers=team.as_("supervisor"), json={
        "code": team.code + "004", "name": "x", "level": "community", "parent": team.code}), 403)

    username = f"new.worker.{team.code}"
    user = await api.post(f"/api/v1/tenants/{team.code}/users", headers=admin, json={
        "username": username, "password": PASSWORD, "display_name": "新网格员", "role": "grid_worker",
        "scope_unit": community + "01"})
    assert user.status_code == 201 and "password" not in user.json()
    assert (await login(api, username))["user"]["scope_unit"] == community + "01"
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/users", headers=admin, json={
        "username": username, "password": PASSWORD, "display_name": "x", "role": "grid_worker",
        "scope_unit": community}), 409, "username")
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/users", headers=admin, json={
        "username": "h" + username, "password": "short", "display_name": "x", "role": "wizard",
        "scope_unit": community}), 422, "password", "role")
    assert_problem(await api.post(f"/api/v1/tenants/{team.code}/users", headers=admin, json={
        "username": "helper." + username, "password": PASSWORD, "display_name": "x", "role": "helper",
        "scope_unit": community}), 422, "helper_id")


async def test_regional_users_are_created_by_the_platform_admin_with_a_district_scope(api, team):
    body = {"username": f"officer.{new_tenant_code()}", "password": PASSWORD, "display_name": "区民政干部",
            "role": "district_officer", "scope_unit": "150902"}

    created = await api.post("/api/v1/users", json=body, headers=team.as_("platform_admin"))

    assert created.status_code == 201 and created.json()["tenant"] is None
    assert_problem(await api.post("/api/v1/users", json={**body, "username": body["username"] + "x",
                                                          "scope_unit": team.code},
                                  headers=team.as_("platform_admin")), 422, "scope_unit")
    assert_problem(await api.post("/api/v1/users", json={**body, "username": body["username"] + "y",
                                                          "role": "grid_worker"},
                                  headers=team.as_("platform_admin")), 422, "role")
    assert_problem(await api.post("/api/v1/users", json={**body, "username": body["username"] + "z"},
                                  headers=team.as_("district_officer")), 403)


async def test_settings_are_replaced_by_the_tenant_admin_and_take_effect(api, fresh_team):
    team = fresh_team
    url = f"/api/v1/tenants/{team.code}/settings"
    settings = {"contact_quota": {"home_visit": 2, "talk": 1, "teacher_contact": 1, "guardian_contact": 1,
                                  "letter": 0}, "helper_capacity": 1, "urgent_ack_hours": 2}

    saved = await api.put(url, json=settings, headers=team.as_("tenant_admin"))

    assert saved.status_code == 200
    assert saved.json()["helper_capacity"] == 1 and saved.json()["contact_quota"]["home_visit"] == 2
    first, second = await register(api, team), await register(api, team)
    for child_id, status in ((first, 201), (second, 409)):
        response = await api.post(team.url("/pairs"), headers=team.as_("supervisor"), json={
            "child_id": str(child_id), "helper_id": str(team.helper_id), "started_on": days_ago(5)})
        assert response.status_code == status, response.text
    assert (await api.put(url, json=settings, headers=team.as_("platform_admin"))).status_code == 200
    assert_problem(await api.put(url, json=settings, headers=team.as_("supervisor")), 403)
    assert_problem(await api.put(url, json=settings, headers=team.as_("stranger")), 404)
    assert_problem(await api.put(url, json={"helper_capacity": 0, "urgent_ack_hours": 0},
                                 headers=team.as_("tenant_admin")), 422, "helper_capacity", "urgent_ack_hours")
    assert_problem(await api.put(url, json={"contact_quota": {"home_visit": -1, "chats": 2}},
                                 headers=team.as_("tenant_admin")), 422,
                   "contact_quota.home_visit", "contact_quota.chats")


async def test_a_tenant_created_again_with_its_key_answers_the_first_201_and_hosts_one_tenant(api, team, infra):
    body = {"code": new_tenant_code(), "name": "重发街道", "district_code": "150902", "district_name": "集宁区"}
    headers = team.as_("platform_admin", **{"Idempotency-Key": "host-street-once"})

    first = await api.post("/api/v1/tenants", json=body, headers=headers)
    again = await api.post("/api/v1/tenants", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"code": body["code"], "name": "重发街道", "district_code": "150902"}
    assert [t.code for t in infra.directory.tenants()].count(body["code"]) == 1


async def test_a_platform_key_with_another_body_is_422_and_creates_nothing(api, team, infra):
    admin = team.as_("tenant_admin", **{"Idempotency-Key": "grid-once"})
    url = f"/api/v1/tenants/{team.code}/units"
    first = {"code": team.code + "00191", "name": "九十一网格", "level": "grid", "parent": team.code + "001"}
    assert (await api.post(url, json=first, headers=admin)).status_code == 201

    other = await api.post(url, json={**first, "code": team.code + "00192"}, headers=admin)

    assert_problem(other, 422, "Idempotency-Key")
    assert infra.directory.unit(team.code + "00192") is None


async def test_five_retries_of_a_new_user_at_once_create_one_user_and_all_answer_it(api, team):
    import asyncio

    body = {"username": f"retry.{team.code}", "password": PASSWORD, "display_name": "重发网格员",
            "role": "grid_worker", "scope_unit": team.street.grid}
    headers = team.as_("tenant_admin", **{"Idempotency-Key": "new-worker-on-a-bad-network"})

    answers = await asyncio.gather(*[api.post(f"/api/v1/tenants/{team.code}/users", json=body, headers=headers)
                                     for _ in range(5)])

    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert (await login(api, body["username"]))["user"]["id"] == answers[0].json()["id"]
