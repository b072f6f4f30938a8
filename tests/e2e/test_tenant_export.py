"""A whole tenant's audit export over HTTP: 202 and a Location, built by a real Celery worker, fetched, verified."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import psycopg
from litestar.testing import AsyncTestClient

from infra.migrations import schema_for
from services.cli import main as shouwang
from services.worker.tasks import build_export
from tests.e2e.conftest import Team, assert_problem, days_ago, register
from tests.worker_fixtures import celery_worker  # noqa: F401  (the fixture)


async def ask(api: AsyncTestClient, team: Team, who: str = "tenant_admin") -> str:
    """Ask for the whole tenant's export as API.md says (GET without child_id); return its Location."""
    answer = await api.get(team.url("/audit/export"), headers=team.as_(who))
    assert answer.status_code == 202, answer.text
    assert answer.json()["url"] == answer.headers["location"]
    assert answer.json()["status"] in ("queued", "running", "done")
    return answer.headers["location"]


async def fetch(api: AsyncTestClient, team: Team, location: str, who: str = "tenant_admin",
                deadline_s: float = 60) -> Any:
    """Poll the Location until the export is ready (202 until then), within a bound."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        answer = await api.get(location, headers=team.as_(who))
        if answer.status_code != 202:
            return answer
        assert answer.headers["location"] == location
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export was not ready within {deadline_s} s")


def verify_file(path: Any) -> int:
    return shouwang(["audit", "verify-bundle", str(path)])


async def test_a_tenant_admin_gets_the_whole_tenant_from_a_worker_and_it_verifies_offline(
        api, fresh_team, celery_worker, database_url, tmp_path, capsys):
    team = fresh_team
    children = [await register(api, team) for _ in range(3)]
    await api.post(team.url(f"/children/{children[0]}/visits"), headers=team.as_("grid_worker"),
                   json={"kind": "home_visit", "occurred_on": days_ago(1)})

    twins = await asyncio.gather(ask(api, team), ask(api, team))  # a retry racing the first request
    location = twins[0]
    assert twins[1] == location and await ask(api, team) == location  # the same moment: one job, not two
    posted = await api.post(team.url("/audit/exports"), headers=team.as_("tenant_admin"))
    assert (posted.status_code, posted.headers["location"]) == (202, location)

    done = await fetch(api, team, location)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"].startswith("application/json")
    bundle = json.loads(done.content)
    head = (await api.get(team.url("/audit/verify"), headers=team.as_("tenant_admin"))).json()["head_position"]
    assert bundle["child_id"] is None and bundle["end"]["position"] == head
    assert [link["position"] for link in bundle["links"]] == list(range(1, head + 1))
    assert all("event" in link for link in bundle["links"])  # every event in full: it is the whole tenant
    registered = {link["event"]["originator_id"] for link in bundle["links"]
                  if link["event"]["topic"] == "shouwang:child:registered"}
    assert registered == {str(c) for c in children}

    export_id = location.rsplit("/", 1)[1]
    assert build_export.delay(team.code, export_id).get(timeout=30)["status"] == "done"  # delivered twice: no-op
    assert (await fetch(api, team, location)).content == done.content

    path = tmp_path / "tenant.json"
    path.write_bytes(done.content)
    assert verify_file(path) == 0
    assert "intact" in capsys.readouterr().out
    state = done.content.index(b'"state": "') + len(b'"state": "') + 8
    tampered = bytearray(done.content)
    tampered[state] = ord("A") if tampered[state] != ord("A") else ord("B")  # one byte, still valid base64
    path.write_bytes(bytes(tampered))
    assert verify_file(path) == 1
    assert "NOT intact" in capsys.readouterr().out

    log = await api.get(team.url(f"/audit/access-log?child_id={children[1]}"), headers=team.as_("tenant_admin"))
    assert (log.json()["items"][0]["role"], log.json()["items"][0]["via"]) == ("tenant_admin", f"GET {location}")

    (name,) = [link["event"]["shown"]["data"]["name"] for link in bundle["links"]
               if link["event"]["originator_id"] == str(children[0])
               and link["event"]["topic"] == "shouwang:child:registered"]
    assert name.startswith("李小明")
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(f"SELECT sealed FROM {schema_for(team.code)}.export_chunks").fetchall()
    assert stored and not any(name.encode() in bytes(s) for (s,) in stored)  # kept sealed, never in plaintext


async def test_an_export_job_answers_only_the_one_who_asked(api, fresh_team, celery_worker):
    team = fresh_team
    await register(api, team)
    location = await ask(api, team)
    assert (await fetch(api, team, location)).status_code == 200

    export_id = location.rsplit("/", 1)[1]
    assert_problem(await api.get(location, headers=team.as_("stranger")), 404)
    far_tenant = team.users["stranger"]["tenant"]
    assert_problem(await api.get(f"/api/v1/t/{far_tenant}/audit/exports/{export_id}",
                                 headers=team.as_("stranger")), 404)
    assert_problem(await api.get(location, headers=team.as_("auditor")), 404)  # another exporter's job
    assert_problem(await api.get(location, headers=team.as_("grid_worker")), 403)

    assert_problem(await api.get(team.url("/audit/export"), headers=team.as_("grid_worker")), 403)
    assert_problem(await api.get(team.url("/audit/export"), headers=team.as_("outside_admin")), 404)
    assert_problem(await api.get(team.url("/audit/export"), headers=team.as_("stranger")), 404)
    mine = await ask(api, team, "auditor")  # an auditor of the district: the whole street is in its scope
    assert mine != location and (await fetch(api, team, mine, "auditor")).status_code == 200


async def test_an_idempotency_key_names_one_job_after_the_log_moves(api, fresh_team, celery_worker):
    team = fresh_team
    await register(api, team)
    key = {"Idempotency-Key": "tenant-export-1"}
    first = await api.post(team.url("/audit/exports"), headers=team.as_("tenant_admin", **key))
    await register(api, team)  # the log moves on
    again = await api.post(team.url("/audit/exports"), headers=team.as_("tenant_admin", **key))
    later = await api.post(team.url("/audit/exports"), headers=team.as_("tenant_admin"))
    assert [a.status_code for a in (first, again, later)] == [202, 202, 202]
    assert again.headers["location"] == first.headers["location"] != later.headers["location"]
    assert (await fetch(api, team, later.headers["location"])).status_code == 200

    too_long = {"Idempotency-Key": "k" * 201}
    assert_problem(await api.post(team.url("/audit/exports"), headers=team.as_("tenant_admin", **too_long)),
                   422, "Idempotency-Key")


async def test_a_request_the_broker_refuses_leaves_no_job_behind(api, fresh_team, celery_worker, monkeypatch):
    team = fresh_team
    await register(api, team)

    def refused(*_: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(build_export, "delay", refused)
    assert (await api.get(team.url("/audit/export"), headers=team.as_("tenant_admin"))).status_code == 500
    monkeypatch.undo()
    location = await ask(api, team)  # the same moment again: a new job, sent this time
    assert (await fetch(api, team, location)).status_code == 200


async def test_forgetting_a_child_voids_the_exports_made_before(api, fresh_team, celery_worker):
    team = fresh_team
    child = await register(api, team)
    before = await ask(api, team)
    assert (await fetch(api, team, before)).status_code == 200
    forgot = await api.post(team.url(f"/children/{child}/forget"), json={"reason": "监护人申请"},
                            headers=team.as_("tenant_admin"))
    assert forgot.status_code == 200, forgot.text

    assert_problem(await fetch(api, team, before), 409)
    after = await ask(api, team)
    assert after != before
    fresh = await fetch(api, team, after)
    assert fresh.status_code == 200
    (registered,) = [link["event"]["shown"] for link in json.loads(fresh.content)["links"]
                     if link["event"]["originator_id"] == str(child)
                     and link["event"]["topic"] == "shouwang:child:registered"]
    assert registered["data"]["name"] is None
