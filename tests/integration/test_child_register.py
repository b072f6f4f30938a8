"""The child register: a read model fed by each tenant's log, kept exactly once by one runner for all tenants."""

from __future__ import annotations

import asyncio

import dataclasses
import itertools
import os
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from domain.errors import NotFound
from infra.bootstrap import Infrastructure, connect
from infra.projection_runner import (CHILD_REGISTER, RunnerSettings, catch_up, parse_shard, rebuild, run_forever,
                                     serves)
from infra.read_models import create_read_pool, id_number_index, list_children, wait_for_position
from infra.register_rows import TABLES
from services.app import children, helpers, platform
from tests.builders import child_details
from tests.conftest import Street, make_street, platform_ctx, settings_for
from tests.integration.db_search import tables_containing
from tests.integration.killing import kill_mid_batch

_names = itertools.count(1)


def a_child(grid: str, **overrides: Any):
    """A valid registration whose name and address no other test's values contain (searches use substrings)."""
    n = next(_names)
    return child_details(grid, **{"name": f"登记册{n}号童", "address": f"登记路{n}号院", **overrides})


def register_state(database_url: str, tenant: str) -> dict[str, Any]:
    """Every row the register's tables hold for a tenant, and its tracking position."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        state = {t: conn.execute(f"SELECT * FROM t_{tenant}.{t} ORDER BY 1").fetchall() for t in TABLES}
        state["tracking"] = conn.execute(f"SELECT * FROM t_{tenant}.projection_tracking ORDER BY 1").fetchall()
    return state


def log_head(database_url: str, tenant: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT max(notification_id) FROM t_{tenant}.events").fetchone()[0]


async def listed(pool, street: Street, **filters: Any) -> list[dict[str, Any]]:
    query = {"scope": street.code, "unit": None, "status": None, "q": None, "id_index": None, "helper_id": None,
             "limit": 100, "cursor": None, **filters}
    return (await list_children(pool, tenant=street.code, **query))["items"]


def a_small_story(street: Street) -> dict[str, Any]:
    """Three children: one paired twice (one pair ended) and visited, one moved, one closed."""
    ctx = street.ctx()
    a = children.register_child(a_child(street.grid), ctx=ctx).id
    b = children.register_child(a_child(street.grid, gender="M", birth_date=date(2014, 2, 3)), ctx=ctx).id
    c = children.register_child(a_child(street.grid), ctx=ctx).id
    children.move_child(b, street.other_grid, ctx=ctx)
    children.close_child(c, "parent_returned", None, ctx=ctx)
    first = helpers.enrol_helper("赵敏", "teacher", None, street.community, ctx=ctx).id
    second = helpers.enrol_helper("钱芳", "caring_mother", None, street.community, ctx=ctx).id
    helpers.form_pair(a, first, date(2026, 9, 1), ctx=ctx)
    ended = helpers.form_pair(a, second, date(2026, 9, 2), ctx=ctx).id
    helpers.end_pair(ended, "帮扶人调动", date(2026, 10, 1), ctx=ctx)
    children.log_visit(a, "home_visit", date(2026, 10, 1), first, "一切正常", ctx=ctx)
    late = children.log_visit(a, "talk", date(2026, 11, 2), first, None, ctx=ctx).id
    children.correct_visit(a, late, kind=None, occurred_on=date(2026, 9, 15), notes=None, why="记错日期", ctx=ctx)
    return {"a": a, "b": b, "c": c, "first": first, "second": second}


async def test_registrations_moves_closures_pairs_and_visits_show_in_the_register(street, database_url, read_pool):
    story = a_small_story(street)

    assert catch_up(street.infra, street.code) == log_head(database_url, street.code)

    items = await listed(read_pool, street)
    assert [i["child_id"] for i in items] == [story["a"], story["b"], story["c"]]  # registration order
    a, b, c = items
    assert (a["status"], a["grid"], a["helper_ids"], a["last_contact_on"]) == (
        "open", street.grid, [story["first"]], date(2026, 10, 1))
    assert (b["grid"], b["community"], b["gender"], b["birth_date"]) == (
        street.other_grid, street.other_grid[:12], "M", date(2014, 2, 3))
    assert (c["status"], c["helper_ids"], c["last_contact_on"]) == ("closed", [], None)
    assert a["version"] == 6 and a["name"].startswith("登记册") and a["erased"] is False  # two pairs noted
    assert [i["child_id"] for i in await listed(read_pool, street, unit=street.community)] == [story["a"], story["c"]]
    assert [i["child_id"] for i in await listed(read_pool, street, unit=street.community, status="open")] == [
        story["a"]]
    assert [i["child_id"] for i in await listed(read_pool, street, unit=street.other_grid)] == [story["b"]]
    assert [i["child_id"] for i in await listed(read_pool, street, helper_id=story["first"])] == [story["a"]]
    assert await listed(read_pool, street, helper_id=story["second"]) == []
    assert [i["child_id"] for i in await listed(read_pool, street, q=b["name"][1:])] == [story["b"]]
    assert await listed(read_pool, street, q="%") == []


async def test_a_forgotten_child_keeps_its_row_but_no_name_address_or_id_index(street, database_url, read_pool):
    ctx = street.ctx()
    details = a_child(street.grid)
    child_id = children.register_child(details, ctx=ctx).id
    catch_up(street.infra, street.code)
    assert (await listed(read_pool, street))[0]["name"] == details.name

    children.forget_child(child_id, "监护人依法申请删除", ctx=ctx)
    catch_up(street.infra, street.code)

    row = register_state(database_url, street.code)["child_register"][0]
    assert (row["name"], row["address"], row["id_number_index"], row["erased"]) == (None, None, None, True)
    item = (await listed(read_pool, street))[0]
    assert (item["erased"], item["name"], item["gender"], item["birth_date"]) == (True, None, "F", details.birth_date)
    assert await listed(read_pool, street, id_index=id_number_index(street.infra.wrapper, street.code,
                                                                     details.id_number)) == []
    for value in (details.name, details.address, details.id_number):
        assert tables_containing(database_url, value) == [], value


async def test_an_exact_id_number_finds_its_child_by_blind_index_and_is_stored_nowhere(street, database_url,
                                                                                      read_pool):
    ctx = street.ctx()
    wanted, other = a_child(street.grid), a_child(street.grid)
    wanted_id = children.register_child(wanted, ctx=ctx).id
    children.register_child(other, ctx=ctx)
    corrected = a_child(street.grid).id_number  # same birth date and gender: a valid correction
    children.correct_child(wanted_id, {"id_number": corrected}, "户口本有误", ctx=ctx)
    catch_up(street.infra, street.code)

    def by_id(number: str):
        return listed(read_pool, street, id_index=id_number_index(street.infra.wrapper, street.code, number))

    assert [i["child_id"] for i in await by_id(corrected)] == [wanted_id]
    assert await by_id(wanted.id_number) == []
    assert len(await by_id(other.id_number)) == 1
    for value in (wanted.id_number, corrected, other.id_number):
        assert tables_containing(database_url, value) == [], value


async def test_pages_walk_every_child_once_and_a_unit_outside_the_scope_is_not_found(street, read_pool):
    ctx = street.ctx()
    registered = [children.register_child(a_child(street.grid), ctx=ctx).id for _ in range(5)]
    catch_up(street.infra, street.code)

    seen, cursor = [], None
    while True:
        page = await list_children(read_pool, tenant=street.code, scope=street.code, unit=None, status=None, q=None,
                                   id_index=None, helper_id=None, limit=2, cursor=cursor)
        seen += [i["child_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == registered
    other_community = street.other_grid[:12]
    with pytest.raises(NotFound):
        await listed(read_pool, street, scope=street.community, unit=other_community)
    assert await listed(read_pool, street, scope=other_community) == []


async def test_a_read_waits_for_min_position_and_gives_up_at_its_deadline(street, read_pool):
    position = children.register_child(a_child(street.grid), ctx=street.ctx()).position

    assert await wait_for_position(read_pool, street.code, "child_register", position, timeout=0.05) is False
    catch_up(street.infra, street.code)
    assert await wait_for_position(read_pool, street.code, "child_register", position, timeout=0.05) is True


def test_a_rebuild_gives_exactly_the_rows_incremental_processing_gave(street, database_url):
    ctx = street.ctx()
    story = a_small_story(street)
    catch_up(street.infra, street.code, batch=3)
    children.correct_child(story["b"], {"school": "三河小学", "name": "登记册更正名"}, None, ctx=ctx)
    children.reopen_child(story["c"], None, ctx=ctx)
    catch_up(street.infra, street.code, batch=2)
    children.forget_child(story["a"], "依法删除", ctx=ctx)
    catch_up(street.infra, street.code, batch=1)
    incremental = register_state(database_url, street.code)

    assert rebuild(street.infra, street.code) == log_head(database_url, street.code)

    assert register_state(database_url, street.code) == incremental


def test_a_batch_that_fails_before_commit_leaves_nothing_and_the_next_run_resumes(street, database_url):
    a_small_story(street)
    catch_up(street.infra, street.code, batch=4)
    a_small_story(street)
    before = register_state(database_url, street.code)
    applied = itertools.count()

    def crashing(event: Any, position: int, rows: Any) -> None:
        CHILD_REGISTER.apply(event, position, rows)
        if next(applied) == 2:
            raise RuntimeError("power cut after three rows were written")

    with pytest.raises(RuntimeError):
        catch_up(street.infra, street.code, projections=[dataclasses.replace(CHILD_REGISTER, apply=crashing)], batch=5)
    assert register_state(database_url, street.code) == before

    catch_up(street.infra, street.code, batch=5)
    resumed = register_state(database_url, street.code)
    rebuild(street.infra, street.code)
    assert resumed == register_state(database_url, street.code)


KILLABLE_RUNNER = """
import dataclasses
import sys
from infra import projection_runner as runner
from infra.bootstrap import connect
from infra.settings import load_settings
flushed = 0
def rows(batch):
    table = runner.CHILD_REGISTER.rows(batch)
    flush = table.flush
    def hanging():
        global flushed
        flush()
        flushed += 1
        if flushed == 3:  # the third batch of five has written its rows, uncommitted: say so, hang until killed
            print("mid-batch", flush=True)
            sys.stdin.read()
    table.flush = hanging
    return table
spec = dataclasses.replace(runner.CHILD_REGISTER, rows=rows)
runner.catch_up(connect(load_settings(), migrate=False), sys.argv[1], projections=[spec], batch=5)
"""


def test_a_runner_killed_mid_batch_resumes_with_no_gap_and_no_double_count(street, infra, database_url, tmp_path):
    for _ in range(3):
        a_small_story(street)
    kill_mid_batch(KILLABLE_RUNNER, street.code, infra, database_url, tmp_path, f"t_{street.code}.child_register")
    killed_at = register_state(database_url, street.code)["tracking"][0]["position"]
    assert 0 < killed_at < log_head(database_url, street.code)

    catch_up(infra, street.code)
    resumed = register_state(database_url, street.code)
    rebuild(infra, street.code)
    assert resumed == register_state(database_url, street.code)
    assert len(resumed["child_register"]) == 9


def test_each_tenant_is_served_by_exactly_one_shard():
    tenants = [f"150902{n:03d}" for n in range(1, 200)]
    shards = [parse_shard(f"{i}/3") for i in range(3)]
    assert all(sum(serves(t, s) for s in shards) == 1 for t in tenants)
    assert all(len([t for t in tenants if serves(t, s)]) > 40 for s in shards)
    with pytest.raises(ValueError):
        parse_shard("3/3")


@pytest.fixture
def own_database(server_url: str, tmp_path: Path) -> Iterator[Infrastructure]:
    """A database of its own: the runner serves every tenant there, and no other test sees its rows."""
    name = f"shouwang_runner_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    infra = connect(settings_for(psycopg.conninfo.make_conninfo(**{**info, "dbname": name}), tmp_path,
                                 pool_size=4, pool_overflow=4, tenant_cache_size=64))
    try:
        yield infra
    finally:
        infra.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_runner(infra: Infrastructure, **settings: Any) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(infra, stop, RunnerSettings(**settings)), daemon=True)
    thread.start()
    return thread, stop


def stop_runner(thread: threading.Thread, stop: threading.Event) -> None:
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


async def test_the_runner_picks_up_a_new_registration_when_notified(own_database):
    street = make_street(own_database)
    first = children.register_child(a_child(street.grid), ctx=street.ctx()).position
    pool = await create_read_pool(own_database.database_url, max_size=2)
    # The sweep runs once at start and then not for a minute: only a notification can wake the runner.
    thread, stop = start_runner(own_database, workers=2, sweep_seconds=60)
    try:
        assert await wait_for_position(pool, street.code, "child_register", first, timeout=10)
        second = children.register_child(a_child(street.grid), ctx=street.ctx()).position
        started = time.monotonic()
        assert await wait_for_position(pool, street.code, "child_register", second, timeout=5)
        assert time.monotonic() - started < 2
        assert len(await listed(pool, street)) == 2
    finally:
        stop_runner(thread, stop)
        await pool.close()


async def test_a_runner_given_some_projections_keeps_those_and_leaves_the_others_to_another_process(own_database):
    street = make_street(own_database)
    position = children.register_child(a_child(street.grid), ctx=street.ctx()).position
    pool = await create_read_pool(own_database.database_url, max_size=2)
    thread, stop = start_runner(own_database, workers=2, sweep_seconds=60, projections=("notifications",))
    try:
        assert await wait_for_position(pool, street.code, "notifications", position, timeout=10)
        assert not await wait_for_position(pool, street.code, "child_register", position, timeout=0.5)
    finally:
        stop_runner(thread, stop)
        await pool.close()


def test_the_projections_a_runner_keeps_are_read_from_its_environment_and_an_unknown_one_is_refused():
    assert RunnerSettings.from_env({}).projections is None
    assert RunnerSettings.from_env({"SHOUWANG_PROJECTIONS": "notifications, concern_queue"}).projections == (
        "notifications", "concern_queue")
    with pytest.raises(ValueError, match="unknown projection"):
        RunnerSettings.from_env({"SHOUWANG_PROJECTIONS": "notification"})


async def test_a_tenant_created_while_the_runner_runs_is_served_at_once(own_database):
    pool = await create_read_pool(own_database.database_url, max_size=2)
    thread, stop = start_runner(own_database, workers=2, sweep_seconds=60)  # no sweep for a minute
    try:
        await asyncio.sleep(0.5)  # the runner's first sweep has happened
        street = make_street(own_database)
        started = time.monotonic()
        first = children.register_child(a_child(street.grid), ctx=street.ctx()).position
        assert await wait_for_position(pool, street.code, "child_register", first, timeout=10)
        assert time.monotonic() - started < 3
    finally:
        stop_runner(thread, stop)
        await pool.close()


CROWD = 1000


def bare_street(infra: Infrastructure, code: str) -> Street:
    """A tenant with one community and one grid."""
    admin = platform_ctx(infra)
    platform.create_tenant(code, f"压测街道{code}", code[:6], "压测区", ctx=admin)
    platform.add_unit(code, code + "001", "社区", "community", code, ctx=admin)
    platform.add_unit(code, code + "00101", "网格", "grid", code + "001", ctx=admin)
    return Street(infra, code, code + "001", code + "00101", code + "00101")


def served_tenants(conn: psycopg.Connection, streets: list[Street]) -> int:
    """How many tenants' registers have taken their first event (a few schemas per query: few locks at once)."""
    served = 0
    for start in range(0, len(streets), 100):
        sql = " UNION ALL ".join(f"SELECT count(*) FROM t_{s.code}.projection_tracking"
                                 f" WHERE projection = 'child_register' AND position > 0"
                                 for s in streets[start:start + 100])
        served += conn.execute(f"SELECT sum(c) FROM ({sql}) AS t(c)").fetchone()[0]
    return served


def prepare_crowd(infra: Infrastructure) -> list[Street]:
    """CROWD tenants with one registered child each, made by four threads (the pool has eight connections)."""
    def prepare(n: int) -> Street:
        street = bare_street(infra, f"{159904 + n // 500}{n % 500 + 1:03d}")
        children.register_child(a_child(street.grid), ctx=street.ctx())
        return street

    with ThreadPoolExecutor(4) as executor:
        return list(executor.map(prepare, range(CROWD)))


def test_one_runner_serves_a_thousand_tenants_with_fixed_threads_and_connections(own_database):
    started = time.monotonic()
    streets = prepare_crowd(own_database)
    prepared_in = time.monotonic() - started
    threads_before = threading.active_count()
    thread, stop = start_runner(own_database, workers=4, sweep_seconds=30)
    peak_threads = peak_connections = served = 0
    try:
        with psycopg.connect(own_database.database_url, autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while served < CROWD and time.monotonic() < deadline:
                time.sleep(0.05)  # a poll interval; the wait itself is bounded by the deadline
                peak_threads = max(peak_threads, threading.active_count())
                peak_connections = max(peak_connections, conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0])
                served = served_tenants(conn, streets)
        served_in = time.monotonic() - started - prepared_in
    finally:
        stop_runner(thread, stop)
    print(f"\n{CROWD} tenants prepared in {prepared_in:.1f}s, all served in {served_in:.1f}s;"
          f" peak {peak_threads} threads, {peak_connections} connections")
    assert served == CROWD
    assert peak_threads <= threads_before + 1 + 4  # the runner's own thread and its four workers
    assert peak_connections <= 4 + 4 + 1 + 1  # the shared pool, the LISTEN connection, this test's own
