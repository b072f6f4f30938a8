"""Failures never leak internals, and the API served by a real uvicorn process over a loopback socket."""

from __future__ import annotations

import asyncio
import base64
import os

import httpx

from services.app import reads
from tests.e2e.conftest import assert_problem, child_body, days_ago, register
from tests.serving import serving


async def test_an_unexpected_failure_is_a_500_problem_without_a_traceback(api, team, monkeypatch):
    child_id = await register(api, team)

    def broken(*_, **__):
        raise RuntimeError("connection string postgres://secret@db leaked")

    monkeypatch.setattr(reads, "child_file", broken)
    response = await api.get(team.url(f"/children/{child_id}"), headers=team.as_("grid_worker"))

    problem = assert_problem(response, 500)
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert problem["errors"] == []


async def test_the_api_served_by_uvicorn_over_a_socket(infra, database_url, team, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "SHOUWANG_DATA_DIR": str(tmp_path),
           "SHOUWANG_MASTER_KEY": base64.b64encode(infra.settings.master_key).decode()}
    command = lambda port: ["-c", f"from services.api.server import serve; serve('127.0.0.1', {port})"]  # noqa: E731
    async with serving(command, env, tmp_path / "server.log") as server, \
            httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        await _exercise(client, team)


async def _exercise(client: httpx.AsyncClient, team) -> None:
    # The server inherits CELERY_BROKER_URL when the run has one (CI sets it when Redis answers).
    broker = "ok" if os.environ.get("CELERY_BROKER_URL") else "absent"
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok", "broker": broker}
    login = await client.post("/api/v1/auth/login", json={"username": f"grid_worker.{team.code}",
                                                          "password": "correct horse battery"})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    headers = {**auth, "Idempotency-Key": "over-the-wire"}
    body = child_body(team.street.grid)
    first = await client.post(f"/api/v1/t/{team.code}/children", json=body, headers=headers)
    again = await client.post(f"/api/v1/t/{team.code}/children", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()

    child_url = f"/api/v1/t/{team.code}/children/{first.json()['id']}"
    assert (await client.get(child_url, headers=auth)).json()["name"] == body["name"]
    visits = await asyncio.gather(*[client.post(child_url + "/visits", headers=auth, json={
        "kind": "talk", "occurred_on": days_ago(1)}) for _ in range(10)])
    assert [v.status_code for v in visits] == [201] * 10
    assert len((await client.get(child_url + "/history", headers=auth)).json()["items"]) == 11

    assert_problem(await client.get(child_url), 401)
    assert_problem(await client.post(f"/api/v1/t/{team.code}/children", content=b"{oops",
                                     headers={**auth, "Content-Type": "application/json"}), 400)
    too_big = await client.post(f"/api/v1/t/{team.code}/children", content=b" " * (1024 * 1024 + 1),
                                headers={**auth, "Content-Type": "application/json"})
    assert_problem(too_big, 413)
    assert (await client.get("/schema/openapi.json")).json()["info"]["title"] == "Shouwang API"
