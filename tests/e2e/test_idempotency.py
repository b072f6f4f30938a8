"""Retried and concurrent commands: an Idempotency-Key records once; parallel writers all land, once each."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.e2e.conftest import assert_problem, child_body, days_ago, register


async def history_of(api, team, child_id):
    response = await api.get(team.url(f"/children/{child_id}/history"), headers=team.as_("supervisor"))
    return response.json()["items"]


async def test_the_same_key_and_body_returns_the_first_answer_and_records_once(api, team):
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}/visits")
    headers = team.as_("grid_worker", **{"Idempotency-Key": "visit-2026-11-phone-retry"})
    body = {"kind": "home_visit", "occurred_on": days_ago(1), "notes": "网络不好，重发"}

    first = await api.post(url, json=body, headers=headers)
    again = await api.post(url, json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    visits = [e for e in await history_of(api, team, child_id) if e["type"] == "shouwang:child:visit-logged"]
    assert len(visits) == 1


async def test_the_same_key_with_another_body_is_422_and_records_nothing(api, team, infra):
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}/visits")
    headers = team.as_("grid_worker", **{"Idempotency-Key": "k-1"})
    await api.post(url, json={"kind": "talk", "occurred_on": days_ago(1)}, headers=headers)
    before = infra.logs[team.code].position()

    other = await api.post(url, json={"kind": "letter", "occurred_on": days_ago(1)}, headers=headers)

    assert_problem(other, 422, "Idempotency-Key")
    assert infra.logs[team.code].position() == before


async def test_a_key_is_scoped_to_the_user_and_replays_action_answers_with_their_status(api, team):
    child_id = await register(api, team)
    body = {"kind": "talk", "occurred_on": days_ago(1)}
    url = team.url(f"/children/{child_id}/visits")

    mine = await api.post(url, json=body, headers=team.as_("grid_worker", **{"Idempotency-Key": "shared"}))
    theirs = await api.post(url, json=body, headers=team.as_("supervisor", **{"Idempotency-Key": "shared"}))
    assert mine.status_code == theirs.status_code == 201 and mine.json()["id"] != theirs.json()["id"]

    close = team.as_("supervisor", **{"Idempotency-Key": "close-once"})
    closed = await api.post(team.url(f"/children/{child_id}/close"), json={"reason": "other"}, headers=close)
    replayed = await api.post(team.url(f"/children/{child_id}/close"), json={"reason": "other"}, headers=close)
    assert closed.status_code == replayed.status_code == 200 and closed.json() == replayed.json()


async def test_a_registration_retried_with_its_key_opens_one_file(api, team, infra):
    headers = team.as_("grid_worker", **{"Idempotency-Key": "register-wang-xiaoming"})
    body = child_body(team.street.grid)
    before = infra.logs[team.code].position()

    answers = await asyncio.gather(*[api.post(team.url("/children"), json=body, headers=headers) for _ in range(5)])

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert infra.logs[team.code].position() == before + 1


async def test_an_overlong_key_is_422(api, team):
    headers = team.as_("grid_worker", **{"Idempotency-Key": "k" * 201})

    response = await api.post(team.url("/children"), json=child_body(team.street.grid), headers=headers)

    assert_problem(response, 422, "Idempotency-Key")


async def test_twenty_parallel_visits_to_one_child_all_land_once_each(api, team):
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}/visits")
    who = ["grid_worker", "supervisor", "tenant_admin"]

    answers = await asyncio.gather(*[
        api.post(url, json={"kind": "talk", "occurred_on": days_ago(1), "notes": f"第{n}次"},
                 headers=team.as_(who[n % 3]))
        for n in range(20)])

    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
    visit_ids = {a.json()["id"] for a in answers}
    logged = [e["data"]["visit_id"] for e in await history_of(api, team, child_id)
              if e["type"] == "shouwang:child:visit-logged"]
    assert Counter(logged) == Counter(visit_ids) and len(logged) == 20
    assert sorted(a.json()["version"] for a in answers) == list(range(2, 22))
