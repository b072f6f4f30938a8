"""A child's file over HTTP: registration rules, reads through time, history, and every command."""

from __future__ import annotations

from datetime import date, timedelta

from domain.identity import make_id_number
from infra.projection_runner import catch_up
from tests.e2e.conftest import assert_problem, child_body, days_ago, pair, register, today


async def test_a_grid_worker_registers_a_child_and_reads_the_file_back(api, team):
    body = child_body(team.street.grid)
    response = await api.post(team.url("/children"), json=body, headers=team.as_("grid_worker"))

    assert response.status_code == 201
    receipt = response.json()
    assert set(receipt) == {"id", "version", "position"} and receipt["version"] == 1 and receipt["position"] >= 1
    file = (await api.get(team.url(f"/children/{receipt['id']}"), headers=team.as_("grid_worker"))).json()
    assert file["name"] == body["name"] and file["id_number"] == body["id_number"]
    assert file["guardian"]["phone"] == "13900001111" and file["parents"][0]["work_place"] == "广东省东莞市"
    assert file["status"] == "open" and file["erased"] is False and file["version"] == 1


async def test_an_id_number_with_a_wrong_check_digit_is_422_naming_id_number(api, team):
    good = make_id_number("150902", date(2017, 5, 12), 7, "F")
    bad = good[:17] + ("0" if good[17] != "0" else "1")

    response = await api.post(team.url("/children"), json=child_body(team.street.grid, id_number=bad),
                              headers=team.as_("grid_worker"))

    assert_problem(response, 422, "id_number")


async def test_a_child_of_sixteen_cannot_be_registered(api, team):
    sixteen = today().replace(year=today().year - 16) - timedelta(days=1)
    body = child_body(team.street.grid, birth_date=sixteen.isoformat(), id_number=None)

    response = await api.post(team.url("/children"), json=body, headers=team.as_("grid_worker"))

    assert_problem(response, 422, "birth_date")


async def test_a_grid_of_another_tenant_or_outside_the_scope_is_422_naming_grid(api, team):
    far_grid = team.street.code[:6] + "999" + "00101"  # not a unit at all
    for grid in (far_grid, team.street.other_grid):
        response = await api.post(team.url("/children"), json=child_body(grid), headers=team.as_("grid_worker"))
        assert_problem(response, 422, "grid")


async def test_a_grid_of_another_tenant_is_refused_even_to_the_tenant_admin(api, team, infra):
    from tests.conftest import make_street

    other = make_street(infra)
    response = await api.post(team.url("/children"), json=child_body(other.grid), headers=team.as_("tenant_admin"))

    assert_problem(response, 422, "grid")


async def test_every_malformed_field_is_named_at_once(api, team):
    body = child_body(team.street.grid, gender="X", reason="unknown", nickname="花花")
    body["birth_date"] = "2017-02-30"
    body["guardian"] = {"relation": "uncle", "phone": "call me"}
    body["parents"] = [{"relation": "father", "name": ""}]

    response = await api.post(team.url("/children"), json=body, headers=team.as_("grid_worker"))

    assert_problem(response, 422, "gender", "birth_date", "reason", "nickname", "guardian.name", "guardian.relation",
                   "guardian.phone", "parents[0].name")


async def test_malformed_json_is_400_and_a_missing_body_is_422(api, team):
    headers = team.as_("grid_worker", **{"Content-Type": "application/json"})

    assert_problem(await api.post(team.url("/children"), content=b'{"name": ', headers=headers), 400)
    assert_problem(await api.post(team.url("/children"), content=b"", headers=headers), 422, "body")
    assert_problem(await api.post(team.url("/children"), content=b"[]", headers=headers), 422, "body")


async def test_a_body_over_one_mebibyte_is_413_and_records_nothing(api, team, infra):
    before = infra.logs[team.code].position()
    body = child_body(team.street.grid, address="x" * (1024 * 1024))

    response = await api.post(team.url("/children"), json=body, headers=team.as_("grid_worker"))

    assert_problem(response, 413)
    assert infra.logs[team.code].position() == before


async def test_the_file_as_it_stood_at_a_version_and_as_of_a_moment(api, team):
    worker = team.as_("grid_worker")
    child_id = await register(api, team, school="白沙关小学")
    history = (await api.get(team.url(f"/children/{child_id}/history"), headers=worker)).json()["items"]
    registered_at = history[0]["recorded_at"]
    await api.post(team.url(f"/children/{child_id}/corrections"), headers=worker,
                   json={"changes": {"school": "民安小学"}, "reason": "转学"})
    url = team.url(f"/children/{child_id}")

    assert (await api.get(url, headers=worker)).json()["school"] == "民安小学"
    assert (await api.get(url, params={"version": 1}, headers=worker)).json()["school"] == "白沙关小学"
    assert (await api.get(url, params={"as_of": registered_at}, headers=worker)).json()["school"] == "白沙关小学"
    assert_problem(await api.get(url, params={"version": 3}, headers=worker), 404)
    assert_problem(await api.get(url, params={"as_of": "2000-01-01T00:00:00+08:00"}, headers=worker), 404)
    assert_problem(await api.get(url, params={"as_of": "2026-01-01T00:00:00"}, headers=worker), 422, "as_of")
    assert_problem(await api.get(url, params={"version": "two"}, headers=worker), 422, "version")
    assert (await api.get(url, params={"min_position": 1}, headers=worker)).status_code == 200


async def test_the_history_lists_every_event_about_the_child_in_log_order(api, team):
    worker = team.as_("grid_worker")
    child_id = await register(api, team)
    visit = await api.post(team.url(f"/children/{child_id}/visits"), headers=worker,
                           json={"kind": "home_visit", "occurred_on": days_ago(3), "notes": "家中整洁"})
    concern = await api.post(team.url("/concerns"), headers=worker, json={
        "child_id": str(child_id), "category": "academic", "severity": "low", "description": "成绩下降"})

    items = (await api.get(team.url(f"/children/{child_id}/history"), headers=worker)).json()["items"]

    assert [i["type"] for i in items] == ["shouwang:child:registered", "shouwang:child:visit-logged",
                                          "shouwang:concern:raised"]
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)
    assert items[1]["position"] == visit.json()["position"] and items[2]["stream"] == concern.json()["id"]
    assert items[1]["occurred_on"] == days_ago(3) and items[1]["data"]["notes"] == "家中整洁"
    assert items[1]["actor"] == team.users["grid_worker"]["id"]
    assert all(set(i) >= {"position", "version", "stream", "type", "occurred_on", "recorded_at", "actor", "data",
                          "hash"} and len(i["hash"]) == 64 for i in items)


async def test_corrections_guardian_move_close_and_reopen_answer_200_with_a_receipt(api, team):
    worker, supervisor = team.as_("grid_worker"), team.as_("supervisor")
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}")

    steps = [
        (worker, "/corrections", {"changes": {"class_name": "四年级一班", "address": None}, "reason": "升级"}),
        (worker, "/guardian", {"name": "王奶奶", "relation": "maternal_grandparent", "phone": "13900009999"}),
        (supervisor, "/move", {"grid": team.street.other_grid}),
        (supervisor, "/close", {"reason": "parent_returned", "note": "父亲返乡"}),
        (supervisor, "/reopen", None),
        (supervisor, "/close", {"reason": "other"}),
        (supervisor, "/reopen", {"note": "再次外出"}),
    ]
    for version, (who, path, body) in enumerate(steps, start=2):
        response = await api.post(url + path, json=body, headers=who) if body is not None else \
            await api.post(url + path, headers=who)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["id"] == str(child_id) and response.json()["version"] == version

    file = (await api.get(url, headers=supervisor)).json()
    assert file["class_name"] == "四年级一班" and file["address"] is None
    assert file["guardian"]["name"] == "王奶奶" and file["grid"] == team.street.other_grid
    assert file["status"] == "open" and file["version"] == 8


async def test_closing_a_file_ends_its_pair_and_frees_the_helpers_place_for_another_child(api, fresh_team, infra):
    team, supervisor = fresh_team, fresh_team.as_("supervisor")
    child, sibling, waiting = [await register(api, team) for _ in range(3)]
    pair_id = await pair(api, team, child)
    await pair(api, team, sibling)
    pairing = {"child_id": str(waiting), "helper_id": str(team.helper_id), "started_on": days_ago(1)}
    assert_problem(await api.post(team.url("/pairs"), json=pairing, headers=supervisor), 409, "helper_id")  # full

    closed = await api.post(team.url(f"/children/{child}/close"), json={"reason": "moved_away"}, headers=supervisor)

    assert closed.status_code == 200, closed.text
    items = (await api.get(team.url(f"/children/{child}/history"), headers=supervisor)).json()["items"]
    assert [i["type"] for i in items][-2:] == ["shouwang:child:file-closed", "shouwang:pair:ended"]
    ended = items[-1]
    assert (ended["stream"], ended["data"]["why"], ended["occurred_on"], ended["actor"]) == (
        str(pair_id), "儿童档案已关闭", today().isoformat(), team.users["supervisor"]["id"])
    assert (await api.post(team.url("/pairs"), json=pairing, headers=supervisor)).status_code == 201
    catch_up(infra, team.code)
    board = (await api.get(f"/api/v1/units/{team.code}/dashboard", headers=supervisor)).json()
    assert (board["children_closed"], board["paired"]["count"]) == (1, 2)  # the sibling and the waiting child


async def test_bad_commands_on_a_file_name_their_fields(api, team):
    worker = team.as_("grid_worker")
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}")

    assert_problem(await api.post(url + "/corrections", json={"changes": {"grid": "x"}}, headers=worker),
                   422, "changes.grid")
    assert_problem(await api.post(url + "/corrections", json={"changes": {"id_number": "150902201705120000"}},
                                  headers=worker), 422, "changes.id_number")
    assert_problem(await api.post(url + "/close", json={"reason": "bored"}, headers=worker), 422, "reason")
    assert_problem(await api.post(url + "/close", json={"reason": "other", "note": "x" * 501}, headers=worker),
                   422, "note")
    assert_problem(await api.post(url + "/reopen", json={}, headers=worker), 409)  # the file is open
    assert_problem(await api.post(url + "/move", json={"grid": team.street.grid}, headers=worker), 409)
    assert_problem(await api.post(url + "/guardian", json={"name": "王", "relation": "neighbour"}, headers=worker),
                   422, "relation")


async def test_visits_and_aid_are_201_and_their_rules_hold(api, team):
    supervisor = team.as_("supervisor")
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}")

    visit = await api.post(url + "/visits", headers=supervisor,
                           json={"kind": "teacher_contact", "occurred_on": days_ago(1), "helper_id": None})
    aid = await api.post(url + "/aid", headers=supervisor,
                         json={"kind": "tuition", "amount_fen": 50000, "source": "春蕾计划", "occurred_on": days_ago(2)})

    assert visit.status_code == 201 and aid.status_code == 201
    file = (await api.get(url, headers=supervisor)).json()
    assert file["visits"][0]["id"] == visit.json()["id"] and file["aid"][0]["amount_fen"] == 50000
    assert_problem(await api.post(url + "/visits", headers=supervisor,
                                  json={"kind": "chat", "occurred_on": "someday"}), 422, "kind", "occurred_on")
    assert_problem(await api.post(url + "/visits", headers=supervisor,
                                  json={"kind": "talk", "occurred_on": (today() + timedelta(days=2)).isoformat()}),
                   422, "occurred_on")
    for amount in (0, -5, 1.5):
        assert_problem(await api.post(url + "/aid", headers=supervisor, json={
            "kind": "cash", "amount_fen": amount, "source": "民政", "occurred_on": days_ago(1)}), 422, "amount_fen")
    assert_problem(await api.post(url + "/aid", headers=supervisor, json={
        "kind": "cash", "amount_fen": 100, "source": "", "occurred_on": days_ago(1)}), 422, "source")
    assert_problem(await api.post(url + "/aid", headers=team.as_("grid_worker"), json={
        "kind": "cash", "amount_fen": 100, "source": "民政", "occurred_on": days_ago(1)}), 403)


async def test_a_stale_if_match_is_412_and_records_nothing(api, team, infra):
    worker = team.as_("grid_worker")
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}")
    await api.post(url + "/visits", json={"kind": "talk", "occurred_on": days_ago(1)}, headers=worker)
    before = infra.logs[team.code].position()

    stale = await api.post(url + "/close", json={"reason": "other"}, headers={**worker, "If-Match": "1"})

    assert_problem(stale, 412)
    assert infra.logs[team.code].position() == before
    assert (await api.get(url, headers=worker)).json()["status"] == "open"
    fresh = await api.post(url + "/close", json={"reason": "other"}, headers={**worker, "If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3
    assert_problem(await api.post(url + "/reopen", headers={**worker, "If-Match": "three"}), 422, "If-Match")


async def test_forgetting_a_child_is_for_the_tenant_admin_and_leaves_nulls_behind(api, team):
    child_id = await register(api, team)
    url = team.url(f"/children/{child_id}")
    await api.post(url + "/visits", json={"kind": "home_visit", "occurred_on": days_ago(1), "notes": "祖母卧病"},
                   headers=team.as_("grid_worker"))

    for who in ("grid_worker", "supervisor"):
        assert_problem(await api.post(url + "/forget", json={"reason": "监护人申请"}, headers=team.as_(who)), 403)
    forgotten = await api.post(url + "/forget", json={"reason": "监护人申请"}, headers=team.as_("tenant_admin"))

    assert forgotten.status_code == 200 and forgotten.json()["version"] == 3
    file = (await api.get(url, headers=team.as_("tenant_admin"))).json()
    assert file["erased"] is True
    assert file["name"] is None and file["id_number"] is None and file["address"] is None
    assert file["guardian"]["name"] is None and file["guardian"]["phone"] is None
    assert all(p["name"] is None and p["phone"] is None for p in file["parents"])
    items = (await api.get(url + "/history", headers=team.as_("tenant_admin"))).json()["items"]
    assert len(items) == 3 and items[-1]["type"] == "shouwang:child:forgotten"
    assert items[0]["data"]["name"] is None and items[0]["data"]["id_number"] is None
    assert items[1]["data"]["notes"] is None
    assert_problem(await api.post(url + "/visits", json={"kind": "talk", "occurred_on": days_ago(1)},
                                  headers=team.as_("grid_worker")), 409)


async def test_registering_as_a_helper_or_auditor_is_403(api, team):
    for who in ("helper", "auditor", "district_officer"):
        response = await api.post(team.url("/children"), json=child_body(team.street.grid), headers=team.as_(who))
        assert_problem(response, 403)
