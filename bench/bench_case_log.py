"""Write throughput of the case log next to the raw PostgreSQL limit, on one fresh database.

    python -m bench.bench_case_log [--database-url URL] [--seconds N] [--warmup N] [--rounds N]

Library: `register_child` (the real use case: scope check, domain event, sealing mapper,
`record_events()` round trip), one event per transaction. Raw: asyncpg autocommit single-row
INSERTs into tables shaped like a tenant's `events` table, with a payload as large as a real
stored registration. The ratio library/raw is what the write path costs over the database itself.
Each figure gets `--seconds` in all, in `--rounds` slices that alternate with the figures it is
compared with, so a swing in the host's load (other processes, disk) weighs on both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.child import Child, ChildDetails, Guardian, Parent
from domain.identity import make_id_number
from infra.bootstrap import Infrastructure, connect
from infra.migrations import migrate_all, schema_for
from infra.settings import Settings
from services.app import platform
from services.app.children import register_child
from services.app.context import Context

GOAL = 0.35  # library/raw we aim for
WRITERS = 8
DISTRICT = "150902"
TOPIC = Child.Registered.TOPIC

RAW_TABLE = """
    CREATE TABLE {name} (
        originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text NOT NULL,
        state bytea NOT NULL, notification_id bigserial NOT NULL, subject_id uuid,
        recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (originator_id, originator_version));
    CREATE UNIQUE INDEX ON {name} (notification_id);
"""


@contextmanager
def server(url: str | None) -> Iterator[str]:
    """The given server, else an embedded one in a temporary folder (stopped and removed afterwards)."""
    if url:
        yield url
        return
    from infra.embedded import EmbeddedPostgres

    folder = Path(tempfile.mkdtemp(prefix="shouwang-bench-"))
    embedded = EmbeddedPostgres(folder)
    try:
        yield embedded.start()
    finally:
        embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A database of our own, so earlier data and other users' tables cannot skew the figures."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield make_conninfo(server_url, dbname=name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


Load = Callable[[float], tuple[int, float]]  # run for about N seconds; return (operations, seconds taken)


def in_threads(work: Callable[[int, float], int], threads: int, seconds: float) -> tuple[int, float]:
    """Run `work(index, deadline)` in `threads` threads started together; return (operations, elapsed)."""
    start = time.monotonic() + 0.05  # every thread is running before the clock starts
    counts, errors = [0] * threads, []

    def body(i: int) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        try:
            counts[i] = work(i, start + seconds)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    running = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    if errors:
        raise errors[0]
    # The last operation of each thread ends after the deadline: count the real elapsed time.
    return sum(counts), time.monotonic() - start


def measure(loads: dict[str, Load], seconds: float, warmup: float, rounds: int) -> dict[str, float]:
    """Operations per second of each load, run for `seconds` in all in `rounds` alternating slices."""
    for load in loads.values():
        load(warmup)  # fills pools, prepares statements, warms caches
    done, spent = dict.fromkeys(loads, 0), dict.fromkeys(loads, 0.0)
    for _ in range(rounds):
        for name, load in loads.items():
            count, elapsed = load(seconds / rounds)
            done[name] += count
            spent[name] += elapsed
    return {name: done[name] / spent[name] for name in loads}


def make_tenants(infra: Infrastructure, count: int) -> list[str]:
    """Tenants with one community and one grid each, made through the platform use cases."""
    admin = Context(tenant=None, actor=uuid4(), role="platform_admin", scope=None, now=datetime.now(UTC),
                    directory=infra.directory)
    codes = []
    for n in range(1, count + 1):
        code = f"{DISTRICT}{n:03d}"
        platform.create_tenant(code, f"压测街道{n}", DISTRICT, "集宁区", ctx=admin)
        platform.add_unit(code, code + "001", "社区001", "community", code, ctx=admin)
        platform.add_unit(code, code + "00101", "001社区1号网格", "grid", code + "001", ctx=admin)
        codes.append(code)
    return codes


def registrations(grid: str, count: int = 500) -> list[ChildDetails]:
    """Valid, realistic registrations, built before timing so only the use case is measured."""
    birth = date(datetime.now(UTC).year - 9, 5, 12)
    return [ChildDetails(
        name=f"王小花{n}", gender="F", birth_date=birth, grid=grid, reason="both_parents_away",
        id_number=make_id_number(DISTRICT, birth, n % 500, "F"), school="集宁区第一小学", class_name="三年级二班",
        address=f"白沙关村{n}号",
        guardian=Guardian(name="李桂兰", relation="paternal_grandparent", phone=f"139{n:08d}", birth_year=1958,
                          health="高血压"),
        parents=(Parent(relation="father", name="王建国", work_place="广东省东莞市", phone=f"138{n:08d}"),
                 Parent(relation="mother", name="张丽", work_place="浙江省宁波市", phone=f"137{n:08d}")),
    ) for n in range(count)]


def library_load(infra: Infrastructure, tenants: list[str]) -> Load:
    """Registrations, one thread per tenant, each registration its own transaction."""
    contexts = [Context(tenant=t, actor=uuid4(), role="tenant_admin", scope=t, now=datetime.now(UTC),
                        directory=infra.directory, log=infra.logs[t]) for t in tenants]
    details = [registrations(t + "00101") for t in tenants]

    def work(i: int, deadline: float) -> int:
        done = 0
        while time.monotonic() < deadline:
            register_child(details[i][done % len(details[i])], ctx=contexts[i])
            done += 1
        return done

    return lambda seconds: in_threads(work, len(tenants), seconds)


def stored_payload_size(url: str, tenant: str) -> int:
    """Mean size of the stored registrations (msgpack state with the sealed personal fields)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT avg(octet_length(state))::int FROM {schema_for(tenant)}.events"
                           " WHERE topic = %s", [TOPIC]).fetchone()
    assert row and row[0], "no registration was recorded"
    return int(row[0])


class RawWriters:
    """Autocommit single-row INSERTs with asyncpg, one connection per entry of `tables`, on our own loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, url: str, tables: list[str], payload: bytes) -> None:
        info: dict[str, Any] = conninfo_to_dict(url)
        kwargs = {k: info[k] for k in ("host", "user", "password") if info.get(k)}
        self._loop, self._tables, self._payload = loop, tables, payload
        self._conns = [loop.run_until_complete(asyncpg.connect(
            database=info["dbname"], port=int(info.get("port") or 5432), **kwargs)) for _ in tables]

    async def _write(self, conn: asyncpg.Connection, table: str, deadline: float) -> int:
        sql = (f"INSERT INTO {table} (originator_id, originator_version, topic, state, subject_id)"
               " VALUES ($1, $2, $3, $4, $1)")  # asyncpg prepares and caches it on first use
        done = 0
        while time.monotonic() < deadline:
            await conn.execute(sql, uuid4(), 1, TOPIC, self._payload)
            done += 1
        return done

    async def _run(self, seconds: float) -> tuple[int, float]:
        start = time.monotonic()
        counts = await asyncio.gather(*(self._write(c, t, start + seconds)
                                        for c, t in zip(self._conns, self._tables, strict=True)))
        return sum(counts), time.monotonic() - start

    def __call__(self, seconds: float) -> tuple[int, float]:
        return self._loop.run_until_complete(self._run(seconds))

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(c.close() for c in self._conns))

        self._loop.run_until_complete(close_all())


def make_raw_tables(url: str, count: int) -> list[str]:
    names = [f"raw.events_{i}" for i in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA raw")
        for name in names:
            conn.execute(RAW_TABLE.format(name=name))
    return names


def run(database_url: str, seconds: float, warmup: float, rounds: int) -> dict[str, Any]:
    migrate_all(database_url)
    settings = Settings(database_url=database_url, data_dir=Path(tempfile.gettempdir()),
                        master_key=secrets.token_bytes(32), broker_url=None,
                        pool_size=WRITERS, pool_overflow=WRITERS, tenant_cache_size=64)  # a connection per writer
    infra = connect(settings, migrate=False)
    loop = asyncio.new_event_loop()
    raw: list[RawWriters] = []
    try:
        tenants = make_tenants(infra, WRITERS)
        lib_1, lib_8 = library_load(infra, tenants[:1]), library_load(infra, tenants)
        lib_1(warmup)  # real registrations, to size the raw payload on
        size = stored_payload_size(database_url, tenants[0])
        payload = os.urandom(size)  # sealed data is incompressible, so random bytes stand in fairly
        tables = make_raw_tables(database_url, WRITERS + 2)
        raw = [RawWriters(loop, database_url, tables[:1], payload),
               RawWriters(loop, database_url, tables[1:WRITERS + 1], payload),  # a table per tenant
               RawWriters(loop, database_url, [tables[-1]] * WRITERS, payload)]
        one = measure({"library": lib_1, "raw": raw[0]}, seconds, warmup, rounds)
        eight = measure({"library": lib_8, "raw": raw[1], "raw_one_table": raw[2]}, seconds, warmup, rounds)
    finally:
        for writers in raw:
            writers.close()
        loop.close()
        infra.close()
    with psycopg.connect(database_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return {
        "seconds": seconds, "rounds": rounds, "payload_bytes": size, "cpus": os.cpu_count(),
        "server_version": version,
        "library_1": round(one["library"], 1), "raw_1": round(one["raw"], 1),
        "ratio_1": round(one["library"] / one["raw"], 3),
        "library_8": round(eight["library"], 1), "raw_8": round(eight["raw"], 1),
        "ratio_8": round(eight["library"] / eight["raw"], 3),
        "raw_8_one_table": round(eight["raw_one_table"], 1), "goal": GOAL,
    }


def report(r: dict[str, Any]) -> None:
    def verdict(ratio: float) -> str:
        return "ok" if ratio >= GOAL else "BELOW GOAL"

    print(f"PostgreSQL {r['server_version']}, {r['cpus']} CPUs, {r['seconds']:g} s per figure"
          f" in {r['rounds']} slices, stored registration {r['payload_bytes']} bytes")
    print(f"{'case':<28}{'library ev/s':>14}{'raw ev/s':>11}{'ratio':>8}  goal {GOAL}")
    print(f"{'1 writer, 1 tenant':<28}{r['library_1']:>14,.0f}{r['raw_1']:>11,.0f}{r['ratio_1']:>8.2f}"
          f"  {verdict(r['ratio_1'])}")
    print(f"{f'{WRITERS} writers, {WRITERS} tenants':<28}{r['library_8']:>14,.0f}{r['raw_8']:>11,.0f}"
          f"{r['ratio_8']:>8.2f}  {verdict(r['ratio_8'])}")
    print(f"{f'{WRITERS} conns, 1 table (info)':<28}{'-':>14}{r['raw_8_one_table']:>11,.0f}")
    print(json.dumps(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (a fresh database is created on it); default DATABASE_URL, else embedded")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed duration of each figure")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed run before each figure")
    parser.add_argument("--rounds", type=int, default=5, help="alternating slices each figure is timed in")
    args = parser.parse_args()
    with server(args.database_url) as server_url, fresh_database(server_url) as url:
        report(run(url, args.seconds, args.warmup, max(1, args.rounds)))


if __name__ == "__main__":
    main()
