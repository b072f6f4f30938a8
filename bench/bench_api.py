"""HTTP write throughput of one `shouwang serve` process next to raw asyncpg INSERTs (issue 3).

    python -m bench.bench_api [--database-url URL] [--seconds N] [--warmup N]

One server process (a subprocess, as deployed) serves 4 tenants. 16 clients, 4 per tenant, each on
its own keep-alive HTTP/1.1 connection, POST visits as the tenant's grid worker, every request with
its own Idempotency-Key. Two cases:

- "1 child per tenant" (the issue's wording): a tenant's 4 clients write to the same child, so
  concurrent writes conflict on the child's stream and the server reloads and retries them;
- "1 child per client" (16 children): no stream conflicts, only each tenant's table lock.

Raw: 16 asyncpg connections doing autocommit single-row INSERTs into 4 tables (one per tenant, 4
connections each) with the columns and indexes of a tenant's `events` table and a payload as large
as a stored visit, for the same duration. The ratio API/raw is what serving over HTTP costs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench.bench_case_log import fresh_database, make_tenants, registrations, server
from infra.bootstrap import connect
from infra.migrations import migrate_all, schema_for
from infra.settings import Settings
from services.app import platform
from services.app.children import register_child
from services.app.context import Context
from tests.serving import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
TENANTS, PER_TENANT = 4, 4
PASSWORD = "bench password 1"
TOPIC = "shouwang:child:visit-logged"
RAW_TABLE = """
    CREATE TABLE {name} (
        originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text NOT NULL,
        state bytea NOT NULL, notification_id bigserial NOT NULL, subject_id uuid,
        recorded_at timestamptz NOT NULL DEFAULT now(), digest bytea, hash bytea,
        PRIMARY KEY (originator_id, originator_version));
    CREATE UNIQUE INDEX ON {name} (notification_id);
    CREATE INDEX ON {name} (subject_id, notification_id) WHERE subject_id IS NOT NULL;
"""


@dataclass
class Run:
    """What one timed run saw: latencies (s) and completion times, errors, CPU used."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    client_cpu: float = 0.0  # cores the load generator used (it shares the host)
    server_cpu: float = 0.0  # cores the server process used
    rollbacks: int = 0  # rolled-back transactions in the database: failed writes, i.e. stream conflicts
    stream_end: float | None = None  # events per written child at the end: every write folds the whole stream

    def figures(self) -> dict[str, Any]:
        q = statistics.quantiles(self.latencies, n=100)
        quarter = self.seconds / 4  # a drop from the first quarter to the last means streams grew costly
        first = sum(t < quarter for t in self.done_at) / quarter
        last = sum(t >= 3 * quarter for t in self.done_at) / quarter
        return {"requests": len(self.latencies), "per_s": round(len(self.latencies) / self.seconds, 1),
                "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2), "errors": len(self.errors),
                "rollbacks": self.rollbacks, "last_vs_first_quarter": round(last / first, 2) if first else None,
                "client_cpu": round(self.client_cpu, 2), "server_cpu": round(self.server_cpu, 2),
                "stream_end": self.stream_end}


def prepare(url: str, master_key: bytes) -> dict[str, Any]:
    """Tenants, a grid worker each and 5 children per tenant, made in-process with the server's key."""
    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()), master_key=master_key,
                        broker_url=None, pool_size=2, pool_overflow=2, tenant_cache_size=64)
    infra = connect(settings, migrate=False)
    try:
        tenants: dict[str, Any] = {}
        for code in make_tenants(infra, TENANTS):
            ctx = Context(tenant=code, actor=uuid4(), role="tenant_admin", scope=code, now=datetime.now(UTC),
                          directory=infra.directory, log=infra.logs[code])
            grid = code + "00101"
            platform.create_user(f"worker.{code}", PASSWORD, "网格员", "grid_worker", grid, tenant=code, ctx=ctx)
            # One child for the shared case, PER_TENANT others so each case starts from 1-event streams.
            children = [register_child(d, ctx=ctx).id for d in registrations(grid, 1 + PER_TENANT)]
            tenants[code] = {"user": f"worker.{code}", "children": children}
        return tenants
    finally:
        infra.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stream_length(url: str, targets: list[tuple[str, str, UUID]]) -> float:
    """Mean number of events on the streams the clients wrote to."""
    with psycopg.connect(url) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {schema_for(tenant)}.events WHERE originator_id = %s",
                               [child]).fetchone()[0] for tenant, child in {(t, c) for _, t, c in targets}]
    return round(sum(counts) / len(counts), 1)  # type: ignore[arg-type]


def rolled_back(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()")
                   .fetchone()[0])  # type: ignore[index]


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for `/health` (60 s at most); the server's log in the error if it never answers."""
    async with httpx.AsyncClient(base_url=base) as http:
        try:
            await wait_until_healthy(http, proc)
        except AssertionError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}") from None


async def load(base: str, targets: list[tuple[str, str, UUID]], seconds: float, warmup: float,
               pid: int, url: str) -> Run:
    """Each target (token, tenant, child) is one client on its own connection; untimed warm-up first."""
    body = {"kind": "home_visit", "occurred_on": datetime.now(UTC).date().isoformat(), "notes": "孩子学习认真，奶奶身体尚可"}
    run = Run(seconds=seconds)
    clients = [httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=1),
                                 headers={"Authorization": f"Bearer {token}"}) for token, _, _ in targets]

    async def client(http: httpx.AsyncClient, path: str, start: float, deadline: float, timed: bool) -> None:
        while (now := time.perf_counter()) < deadline:
            try:
                response = await http.post(path, json=body, headers={"Idempotency-Key": uuid4().hex})
                ok, what = response.is_success, f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as e:
                ok, what = False, repr(e)
            if timed:
                end = time.perf_counter()
                run.latencies.append(end - now)
                run.done_at.append(end - start)
                if not ok:
                    run.errors.append(what)

    async def phase(duration: float, timed: bool) -> None:
        start = time.perf_counter()
        await asyncio.gather(*(client(http, f"/api/v1/t/{tenant}/children/{child}/visits", start,
                                      start + duration, timed) for http, (_, tenant, child) in zip(clients, targets)))

    try:
        await phase(warmup, timed=False)  # connections, prepared statements, key and tenant caches
        await asyncio.sleep(1.5)  # let every server backend report its statistics before we read them
        rollbacks, cpu, server_cpu, start = rolled_back(url), time.process_time(), cpu_seconds(pid), time.perf_counter()
        await phase(seconds, timed=True)
        elapsed = time.perf_counter() - start
        run.client_cpu = (time.process_time() - cpu) / elapsed
        run.server_cpu = (cpu_seconds(pid) - server_cpu) / elapsed
        await asyncio.sleep(1.5)
        run.rollbacks, run.stream_end = rolled_back(url) - rollbacks, stream_length(url, targets)
        return run
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))


async def api_runs(url: str, tenants: dict[str, Any], master_key: bytes, seconds: float,
                   warmup: float) -> dict[str, Run]:
    """Start one server, log in each tenant's worker, run both cases; the server is always stopped."""
    port, data = free_port(), Path(tempfile.mkdtemp(prefix="shouwang-bench-api-"))
    env = {**os.environ, "DATABASE_URL": url, "SHOUWANG_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
           "SHOUWANG_MASTER_KEY": base64.b64encode(master_key).decode()}
    log = data / "server.log"
    with log.open("wb") as out:  # a file, not a pipe: the access log must never block the server
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc, log)
        tokens = {}
        async with httpx.AsyncClient(base_url=base) as http:
            for code, t in tenants.items():
                answer = await http.post("/api/v1/auth/login", json={"username": t["user"], "password": PASSWORD})
                answer.raise_for_status()
                tokens[code] = answer.json()["access_token"]
        shared = [(tokens[c], c, t["children"][0]) for c, t in tenants.items() for _ in range(PER_TENANT)]
        own = [(tokens[c], c, child) for c, t in tenants.items() for child in t["children"][1:]]
        return {"shared": await load(base, shared, seconds, warmup, proc.pid, url),
                "own": await load(base, own, seconds, warmup, proc.pid, url)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


async def raw_run(url: str, payload: bytes, seconds: float, warmup: float) -> Run:
    """16 connections, 4 per table, autocommit single-row INSERTs, timed like the API clients."""
    info = conninfo_to_dict(url)
    kwargs = {k: info[k] for k in ("host", "user", "password") if info.get(k)}
    conns = [await asyncpg.connect(database=info["dbname"], port=int(info.get("port") or 5432), **kwargs)
             for _ in range(TENANTS * PER_TENANT)]
    await conns[0].execute("CREATE SCHEMA raw" + "".join(
        ";" + RAW_TABLE.format(name=f"raw.events_{i}") for i in range(TENANTS)))
    run = Run(seconds=seconds)

    async def writer(i: int, conn: asyncpg.Connection, start: float, deadline: float, timed: bool) -> None:
        sql = (f"INSERT INTO raw.events_{i // PER_TENANT} (originator_id, originator_version, topic, state,"
               " subject_id, digest, hash) VALUES ($1, 1, $2, $3, $4, $5, $5)")
        subject, filler = uuid4(), secrets.token_bytes(32)  # digest and hash are as wide as the real ones
        while (now := time.perf_counter()) < deadline:
            await conn.execute(sql, uuid4(), TOPIC, payload, subject, filler)
            if timed:
                end = time.perf_counter()
                run.latencies.append(end - now)
                run.done_at.append(end - start)

    try:
        for duration, timed in ((warmup, False), (seconds, True)):
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(writer(i, c, start, start + duration, timed) for i, c in enumerate(conns)))
        run.client_cpu = (time.process_time() - cpu) / (time.perf_counter() - start)
        return run
    finally:
        await asyncio.gather(*(c.close() for c in conns))


def run(url: str, seconds: float, warmup: float) -> dict[str, Any]:
    migrate_all(url)
    master_key = secrets.token_bytes(32)
    tenants = prepare(url, master_key)
    api = asyncio.run(api_runs(url, tenants, master_key, seconds, warmup))
    with psycopg.connect(url) as conn:
        size = int(conn.execute(f"SELECT avg(octet_length(state))::int FROM {schema_for(next(iter(tenants)))}.events"
                                " WHERE topic = %s", [TOPIC]).fetchone()[0])  # type: ignore[index]
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    raw = asyncio.run(raw_run(url, os.urandom(size), seconds, warmup)).figures()  # sealed notes: incompressible
    result: dict[str, Any] = {"seconds": seconds, "cpus": os.cpu_count(), "server_version": version,
                              "payload_bytes": size, "raw": raw}
    for case, r in api.items():
        result[case] = {**r.figures(), "ratio": round(len(r.latencies) / seconds / raw["per_s"], 3),
                        "first_errors": r.errors[:3]}
    return result


def report(r: dict[str, Any]) -> None:
    print(f"PostgreSQL {r['server_version']}, {r['cpus']} CPUs (shared by clients, server and database),"
          f" {r['seconds']:g} s per case, stored visit {r['payload_bytes']} bytes")
    print(f"{'case':<34}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'rollbk':>7}{'Q4/Q1':>6}"
          f"{'stream':>7}{'srv cpu':>8}{'cli cpu':>8}{'ratio':>7}")
    rows = [("API 16 clients, 1 child/tenant", r["shared"]), ("API 16 clients, 1 child/client", r["own"]),
            ("raw asyncpg 16 conns, 4 tables", {**r["raw"], "ratio": 1.0, "server_cpu": 0.0})]
    for name, f in rows:
        print(f"{name:<34}{f['per_s']:>8,.0f}{f['p50_ms']:>8.2f}{f['p99_ms']:>8.2f}{f['errors']:>7}"
              f"{f['rollbacks']:>7}{f['last_vs_first_quarter']:>6.2f}{f['stream_end'] or '-':>7}"
              f"{f['server_cpu']:>8.2f}{f['client_cpu']:>8.2f}"
              f"{f['ratio']:>7.3f}")
    for case in ("shared", "own"):
        for error in r[case]["first_errors"]:
            print(f"  {case} error: {error}")
    print(json.dumps(r, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (a fresh database is created on it); default DATABASE_URL, else embedded")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed duration of each case")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed run before each case")
    args = parser.parse_args()
    with server(args.database_url) as server_url, fresh_database(server_url) as url:
        report(run(url, args.seconds, args.warmup))


if __name__ == "__main__":
    main()
