"""Every projection keeps exactly-once under crashes, follows changed quotas, and is served by the one runner."""

from __future__ import annotations

import asyncio
import time
from datetime import date


from domain.settings import ContactQuota, TenantSettings
from infra.dashboard_reads import dashboard, worklist
from infra.projection_runner import PROJECTIONS, catch_up, rebuild
from infra.read_models import create_read_pool, wait_for_position
from projections import unit_counters
from tests.conftest import NOW, make_street
from tests.integration.dashboard_story import FIVE_ONES, Story
from tests.integration.killing import kill_mid_batch
from tests.integration.test_child_register import log_head, own_database, start_runner, stop_runner  # noqa: F401
from tests.integration.test_dashboards import projection_state



def a_busy_street(infra, children: int = 6) -> tuple[Story, object, list]:
    """A street whose children are paired, visited in two semesters, aided, moved and worried about."""
    street, story = make_street(infra, "150994"), Story()
    helper = story.helper(street, "恢复测试帮扶人")
    kids = []
    for n in range(children):
        child = story.register(street, street.grid if n % 2 else street.other_grid)
        kids.append(child)
        if n < 2:
            story.pair(child, helper)
        for i, kind in enumerate(FIVE_ONES):
            if (n + i) % 3:
                story.visit(child, kind, date(2026, 10 if n % 2 else 4, 1 + i))
        story.grant(child, 1000 * (n + 1), date(2026, 10, 1))
    story.move(kids[0], street.grid)
    story.escalate(story.worry(kids[1], "urgent"))
    story.close(kids[2])
    return story, street, kids


def test_a_changed_quota_recounts_the_met_counters_exactly_as_a_rebuild_would(infra, database_url):
    story, street, kids = a_busy_street(infra)
    catch_up(infra, street.code)
    before = projection_state(database_url, street.code)
    strict = TenantSettings(contact_quota=ContactQuota(talk=2, letter=0, parent_call=1))
    infra.directory.put_settings(street.code, strict)

    catch_up(infra, street.code)  # nothing new in the log: the quota alone changed

    changed = projection_state(database_url, street.code)
    assert changed["rollup.grid_semester"] != before["rollup.grid_semester"]
    assert changed["rollup.quotas"][0]["parent_call"] == 1
    rebuild(infra, street.code)
    assert projection_state(database_url, street.code) == changed


async def test_dashboards_and_worklists_count_against_the_new_quota(infra, database_url):
    story, street, kids = a_busy_street(infra, children=3)
    catch_up(infra, street.code)
    infra.directory.put_settings(street.code, TenantSettings(contact_quota=ContactQuota(
        home_visit=0, talk=0, teacher_contact=0, guardian_contact=0, letter=0, parent_call=1)))
    pool = await create_read_pool(database_url, max_size=1)
    try:
        listed = await worklist(pool, street.code, "2026-autumn", [street.code], names=False)
        assert [i["missing"] for i in listed["items"]] == [{"parent_call": 1}] * 2
        catch_up(infra, street.code)
        board = await dashboard(pool, street.code, "street", "2026-autumn", now=NOW)
    finally:
        await pool.close()
    assert set(board["contacts"]) == {"parent_call", "all_done", "all_done_pct"}
    assert board["contacts"]["parent_call"] == {"done": 0, "pct": 0.0}


KILLABLE_RUNNER = """
import dataclasses
import sys
from infra import projection_batches, projection_specs as specs
from infra.bootstrap import connect
from infra.counter_rows import CounterTables
from infra.settings import load_settings
flushed = 0
class Hanging(CounterTables):
    def flush(self):
        global flushed
        super().flush()
        flushed += 1
        if flushed == 3:  # the third batch has written its rows but not committed: say so, hang until killed
            print("mid-batch", flush=True)
            sys.stdin.read()
counters = dataclasses.replace(specs.UNIT_COUNTERS, rows=lambda b: Hanging(b.conn, b.tenant, b.schema))
projection_batches.catch_up(connect(load_settings(), migrate=False), sys.argv[1],
                            projections=[specs.CHILD_REGISTER, counters, specs.CONCERN_QUEUE], batch=5)
"""


def test_a_worker_killed_mid_batch_resumes_with_exactly_the_rows_of_a_rebuild(infra, database_url, tmp_path):
    story, street, kids = a_busy_street(infra, children=8)
    kill_mid_batch(KILLABLE_RUNNER, street.code, infra, database_url, tmp_path, "rollup.grid_semester")
    killed = projection_state(database_url, street.code)
    assert {t["position"] for t in killed["tracking"]} == {10}  # two batches of five committed, the third not

    catch_up(infra, street.code)
    resumed = projection_state(database_url, street.code)
    rebuild(infra, street.code)
    assert resumed == projection_state(database_url, street.code)
    assert sum(r["children_open"] for r in resumed["rollup.grid_children"]) == 7


async def test_the_runner_serves_every_projection_and_notices_a_changed_quota(own_database):  # noqa: F811
    infra = own_database
    street = make_street(infra)
    story = Story()
    child = story.register(street, street.grid)
    story.visit(child, "talk", date(2026, 10, 1))
    position = log_head(infra.database_url, street.code)
    pool = await create_read_pool(infra.database_url, max_size=2)
    thread, stop = start_runner(infra, workers=2, sweep_seconds=0.2)
    try:
        for name in ("child_register", unit_counters.NAME, "concern_queue"):
            assert await wait_for_position(pool, street.code, name, position, timeout=10), name
        infra.directory.put_settings(street.code, TenantSettings(contact_quota=ContactQuota(talk=3)))
        deadline = time.monotonic() + 10
        while await pool.fetchval("SELECT talk FROM rollup.quotas WHERE tenant = $1", street.code) != 3:
            assert time.monotonic() < deadline, "the runner never noticed the new quota"
            await asyncio.sleep(0.05)  # a poll interval; the wait itself is bounded by the deadline
    finally:
        stop_runner(thread, stop)
        await pool.close()


def test_a_worker_does_not_trust_what_it_remembers_of_rows_another_worker_changed(infra, database_url):
    from infra.projection_batches import _peek, _step
    from infra.projection_specs import UNIT_COUNTERS

    story, street, kids = a_busy_street(infra)
    memo: dict = {}
    _step(infra, street.code, [UNIT_COUNTERS], 0, 20, memo)  # this worker remembers the children it met
    catch_up(infra, street.code, projections=[UNIT_COUNTERS], batch=7)  # another worker does the rest
    story.move(kids[1], street.other_grid)  # and more happens to a child this worker remembers
    story.visit(kids[1], "talk", date(2026, 10, 20))
    position = _peek(infra, f"t_{street.code}")[0][unit_counters.NAME]
    catch_up(infra, street.code, projections=[UNIT_COUNTERS], batch=1)
    story.visit(kids[1], "teacher_contact", date(2026, 10, 21))  # its first: the quota is met where it now is
    wrong_start = _peek(infra, f"t_{street.code}")[0][unit_counters.NAME]

    _step(infra, street.code, [UNIT_COUNTERS], wrong_start, 5, memo)  # resumes with a stale memory

    assert position < wrong_start
    catch_up(infra, street.code)  # the other projections too, for the comparison
    resumed = projection_state(database_url, street.code)
    rebuild(infra, street.code)
    assert resumed == projection_state(database_url, street.code)


def test_a_batch_with_nothing_for_a_worker_does_not_make_what_it_remembers_look_current(infra, database_url):
    from infra.projection_batches import _peek, _step
    from infra.projection_specs import UNIT_COUNTERS

    story, street, kids = a_busy_street(infra)
    memo: dict = {}
    _step(infra, street.code, [UNIT_COUNTERS], 0, 20, memo)  # this worker remembers the children it met
    story.move(kids[1], street.other_grid)  # another worker counts the move
    catch_up(infra, street.code, projections=[UNIT_COUNTERS])
    story.acknowledge(story.worry(kids[1], "high"))  # nothing the counters take: the worker only passes over it
    moved_on = _peek(infra, f"t_{street.code}")[0][unit_counters.NAME]
    _step(infra, street.code, [UNIT_COUNTERS], moved_on, 50, memo)
    story.visit(kids[1], "teacher_contact", date(2026, 10, 21))  # counted where the child is now

    _step(infra, street.code, [UNIT_COUNTERS], _peek(infra, f"t_{street.code}")[0][unit_counters.NAME], 50, memo)

    catch_up(infra, street.code)
    resumed = projection_state(database_url, street.code)
    rebuild(infra, street.code)
    assert resumed == projection_state(database_url, street.code)


def test_a_batch_another_worker_committed_first_counts_nothing_twice(infra, database_url):
    from infra.projection_batches import _peek, _step
    from infra.projection_specs import CHILD_REGISTER, UNIT_COUNTERS

    story, street, kids = a_busy_street(infra)
    catch_up(infra, street.code)  # another worker took every batch first
    before = projection_state(database_url, street.code)
    head = _peek(infra, f"t_{street.code}")[1]
    memo: dict = {}

    # This worker read the same events from 0: its one-round-trip claim fails, and the general way leaves it out.
    stood, _ = _step(infra, street.code, [CHILD_REGISTER, UNIT_COUNTERS], 0, 50, memo)

    assert stood == {CHILD_REGISTER.name: head, UNIT_COUNTERS.name: head}
    assert memo == {}  # nothing it wrote (and rolled back) is remembered
    assert projection_state(database_url, street.code) == before


def test_a_lane_that_remembers_where_it_stood_reads_on_and_a_stale_memory_counts_nothing_twice(infra, database_url):
    from infra.projection_batches import _peek, advance

    story, street, kids = a_busy_street(infra)
    stood: dict[str, int] = {}
    advance(infra, street.code, stood=stood)  # looked at the tracking rows: now it knows where it stands
    head = _peek(infra, f"t_{street.code}")[1]
    assert stood == {spec.name: head for spec in PROJECTIONS}
    story.visit(kids[0], "talk", date(2026, 10, 22))
    advance(infra, street.code, stood=stood)  # reads on from there, without looking
    assert set(stood.values()) == {_peek(infra, f"t_{street.code}")[1]}

    story.visit(kids[1], "letter", date(2026, 10, 23))
    catch_up(infra, street.code)  # another worker takes these batches
    counted = projection_state(database_url, street.code)
    stale = dict(stood)

    advance(infra, street.code, stood=stale)  # this one still thinks they stand before the letter

    assert stale == dict.fromkeys(stood, _peek(infra, f"t_{street.code}")[1])
    resumed = projection_state(database_url, street.code)
    assert resumed == counted
    rebuild(infra, street.code)
    assert resumed == projection_state(database_url, street.code)


def test_a_catch_up_that_reads_ahead_gives_exactly_the_rows_of_a_rebuild(infra, database_url, monkeypatch):
    import threading

    from infra import projection_batches
    from infra.projection_specs import CONCERN_QUEUE

    story, street, kids = a_busy_street(infra)
    catch_up(infra, street.code, batch=7)
    schema = f"t_{street.code}"
    with infra.datastore.get_connection() as conn, conn.transaction():  # the queue starts again from 0, alone
        CONCERN_QUEUE.reset(conn, street.code, schema)
        conn.execute(f"UPDATE {schema}.projection_tracking SET position = 0 WHERE projection = %s",
                     [CONCERN_QUEUE.name])
    story.visit(kids[3], "letter", date(2026, 10, 24))
    story.escalate(story.worry(kids[4], "high"))
    fetched_by: list[str] = []
    fetch = projection_batches._fetch

    def spied(*args, **kwargs):
        fetched_by.append(threading.current_thread().name)
        return fetch(*args, **kwargs)

    monkeypatch.setattr(projection_batches, "_fetch", spied)

    # The queue catches up alone, reading ahead, until it stands with the others: what it read ahead
    # then is not theirs (the group changed) and is dropped; then all of them go on together.
    catch_up(infra, street.code, batch=3)

    assert any(name.startswith("projection-read-ahead") for name in fetched_by)
    caught_up = projection_state(database_url, street.code)
    rebuild(infra, street.code)
    assert caught_up == projection_state(database_url, street.code)
