"""Audit at scale (issue 6): verify a 1,000,000-event tenant chain; replay a child with 1,000 events.

    python -m bench.bench_audit [--database-url URL] [--events N] [--child-events N] [--repeat N]

Build: one tenant's log is filled through `CaseLog.record`, many aggregates per call (20 children of
50 events each, plus one more visit of the "long" child), so every event goes through the real domain,
the sealing mapper and `record_events()`, and the hash-chain trigger runs on every row. The long
child's 1,000 events are spread through the whole log, one per call, as a real child's would be.

Then, each beside raw asyncpg reading the same rows in the same run:
- `CaseLog.verify()` over the whole chain, against a keyset read of every row, all columns
  (and, for information, that read plus the chain recomputed in Python: the floor of a Python verifier);
- `CaseLog.about(child)` (the history) and `CaseLog.load(Child, child)` (the aggregate), against
  reading the child's 1,000 rows by subject and by stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench.bench_case_log import fresh_database, make_tenants, registrations, server
from domain.child import Child
from domain.events import Stamp
from infra.bootstrap import connect
from infra.caselog import CaseLog
from infra.chain import GENESIS, digest, link, micros
from infra.migrations import migrate_all, schema_for
from infra.settings import Settings

STREAM = 50  # events per other child: a registration and 49 visits (streams are 20-100 events a year)
BATCH = 5000  # rows per keyset page, as verify() reads them
NOTE = "孩子学习认真，奶奶身体尚可"  # visit notes are personal: sealed with the child's key, like real ones
COLUMNS = "notification_id, originator_id, originator_version, topic, state, subject_id, recorded_at, digest, hash"


def build(log: CaseLog, grid: str, events: int, child_events: int) -> tuple[UUID, int, float]:
    """Fill the log; return the long child's id, the events written and the seconds it took."""
    details = registrations(grid, 500)
    now = datetime.now(UTC)
    stamp = Stamp.of(str(uuid4()), now, now.date())
    calls = child_events - 1  # the long child's registration goes alone, then one visit per call
    children = round((events - child_events) / STREAM)  # spread evenly over the calls (20 each by default)
    started = time.perf_counter()
    long_child = Child.register(uuid4(), details[0], stamp=stamp)
    log.record(long_child)
    written, n = 1, 0
    for call in range(calls):
        others = []
        for _ in range(children * (call + 1) // calls - children * call // calls):
            child = Child.register(uuid4(), details[n % len(details)], stamp=stamp)
            for _ in range(STREAM - 1):
                child.log_visit(uuid4(), "home_visit", None, NOTE, stamp=stamp)
            others.append(child)
            n += 1
        # The long child's visit goes in the middle of the call's rows, among other children's.
        long_child.log_visit(uuid4(), "home_visit", None, NOTE, stamp=stamp)
        half = len(others) // 2
        log.record(*others[:half], long_child, *others[half:])
        written += len(others) * STREAM + 1
    return long_child.id, written, time.perf_counter() - started


async def connect_raw(url: str) -> asyncpg.Connection:
    info = conninfo_to_dict(url)
    kwargs = {k: info[k] for k in ("host", "user", "password") if info.get(k)}
    return await asyncpg.connect(database=info["dbname"], port=int(info.get("port") or 5432), **kwargs)


async def raw_scan(url: str, schema: str, recompute: bool) -> tuple[int, float]:
    """Keyset read of every row, all columns, in pages like verify(); optionally recompute the chain."""
    conn = await connect_raw(url)
    query = f"SELECT {COLUMNS} FROM {schema}.events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2"
    try:
        started, after, rows, previous = time.perf_counter(), 0, 0, GENESIS
        while True:
            page = await conn.fetch(query, after, BATCH)
            if recompute:
                for r in page:
                    previous = link(previous, digest(r[0], r[1], r[2], r[3], r[4], r[5], micros(r[6])))
                    assert previous == r[8], f"chain broken at {r[0]}"
            rows += len(page)
            if len(page) < BATCH:
                return rows, time.perf_counter() - started
            after = page[-1][0]
    finally:
        await conn.close()


async def raw_child(url: str, schema: str, child: UUID, column: str, order: str, repeat: int) -> float:
    """Median seconds to read one child's rows (all columns, joined to its key like the library)."""
    conn = await connect_raw(url)
    query = (f"SELECT e.*, k.wrapped_key FROM {schema}.events e LEFT JOIN {schema}.subject_keys k"
             f" ON k.subject_id = e.subject_id WHERE e.{column} = $1 ORDER BY e.{order}")
    try:
        await conn.fetch(query, child)  # prepares the statement and warms the cache, like the library's first call
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            await conn.fetch(query, child)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        await conn.close()


def median_time(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = call()  # warm: prepared statements, key cache, buffers
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(url: str, events: int, child_events: int, repeat: int) -> dict[str, Any]:
    migrate_all(url)
    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()), master_key=secrets.token_bytes(32),
                        broker_url=None, pool_size=2, pool_overflow=2, tenant_cache_size=8)
    infra = connect(settings, migrate=False)
    try:
        tenant = make_tenants(infra, 1)[0]
        schema, log = schema_for(tenant), infra.logs[tenant]
        child, written, build_s = build(log, tenant + "00101", events, child_events)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"VACUUM ANALYZE {schema}.events")  # as autovacuum would soon: visibility map, stats
            size = conn.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{schema}.events'))"
                                ).fetchone()[0]  # type: ignore[index]
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        asyncio.run(raw_scan(url, schema, recompute=False))  # untimed: the same buffers for both sides
        started = time.perf_counter()
        verified = log.verify()
        verify_s = time.perf_counter() - started
        assert verified["ok"] and verified["events_checked"] == written, verified
        scanned, raw_s = asyncio.run(raw_scan(url, schema, recompute=False))
        _, floor_s = asyncio.run(raw_scan(url, schema, recompute=True))
        about_s, history = median_time(lambda: log.about(child), repeat)
        load_s, aggregate = median_time(lambda: log.load(Child, child), repeat)
        assert len(history) == child_events and aggregate.version == child_events
        raw_about_s = asyncio.run(raw_child(url, schema, child, "subject_id", "notification_id", repeat))
        raw_load_s = asyncio.run(raw_child(url, schema, child, "originator_id", "originator_version", repeat))
    finally:
        infra.close()
    return {
        "events": written, "child_events": child_events, "table_size": size, "server_version": version,
        "cpus": os.cpu_count(), "build_s": round(build_s, 1), "build_per_s": round(written / build_s),
        "verify_s": round(verify_s, 2), "raw_scan_s": round(raw_s, 2), "raw_scan_rows": scanned,
        "raw_scan_recompute_s": round(floor_s, 2), "verify_ratio": round(raw_s / verify_s, 3),
        "about_ms": round(about_s * 1000, 1), "raw_about_ms": round(raw_about_s * 1000, 1),
        "about_ratio": round(raw_about_s / about_s, 3), "load_ms": round(load_s * 1000, 1),
        "raw_load_ms": round(raw_load_s * 1000, 1), "load_ratio": round(raw_load_s / load_s, 3), "repeat": repeat,
    }


def report(r: dict[str, Any]) -> None:
    print(f"PostgreSQL {r['server_version']}, {r['cpus']} CPUs; one tenant log of {r['events']:,} events"
          f" ({r['table_size']}), built in {r['build_s']:g} s = {r['build_per_s']:,} events/s through CaseLog.record")
    print(f"{'case':<40}{'library':>12}{'raw asyncpg':>13}{'ratio':>8}  (ratio = raw time / library time)")
    n = r["events"]
    print(f"{'verify whole chain':<40}{r['verify_s']:>10.2f} s{r['raw_scan_s']:>11.2f} s{r['verify_ratio']:>8.3f}")
    print(f"{'  rows/s':<40}{n / r['verify_s']:>12,.0f}{n / r['raw_scan_s']:>13,.0f}")
    print(f"{'  raw read + chain in Python (info)':<40}{'-':>12}{r['raw_scan_recompute_s']:>11.2f} s")
    history, load = (f"history of one child, {r['child_events']:,} events",
                     f"load Child with {r['child_events']:,} events")
    print(f"{history:<40}{r['about_ms']:>9.1f} ms{r['raw_about_ms']:>10.1f} ms{r['about_ratio']:>8.3f}")
    print(f"{load:<40}{r['load_ms']:>9.1f} ms{r['raw_load_ms']:>10.1f} ms{r['load_ratio']:>8.3f}")
    print(f"(child figures: median of {r['repeat']} runs after one warm-up)")
    print(json.dumps(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (a fresh database is created on it); default DATABASE_URL, else embedded")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the tenant's log")
    parser.add_argument("--child-events", type=int, default=1_000, help="events of the replayed child")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each child replay (median)")
    args = parser.parse_args()
    with server(args.database_url) as server_url, fresh_database(server_url) as url:
        report(run(url, args.events, args.child_events, args.repeat))


if __name__ == "__main__":
    main()
