"""Logging in, tokens, the login throttle, health, and the API's self-description."""

from __future__ import annotations

from tests.e2e.conftest import PASSWORD, assert_problem, login


async def test_a_user_logs_in_and_gets_a_bearer_token_for_twelve_hours(api, team):
    answer = await login(api, f"grid_worker.{team.code}")

    assert answer["token_type"] == "bearer" and answer["expires_in"] == 12 * 3600 and answer["access_token"]
    assert answer["user"] == {"id": team.users["grid_worker"]["id"], "username": f"grid_worker.{team.code}",
                              "role": "grid_worker", "tenant": team.code, "scope_unit": team.street.grid}
    response = await api.get(team.url("/children/00000000-0000-0000-0000-000000000000"),
                             headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert_problem(response, 404)  # authenticated: the child simply does not exist


async def test_a_wrong_password_or_unknown_user_is_401(api, team):
    wrong = await api.post("/api/v1/auth/login", json={"username": f"supervisor.{team.code}", "password": "nope"})
    unknown = await api.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})

    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_after_five_failures_a_username_gets_429_even_with_the_right_password(api, team):
    username = f"auditor.{team.code}"
    for _ in range(5):
        assert_problem(await api.post("/api/v1/auth/login", json={"username": username, "password": "guess"}), 401)

    blocked = await api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})

    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) > 0


async def test_one_address_guessing_at_many_usernames_is_slowed_down_too(api):
    for n in range(5):
        await api.post("/api/v1/auth/login", json={"username": f"guess{n}", "password": "x"})

    assert_problem(await api.post("/api/v1/auth/login", json={"username": "guess9", "password": "x"}), 429)


async def test_requests_without_or_with_a_bad_token_are_401(api, team):
    url = team.url("/children/00000000-0000-0000-0000-000000000000")

    assert_problem(await api.get(url), 401)
    assert_problem(await api.get(url, headers={"Authorization": "Bearer not.a.token"}), 401)
    forged = team.headers["grid_worker"]["Authorization"][:-4] + "AAAA"
    assert_problem(await api.get(url, headers={"Authorization": forged}), 401)
    assert_problem(await api.get("/api/v1/tenants"), 401)


async def test_health_answers_without_a_token(api):
    response = await api.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "absent"}


async def test_the_openapi_document_describes_what_is_served(api):
    spec = (await api.get("/schema/openapi.json")).json()
    page = await api.get("/schema")

    assert page.status_code == 200 and "<html" in page.text.lower()
    paths = spec["paths"]
    assert "post" in paths["/api/v1/t/{tenant}/children"]
    assert "get" in paths["/api/v1/t/{tenant}/children/{child_id}"]
    assert {"/api/v1/auth/login", "/api/v1/tenants", "/api/v1/users", "/api/v1/tenants/{tenant}/units",
            "/api/v1/tenants/{tenant}/settings", "/api/v1/t/{tenant}/pairs/{pair_id}/end",
            "/api/v1/t/{tenant}/concerns/{concern_id}/escalate", "/api/v1/t/{tenant}/activities"} <= set(paths)
    register = paths["/api/v1/t/{tenant}/children"]["post"]
    assert "201" in register["responses"]
    assert register["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("Problem")
    assert "Idempotency-Key" in {p["name"] for p in register["parameters"]}
    child_create = spec["components"]["schemas"]["ChildCreate"]
    assert child_create["properties"]["gender"]["enum"] == ["F", "M"]
    aid = spec["components"]["schemas"]["AidCreate"]["properties"]
    assert aid["amount_fen"]["exclusiveMinimum"] == 0 and aid["source"]["maxLength"] == 500


async def test_unknown_paths_and_methods_answer_problems(api, team):
    assert_problem(await api.get("/api/v1/nothing-here"), 404)
    assert_problem(await api.delete(team.url("/children"), headers=team.as_("grid_worker")), 405)
