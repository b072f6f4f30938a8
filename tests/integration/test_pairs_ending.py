"""A pair ends by itself when the child's file closes or the helper leaves, seen from outside on a real PostgreSQL:
in the child's history, in the helper's free place, and in the dashboard's `paired` count."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.child import Child
from domain.errors import Conflict, RuleViolation
from domain.helper import Helper, Pair
from infra.bootstrap import Infrastructure
from infra.dashboard_reads import dashboard
from infra.projection_runner import catch_up
from services.app import children, helpers, reads
from tests.builders import child_details
from tests.conftest import NOW, Street

TODAY = NOW.date()  # 10:00 in Shanghai: the same day there


def register(street: Street) -> UUID:
    return children.register_child(child_details(street.grid), ctx=street.ctx()).id


def enrol(street: Street, name: str = "刘爱华") -> UUID:
    return helpers.enrol_helper(name, "caring_mother", None, street.community, ctx=street.ctx()).id


def pair(street: Street, child: UUID, helper: UUID) -> UUID:
    return helpers.form_pair(child, helper, TODAY, ctx=street.ctx("supervisor")).id


def history(street: Street, child: UUID, kind: str) -> list[dict[str, Any]]:
    """The events of one kind in the child's history, as the API shows them."""
    return [e for e in reads.child_history(child, ctx=street.ctx("auditor")) if e["type"] == kind]


async def paired(infra: Infrastructure, read_pool: Any, street: Street) -> int:
    """The street dashboard's `paired` count once the projections have caught up."""
    catch_up(infra, street.code)
    board = await dashboard(read_pool, street.code, "street", "2026-autumn", now=NOW)
    return board["paired"]["count"]


async def test_closing_a_file_ends_its_pairs_frees_their_helpers_and_leaves_it_unpaired(infra, street, read_pool):
    child, sibling = register(street), register(street)
    mother, teacher = enrol(street), enrol(street, "王老师")
    pair(street, child, mother), pair(street, child, teacher), pair(street, sibling, mother)
    assert await paired(infra, read_pool, street) == 2

    worker = street.ctx("grid_worker", scope=street.grid)
    children.close_child(child, "parent_returned", "父亲返乡", ctx=worker)

    (closed,) = history(street, child, "shouwang:child:file-closed")
    ended = history(street, child, "shouwang:pair:ended")
    assert [(e["actor"], e["occurred_on"], e["data"]["why"]) for e in ended] == [
        (closed["actor"], closed["occurred_on"], "儿童档案已关闭")] * 2 and closed["actor"] == str(worker.actor)
    assert {e["recorded_at"] for e in ended} == {closed["recorded_at"]}, "in the closing's transaction"
    assert await paired(infra, read_pool, street) == 1
    third = register(street)
    pair(street, third, mother)  # she had two children: one place is free again
    assert await paired(infra, read_pool, street) == 2


async def test_a_reopened_file_stays_unpaired_until_a_helper_is_paired_with_it_again(infra, street, read_pool):
    child, helper = register(street), enrol(street)
    pair(street, child, helper)
    children.close_child(child, "parent_returned", None, ctx=street.ctx())

    children.reopen_child(child, "父亲再次外出", ctx=street.ctx())

    assert await paired(infra, read_pool, street) == 0
    pair(street, child, helper)
    assert await paired(infra, read_pool, street) == 1


async def test_a_helper_leaving_ends_its_pairs_frees_its_children_and_the_dashboard_counts_them(
        infra, street, read_pool):
    first, second = register(street), register(street)
    leaving, staying = enrol(street), enrol(street, "王老师")
    pair(street, first, leaving), pair(street, second, leaving), pair(street, second, staying)
    assert await paired(infra, read_pool, street) == 2

    supervisor = street.ctx("supervisor")
    helpers.helper_left(leaving, "搬家到外地", ctx=supervisor)

    for child in (first, second):
        (ended,) = history(street, child, "shouwang:pair:ended")
        assert (ended["actor"], ended["occurred_on"], ended["data"]["why"]) == (
            str(supervisor.actor), supervisor.today, "帮扶人已退出")
    assert await paired(infra, read_pool, street) == 1  # the second child still has its other helper
    pair(street, first, staying)
    with pytest.raises(RuleViolation):
        pair(street, second, leaving)


def test_a_pair_formed_before_files_noted_their_pairs_still_ends_when_the_file_closes(street):
    child, helper_id = register(street), enrol(street)
    log = street.ctx().case_log
    file, helper = log.load(Child, child), log.load(Helper, helper_id)
    older = Pair.form(uuid4(), file, helper, 2, stamp=street.ctx().stamp())
    log.record(older, helper)  # as before `Child.Paired` existed: the child's stream does not name the pair
    assert log.load(Child, child).pair_ids == []

    children.close_child(child, "turned_16", None, ctx=street.ctx())

    assert [e["data"]["why"] for e in history(street, child, "shouwang:pair:ended")] == ["儿童档案已关闭"]
    assert log.load(Helper, helper_id).children == []


def test_a_pairing_that_read_the_file_before_it_closed_cannot_be_recorded_and_is_refused_on_retry(street):
    child, helper_id = register(street), enrol(street)
    log = street.ctx().case_log
    file, helper = log.load(Child, child), log.load(Helper, helper_id)
    late = Pair.form(uuid4(), file, helper, 2, stamp=street.ctx().stamp())  # decided on the open file...

    children.close_child(child, "moved_away", None, ctx=street.ctx())  # ...which closes first

    with pytest.raises(Conflict):
        log.record(late, helper, file)
    with pytest.raises(RuleViolation) as refusal:
        pair(street, child, helper_id)
    assert refusal.value.field == "child_id"


def test_pairings_racing_closings_never_leave_an_active_pair_on_a_closed_file(street):
    log = street.ctx().case_log
    for _ in range(6):
        child, helper_id = register(street), enrol(street)
        start = threading.Barrier(2, timeout=10)
        failures: list[BaseException] = []

        def run(command: Any) -> None:
            start.wait()
            try:
                command()
            except RuleViolation:
                pass  # the pairing came second and found the file closed
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        racers = [threading.Thread(target=run, args=(lambda: pair(street, child, helper_id),)),
                  threading.Thread(target=run, args=(lambda: children.close_child(
                      child, "parent_returned", None, ctx=street.ctx()),))]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=30)
        assert failures == [] and not any(racer.is_alive() for racer in racers)
        assert log.load(Child, child).status == "closed"
        assert [log.load(Pair, p).active for p in log.streams_about(child, Pair.Formed.TOPIC)] in ([], [False])
        assert log.load(Helper, helper_id).children == []
