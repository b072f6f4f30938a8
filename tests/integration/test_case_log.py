"""The case log on real PostgreSQL: order, history, past states, tenancy, concurrency."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from uuid import uuid4

import pytest

from domain.child import Child
from domain.errors import Conflict, NotFound, Stale
from services.app import children, concerns, helpers
from services.app.reads import child_file, child_history
from tests.builders import child_details
from tests.conftest import NOW, make_street


def test_a_childs_story_comes_back_in_log_order_and_as_it_stood(street):
    worker = street.ctx("grid_worker", street.grid)
    supervisor = street.ctx("supervisor", street.code)
    registered = children.register_child(child_details(street.grid, school="白沙关小学"), ctx=worker)
    child_id = registered.id
    helper = helpers.enrol_helper("刘爱华", "caring_mother", "13900001111", street.community, ctx=supervisor)
    pair = helpers.form_pair(child_id, helper.id, date(2026, 9, 1), ctx=supervisor)
    children.log_visit(child_id, "home_visit", date(2026, 10, 8), helper.id, "家中整洁", ctx=worker)
    concern = concerns.raise_concern(child_id, "psychological", "high", "情绪低落，不愿上学", ctx=worker)
    concerns.escalate_concern(concern.id, "社区无法处理", ctx=supervisor)
    corrected = children.correct_child(child_id, {"school": "集宁区第二小学"}, "转学", ctx=worker)

    history = child_history(child_id, ctx=supervisor)

    assert [e["type"] for e in history] == [
        "shouwang:child:registered", "shouwang:pair:formed", "shouwang:child:paired", "shouwang:child:visit-logged",
        "shouwang:concern:raised", "shouwang:concern:escalated", "shouwang:child:profile-corrected",
    ]
    positions = [e["position"] for e in history]
    assert positions == sorted(positions) and positions[-1] == corrected.position
    assert {e["stream"] for e in history} == {child_id, pair.id, concern.id}
    assert history[2]["data"] == {"pair_id": pair.id, "helper_id": helper.id}  # the file notes its pair
    assert history[3]["occurred_on"] == date(2026, 10, 8) and history[3]["data"]["notes"] == "家中整洁"
    assert all(e["actor"] and e["recorded_at"] and e["unit"] for e in history)

    assert child_file(child_id, ctx=supervisor)["school"] == "集宁区第二小学"
    assert child_file(child_id, ctx=supervisor, version=1)["school"] == "白沙关小学"
    assert child_file(child_id, ctx=supervisor, version=3)["visits"][0]["kind"] == "home_visit"
    with pytest.raises(NotFound):
        child_file(child_id, ctx=supervisor, version=99)


def test_the_file_as_of_a_moment_is_what_had_been_recorded_by_then(street):
    worker = street.ctx("grid_worker", street.grid)
    child_id = children.register_child(child_details(street.grid, school="白沙关小学"), ctx=worker).id
    log = street.infra.logs[street.code]
    first_recorded = log.about(child_id)[0]["recorded_at"]
    children.correct_child(child_id, {"school": "民安小学"}, None, ctx=worker)

    assert child_file(child_id, ctx=worker, as_of=first_recorded)["school"] == "白沙关小学"
    assert child_file(child_id, ctx=worker, as_of=NOW + timedelta(days=3650))["school"] == "民安小学"
    with pytest.raises(NotFound):
        child_file(child_id, ctx=worker, as_of=first_recorded - timedelta(seconds=1))


def test_two_tenants_using_the_same_child_id_never_see_each_others_events(infra):
    north, south = make_street(infra), make_street(infra)
    shared_id = uuid4()
    for street, school in ((north, "北小学"), (south, "南小学")):
        ctx = street.ctx()
        child = Child.register(shared_id, child_details(street.grid, school=school), stamp=ctx.stamp())
        ctx.case_log.record(child)
    children.log_visit(shared_id, "talk", date(2026, 11, 1), None, None, ctx=north.ctx())

    assert child_file(shared_id, ctx=north.ctx())["school"] == "北小学"
    assert child_file(shared_id, ctx=south.ctx())["school"] == "南小学"
    assert len(child_history(shared_id, ctx=north.ctx())) == 2
    assert len(child_history(shared_id, ctx=south.ctx())) == 1
    # Each tenant's log is numbered on its own.
    assert infra.logs[south.code].about(shared_id)[0]["position"] == 1


def test_eight_writers_on_one_child_lose_nothing_the_losers_conflict_and_a_retry_succeeds(street):
    ctx = street.ctx("grid_worker", street.grid)
    child_id = children.register_child(child_details(street.grid), ctx=ctx).id
    log = ctx.case_log
    loaded = [log.load(Child, child_id) for _ in range(8)]
    for i, child in enumerate(loaded):
        child.log_visit(uuid4(), "talk", None, f"第{i}次谈心", stamp=ctx.stamp())
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def write(child: Child) -> None:
        barrier.wait()
        try:
            log.record(child)
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(c,)) for c in loaded]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["saved"]

    retried = [threading.Thread(target=children.log_visit,
                                args=(child_id, "talk", date(2026, 11, 2), None, f"重试{i}"), kwargs={"ctx": ctx})
               for i in range(7)]
    for t in retried:
        t.start()
    for t in retried:
        t.join()
    file = child_file(child_id, ctx=ctx)
    assert len(file["visits"]) == 8 and file["version"] == 9


def test_a_stale_if_match_version_is_refused_and_nothing_is_recorded(street):
    ctx = street.ctx()
    registered = children.register_child(child_details(street.grid), ctx=ctx)
    children.correct_child(registered.id, {"school": "新学校"}, None, ctx=ctx, expected_version=1)
    with pytest.raises(Stale):
        children.close_child(registered.id, "moved_away", None, ctx=ctx, expected_version=1)
    assert child_file(registered.id, ctx=ctx)["status"] == "open"
