"""Catch-up speed of every projection beside raw keyset reads, and the district dashboard's latency.

    python -m bench.bench_projections [--database-url URL] [--events N] [--district-children N]

1. One street's log of at least `--events` realistic events (registrations, pairs, contacts in two
   semesters with corrections, aid, concerns, moves, closures) is recorded through the domain and
   `CaseLog.record`, many aggregates per transaction; then the events are vacuumed and a checkpoint
   taken, so neither side below shares the host with what recording left the database to do.
2. Catch-up: every projection the runner keeps (`infra.projection_specs.PROJECTIONS`: child register,
   unit counters, concern queue, and any added since) processes that log from position 0 with
   `catch_up`, as the runner would: events/s over the whole log.
   Beside it, the CPU each event cost: this process's (Python: reading, decoding, applying, sending) and
   the rest of the host's (on a quiet host, the database server's), from `/proc/stat`.
3. The runner's own read alone: the same batches read and decoded for every projection as `catch_up`
   reads them (psycopg, the log's mapper, domain event objects), nothing applied or written: what of
   the gap is the library's read path, and what is projecting.
4. Raw: asyncpg keyset reads of the same rows (`WHERE notification_id > $1 ORDER BY ... LIMIT 1000`)
   decoding every payload with msgspec (msgpack with the log's extension types). The ratio
   catch-up/raw is what projecting costs over merely reading the log; the goal is 0.25.
5. The other streets of the district are filled with lighter logs until the district holds at
   least `--district-children` children, caught up by two threads; then the district dashboard is
   read `--reads` times through `infra.dashboard_reads.dashboard`: p50, p95, p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import psycopg

from bench import caseload
from bench.bench_case_log import fresh_database, server
from infra.bootstrap import Infrastructure, connect
from infra.dashboard_reads import dashboard
from infra.migrations import migrate_all, schema_for
from infra.projection_batches import BATCH, _fetch
from infra.projection_runner import PROJECTIONS, catch_up, relax_gc
from infra.read_models import create_read_pool
from infra.settings import Settings
from infra.transcoder import _unpack_ext
from services.app import platform
from services.app.context import Context

GOAL = 0.25
DISTRICT = "150902"


def make_street(infra: Infrastructure, code: str, communities: int, grids: int) -> list[str]:
    """A tenant with its communities and grids, through the platform use cases; return its grids."""
    admin = Context(tenant=None, actor=uuid4(), role="platform_admin", scope=None, now=caseload.AT,
                    directory=infra.directory)
    platform.create_tenant(code, f"街道{code}", DISTRICT, "集宁区", ctx=admin)
    units = caseload.unit_codes(code, communities, grids)
    for unit, level, parent in units:
        infra.directory.add_unit(unit, f"{level}{unit[-3:]}", level, parent, code)
    return caseload.grids_of(units)


def fill(infra: Infrastructure, tenant: str, grids: list[str], children: int, profile: caseload.Profile,
         seed: int) -> tuple[int, float]:
    """Record `children` children's year in a tenant; return the log's head and the seconds it took."""
    started = time.monotonic()
    head = caseload.record(infra.logs[tenant], caseload.year(grids, children, profile, seed))
    return head, time.monotonic() - started


def settle(url: str, tenant: str) -> None:
    """Let the database finish what recording the log left it to do, before either side is timed.

    Otherwise autovacuum's pass over the new events and the checkpoint of their pages share the host's
    CPUs with the catch-up, which runs first, and not with the raw read, which runs after it.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {schema_for(tenant)}.events")
        conn.execute("CHECKPOINT")


def host_busy_seconds() -> float | None:
    """CPU seconds every CPU of the host has spent busy since boot (Linux `/proc/stat`), or None elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed_catch_up(infra: Infrastructure, tenant: str) -> tuple[int, float, float, float | None]:
    """`catch_up` of the tenant: the position reached, wall seconds, this process's CPU seconds, the rest of the host's."""
    host, cpu, started = host_busy_seconds(), time.process_time(), time.monotonic()
    reached = catch_up(infra, tenant)
    wall, cpu, host_after = time.monotonic() - started, time.process_time() - cpu, host_busy_seconds()
    return reached, wall, cpu, None if host is None or host_after is None else host_after - host - cpu


def runner_read(infra: Infrastructure, tenant: str) -> tuple[int, float, float]:
    """Read and decode the whole log in the runner's batches for every projection, writing nothing.

    Returns the events read, wall seconds and this process's CPU seconds.
    """
    cpu, started, position, count = time.process_time(), time.monotonic(), 0, 0
    while stored := _fetch(infra, tenant, PROJECTIONS, position, BATCH)[0]:
        count += len(stored)
        position = stored[-1][0]
    return count, time.monotonic() - started, time.process_time() - cpu


async def raw_read(url: str, tenant: str) -> tuple[int, float]:
    """Keyset-read every event of the tenant's log with asyncpg and decode each payload with msgspec."""
    pool = await create_read_pool(url, max_size=1)
    decoder = msgspec.msgpack.Decoder(ext_hook=_unpack_ext)
    sql = (f"SELECT notification_id, originator_id, originator_version, topic, state FROM {schema_for(tenant)}.events"
           " WHERE notification_id > $1 ORDER BY notification_id LIMIT 1000")
    try:
        async with pool.acquire() as conn:
            statement = await conn.prepare(sql)
            started, after, count = time.monotonic(), 0, 0
            while rows := await statement.fetch(after):
                for row in rows:
                    decoder.decode(row["state"])
                count += len(rows)
                after = rows[-1]["notification_id"]
            return count, time.monotonic() - started
    finally:
        await pool.close()


async def dashboard_latency(url: str, reads: int) -> tuple[list[float], dict[str, Any]]:
    """Milliseconds per read of the district dashboard (after a few warm-up reads), and the last answer."""
    pool = await create_read_pool(url, max_size=2)
    try:
        for _ in range(5):
            board = await dashboard(pool, DISTRICT, "district", "2026-autumn", now=caseload.AT)
        times = []
        for _ in range(reads):
            started = time.perf_counter()
            board = await dashboard(pool, DISTRICT, "district", "2026-autumn", now=caseload.AT)
            times.append((time.perf_counter() - started) * 1000)
        return times, board
    finally:
        await pool.close()


def run(url: str, events: int, district_children: int, reads: int) -> dict[str, Any]:
    migrate_all(url)
    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()), master_key=os.urandom(32),
                        broker_url=None, pool_size=4, pool_overflow=4, tenant_cache_size=64)
    infra = connect(settings, migrate=False)
    # The generator touches every child every week, far more subjects than a real street writes in a
    # day: let the write-side key cache hold them all, so recording is not a key lookup per event.
    infra.logs._keys._maxsize = 1_000_000
    try:
        main = f"{DISTRICT}001"
        grids = make_street(infra, main, 20, 5)
        children = int(events / 17.0) + 2
        head, recorded_in = fill(infra, main, grids, children, caseload.FULL, seed=1)
        while head < events:  # the mix is random: top up until the log is long enough
            more, seconds = fill(infra, main, grids, 1000, caseload.FULL, seed=head)
            head, recorded_in, children = more, recorded_in + seconds, children + 1000
        settle(url, main)
        relax_gc()  # as the runner's process does
        reached, caught_up_in, python_cpu, rest_cpu = timed_catch_up(infra, main)
        assert reached == head, (reached, head)
        read_rows, read_seconds, read_cpu = runner_read(infra, main)
        assert read_rows == head
        raw_rows, raw_seconds = asyncio.run(raw_read(url, main))
        assert raw_rows == head

        others, per_street = [], 10_000
        remaining = max(0, district_children - children)
        for n in range(2, 2 + -(-remaining // per_street)):
            others.append((f"{DISTRICT}{n:03d}", make_street(infra, f"{DISTRICT}{n:03d}", 25, 6)))
        started = time.monotonic()
        filled = 0
        for code, street_grids in others:
            count = min(per_street, remaining - filled)
            fill(infra, code, street_grids, count, caseload.LIGHT, seed=int(code))
            filled += count
        district_recorded_in = time.monotonic() - started
        started = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda street: catch_up(infra, street[0]), others))
        district_caught_up_in = time.monotonic() - started
    finally:
        infra.close()
    times, board = asyncio.run(dashboard_latency(url, reads))
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        counter_rows = conn.execute("SELECT (SELECT count(*) FROM rollup.grid_children) +"
                                    " (SELECT count(*) FROM rollup.grid_semester WHERE semester = '2026-autumn')"
                                    ).fetchone()[0]  # type: ignore[index]
    quantiles = statistics.quantiles(times, n=100)
    catch_up_rate, raw_rate = head / caught_up_in, raw_rows / raw_seconds
    budget = 1e6 / (GOAL * raw_rate)  # µs of wall time per event the goal allows
    return {
        "server_version": version, "cpus": os.cpu_count(), "projections": [p.name for p in PROJECTIONS],
        "events": head, "children_main": children,
        "recorded_in_s": round(recorded_in, 1), "catch_up_s": round(caught_up_in, 1),
        "catch_up_events_per_s": round(catch_up_rate), "raw_events_per_s": round(raw_rate),
        "ratio": round(catch_up_rate / raw_rate, 3), "goal": GOAL,
        "catch_up_python_cpu_us": round(python_cpu * 1e6 / head, 1),
        "catch_up_rest_cpu_us": None if rest_cpu is None else round(rest_cpu * 1e6 / head, 1),
        "goal_wall_us": round(budget, 1), "runner_read_events_per_s": round(read_rows / read_seconds),
        "runner_read_ratio": round(read_rows / read_seconds / raw_rate, 3),
        "runner_read_python_cpu_us": round(read_cpu * 1e6 / head, 1),
        "district_streets": 1 + len(others), "district_children": board["children_open"] + board["children_closed"],
        "district_counter_rows": counter_rows, "district_filled_in_s": round(district_recorded_in, 1),
        "district_caught_up_in_s": round(district_caught_up_in, 1), "dashboard_reads": reads,
        "dashboard_p50_ms": round(quantiles[49], 2), "dashboard_p95_ms": round(quantiles[94], 2),
        "dashboard_p99_ms": round(quantiles[98], 2),
    }


def report(r: dict[str, Any]) -> None:
    verdict = "ok" if r["ratio"] >= GOAL else "BELOW GOAL"
    print(f"PostgreSQL {r['server_version']}, {r['cpus']} CPUs")
    print(f"tenant log: {r['events']:,} events for {r['children_main']:,} children, recorded in {r['recorded_in_s']} s")
    print(f"projections: {', '.join(r['projections'])}")
    print(f"{'catch-up, all projections':<34}{r['catch_up_events_per_s']:>12,} events/s  ({r['catch_up_s']} s)")
    rest = "n/a" if r["catch_up_rest_cpu_us"] is None else f"{r['catch_up_rest_cpu_us']} µs"
    print(f"{'  CPU per event':<34}Python {r['catch_up_python_cpu_us']} µs, rest of the host {rest}"
          f" (the goal allows {r['goal_wall_us']} µs of wall time per event, {r['cpus']} CPUs)")
    print(f"{'runner read + decode, no writes':<34}{r['runner_read_events_per_s']:>12,} events/s"
          f"  (ratio {r['runner_read_ratio']}; Python {r['runner_read_python_cpu_us']} µs per event)")
    print(f"{'raw asyncpg keyset read + msgspec':<34}{r['raw_events_per_s']:>12,} events/s")
    print(f"{'ratio':<34}{r['ratio']:>12.3f}  goal {GOAL}: {verdict}")
    print(f"district: {r['district_streets']} streets, {r['district_children']:,} children,"
          f" {r['district_counter_rows']:,} counter rows read per dashboard"
          f" (filled in {r['district_filled_in_s']} s, caught up in {r['district_caught_up_in_s']} s)")
    print(f"district dashboard over {r['dashboard_reads']} reads: p50 {r['dashboard_p50_ms']} ms,"
          f" p95 {r['dashboard_p95_ms']} ms, p99 {r['dashboard_p99_ms']} ms")
    print(json.dumps(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (a fresh database is created on it); default DATABASE_URL, else embedded")
    parser.add_argument("--events", type=int, default=500_000, help="length of the street's log to catch up on")
    parser.add_argument("--district-children", type=int, default=200_000, help="children in the whole district")
    parser.add_argument("--reads", type=int, default=200, help="district dashboard reads to time")
    args = parser.parse_args()
    with server(args.database_url) as server_url, fresh_database(server_url) as url:
        report(run(url, args.events, args.district_children, args.reads))


if __name__ == "__main__":
    main()
