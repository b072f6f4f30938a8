"""Commit-to-browser latency of notifications under 200 commands/s, beside raw asyncpg NOTIFY→LISTEN (issue 5).

    python -m bench.bench_notifications [--database-url URL] [--seconds N] [--rate N] [--warmup N]

A fresh database; 4 tenants, each with a grid worker, a street supervisor and 100 children, made
in-process. Then, as deployed, one API process (`shouwang serve`) and one worker process
(`shouwang worker --no-celery`: the projections, notifications among them; with `--inbox-process`, the
inbox in a worker of its own). Each street
supervisor holds an SSE stream open. Open-loop load of `--rate` commands/s (default 200) for
`--seconds` (default 20) after `--warmup` (default 3): nine in ten are visits, sent by a process of
their own; one in ten is an urgent concern, which notifies the supervisor, sent by this (lightly
loaded) measuring process, which also reads the streams. For each concern the latency is from its
201 reaching the client (after the commit) to the supervisor's SSE client parsing the event; the
same from the request being sent is printed as an upper bound.

Raw, in the same run and under the same load: one asyncpg connection runs, 50 times a second, one
autocommit statement inserting a row and `pg_notify`ing its id; another LISTENs. Latency is from
sending the statement to the listener's callback. Goal: p99 < 3 x raw p99 + 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from psycopg.conninfo import conninfo_to_dict

from bench.bench_api import cpu_seconds, free_port, wait_healthy
from bench.bench_case_log import fresh_database, make_tenants, registrations, server
from bench.visit_load import visits_process
from infra.bootstrap import connect
from infra.notice_rows import channel_for
from infra.migrations import migrate_all
from infra.projection_specs import PROJECTIONS
from infra.settings import Settings
from services.app import platform
from services.app.children import register_child
from services.app.context import Context

ROOT = Path(__file__).resolve().parents[1]
TENANTS, CHILDREN, PASSWORD = 4, 100, "bench password 1"
CONCERN_EVERY = 10  # one command in ten raises an urgent concern (a notification), the rest log visits
RAW_RATE = 50


def prepare(url: str, master_key: bytes) -> list[dict[str, Any]]:
    """Tenants with a grid worker, a street supervisor and children, made in-process with the server's key."""
    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()), master_key=master_key,
                        broker_url=None, pool_size=2, pool_overflow=2, tenant_cache_size=64)
    infra = connect(settings, migrate=False)
    try:
        tenants = []
        for code in make_tenants(infra, TENANTS):
            ctx = Context(tenant=code, actor=uuid4(), role="tenant_admin", scope=code, now=datetime.now(UTC),
                          directory=infra.directory, log=infra.logs[code])
            grid = code + "00101"
            platform.create_user(f"worker.{code}", PASSWORD, "网格员", "grid_worker", grid, tenant=code, ctx=ctx)
            platform.create_user(f"supervisor.{code}", PASSWORD, "督导员", "supervisor", code, tenant=code, ctx=ctx)
            children = [register_child(d, ctx=ctx).id for d in registrations(grid, CHILDREN)]
            tenants.append({"code": code, "children": [str(c) for c in children]})
        return tenants
    finally:
        infra.close()


def pct(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds (nearest rank)."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def login(base: str, username: str) -> tuple[str, str]:
    """A user's token and id."""
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        answer.raise_for_status()
        return answer.json()["access_token"], answer.json()["user"]["id"]


async def follow(base: str, token: str, user: str, seen: dict[str, tuple[float, tuple[str, int]]],
                 ready: asyncio.Event) -> None:
    """Read a supervisor's SSE stream, noting when each concern's notice is parsed, and its inbox row."""
    async with httpx.AsyncClient(base_url=base, timeout=None, headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.stream("GET", "/api/v1/notifications/stream") as response:
            ready.set()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    notice = json.loads(line[5:])
                    seen[notice["concern_id"]] = (time.perf_counter(), (channel_for(UUID(user)), notice["id"]))


async def signals(url: str, channels: list[str], heard: dict[tuple[str, int], float]) -> asyncpg.Connection:
    """LISTEN to the supervisors' own channels: when the projection's commit signalled each inbox row."""
    info = conninfo_to_dict(url)
    conn = await asyncpg.connect(host=info.get("host"), port=int(info.get("port") or 5432), user=info.get("user"),
                                 database=info.get("dbname"))
    for channel in channels:
        await conn.add_listener(channel, lambda _, __, ch, payload: heard.setdefault((ch, int(payload)),
                                                                                     time.perf_counter()))
    return conn


async def raw_probe(url: str, stop: asyncio.Event, samples: list[float]) -> None:
    """INSERT+NOTIFY in one autocommit statement on one connection, LISTEN on another; send-to-callback time."""
    info = conninfo_to_dict(url)
    kwargs = dict(host=info.get("host"), port=int(info.get("port") or 5432), user=info.get("user"),
                  database=info.get("dbname"))
    sender, listener = await asyncpg.connect(**kwargs), await asyncpg.connect(**kwargs)
    sent: dict[str, float] = {}
    heard = asyncio.Event()

    def on_notify(_: Any, __: int, ___: str, payload: str) -> None:
        samples.append(time.perf_counter() - sent.pop(payload))
        heard.set()

    try:
        await sender.execute("CREATE TABLE IF NOT EXISTS raw_notices (id bigserial PRIMARY KEY, at timestamptz"
                             " NOT NULL DEFAULT now(), body text NOT NULL)")
        await listener.add_listener("raw_notices", on_notify)
        n = 0
        while not stop.is_set():
            n += 1
            sent[str(n)] = time.perf_counter()
            await sender.execute("WITH ins AS (INSERT INTO raw_notices (body) VALUES ($1) RETURNING id)"
                                 " SELECT pg_notify('raw_notices', id::text) FROM ins", "x" * 64)
            await asyncio.sleep(1 / RAW_RATE)
    finally:
        await sender.close()
        await listener.close()


async def open_loop(base: str, tokens: dict[str, str], tenants: list[dict[str, Any]], rate: float,
                    duration: float, concerns: bool, first: int = 0) -> dict[str, Any]:
    """Send `rate` commands/s for `duration` s regardless of answers: urgent concerns, or visits; time each."""
    http = httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=64))
    done: dict[str, Any] = {"latencies": [], "errors": [], "raised": {}}
    today = datetime.now(UTC).date().isoformat()

    async def command(i: int) -> None:
        tenant = tenants[i % len(tenants)]
        child = tenant["children"][(i // len(tenants)) % CHILDREN]
        headers = {"Authorization": f"Bearer {tokens[tenant['code']]}", "Idempotency-Key": uuid4().hex}
        prefix = f"/api/v1/t/{tenant['code']}"
        if concerns:
            path, body = f"{prefix}/concerns", {"child_id": child, "category": "safety", "severity": "urgent",
                                                "description": "独自在家"}
        else:
            path, body = f"{prefix}/children/{child}/visits", {"kind": "talk", "occurred_on": today}
        sent = time.perf_counter()
        for attempt in range(3):
            try:
                answer = await http.post(path, headers=headers, json=body)
                break
            except httpx.TransportError:  # a kept-alive connection the server closed: resend, same key
                if attempt == 2:
                    done["errors"].append("transport error")
                    return
        received = time.perf_counter()
        if not answer.is_success:
            done["errors"].append(f"{answer.status_code} {answer.text[:200]}")
            return
        done["latencies"].append(received - sent)
        if concerns:
            done["raised"][answer.json()["id"]] = (sent, received)

    start, n, pending = time.perf_counter(), 0, []
    try:
        while (at := start + n / rate) < start + duration:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            pending.append(asyncio.create_task(command(first + n)))
            n += 1
        await asyncio.gather(*pending)
    finally:
        await http.aclose()
    done["sent"], done["seconds"] = n, time.perf_counter() - start
    return done


async def measure(base: str, streams_base: str, tenants: list[dict[str, Any]], rate: float, seconds: float,
                  warmup: float, url: str, pids: dict[str, int]) -> dict[str, Any]:
    """Visits from another process; here the urgent concerns, the supervisors' streams and the raw probe."""
    tokens = {t["code"]: (await login(base, f"worker.{t['code']}"))[0] for t in tenants}
    supervisors = [await login(base, f"supervisor.{t['code']}") for t in tenants]
    seen: dict[str, tuple[float, tuple[str, int]]] = {}
    heard: dict[tuple[str, int], float] = {}
    listener = await signals(url, [channel_for(UUID(user)) for _, user in supervisors], heard)
    readies = [asyncio.Event() for _ in tenants]
    streams = [asyncio.create_task(follow(streams_base, token, user, seen, ready))
               for (token, user), ready in zip(supervisors, readies)]
    await asyncio.gather(*(r.wait() for r in readies))
    spawn = multiprocessing.get_context("spawn")
    mine, theirs = spawn.Pipe(duplex=False)
    visits = spawn.Process(target=visits_process, args=(base, tokens, tenants, rate * (1 - 1 / CONCERN_EVERY),
                                                         warmup, seconds, theirs))
    visits.start()
    try:
        warm = await open_loop(base, tokens, tenants, rate / CONCERN_EVERY, warmup, True)
        stop, raw = asyncio.Event(), []
        probe = asyncio.create_task(raw_probe(url, stop, raw))
        pids = {**pids, "measuring client": os.getpid(), "visits client": visits.pid}
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        timed = await open_loop(base, tokens, tenants, rate / CONCERN_EVERY, seconds, True, first=warm["sent"])
        used = {name: round((cpu_seconds(pid) - cpu[name]) / timed["seconds"], 2) for name, pid in pids.items()}
        loaded = await asyncio.to_thread(mine.recv)
        deadline = time.perf_counter() + 10
        while set(timed["raised"]) - set(seen) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await probe
    finally:
        visits.join(timeout=60)
        await listener.close()
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    # Where the time goes: commit -> the projection's commit signalling the row -> the stream.
    runner = [heard[seen[c][1]] - got for c, (_, got) in timed["raised"].items() if c in seen and seen[c][1] in heard]
    relay = [seen[c][0] - heard[seen[c][1]] for c in timed["raised"] if c in seen and seen[c][1] in heard]
    split = {"runner_p50_ms": round(pct(runner, 0.5), 1), "runner_p99_ms": round(pct(runner, 0.99), 1),
             "relay_p50_ms": round(pct(relay, 0.5), 1), "relay_p99_ms": round(pct(relay, 0.99), 1)}
    return {**figures(rate, timed, loaded, {c: t for c, (t, _) in seen.items()}, raw, used), **split}


def figures(rate: float, timed: dict[str, Any], loaded: dict[str, Any], arrived: dict[str, float], raw: list[float],
            used: dict[str, float]) -> dict[str, Any]:
    """Every figure of the run, in milliseconds."""
    raised = timed["raised"]
    from_commit = [arrived[c] - got for c, (_, got) in raised.items() if c in arrived]
    from_request = [arrived[c] - sent for c, (sent, _) in raised.items() if c in arrived]
    commands = timed["latencies"] + loaded["latencies"]
    errors = timed["errors"] + loaded["errors"]
    return {"offered_per_s": rate, "commands": timed["sent"] + loaded["sent"],
            "commands_per_s": round(len(commands) / max(timed["seconds"], loaded["seconds"]), 1),
            "errors": errors[:5], "error_count": len(errors),
            "command_p50_ms": round(pct(commands, 0.5), 1), "command_p99_ms": round(pct(commands, 0.99), 1),
            "notices": len(from_commit), "missing": len(set(raised) - set(arrived)),
            "p50_ms": round(pct(from_commit, 0.5), 1), "p99_ms": round(pct(from_commit, 0.99), 1),
            "p50_from_request_ms": round(pct(from_request, 0.5), 1),
            "p99_from_request_ms": round(pct(from_request, 0.99), 1),
            "raw_samples": len(raw), "raw_p50_ms": round(pct(raw, 0.5), 2), "raw_p99_ms": round(pct(raw, 0.99), 2),
            "cpu_cores": used, "below_zero": sum(1 for v in from_commit if v < 0)}


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def workers(env: dict[str, str], data: Path, inbox_process: bool) -> list[subprocess.Popen[bytes]]:
    """One worker process for every projection, or (`inbox_process`) the inbox in one and the rest in another."""
    if not inbox_process:
        return [start(["worker", "--no-celery"], env, data / "worker.log")]
    others = [arg for spec in PROJECTIONS if not spec.urgent for arg in ("--projection", spec.name)]
    inbox = [arg for spec in PROJECTIONS if spec.urgent for arg in ("--projection", spec.name)]
    return [start(["worker", "--no-celery", *inbox], env, data / "worker-inbox.log"),
            start(["worker", "--no-celery", *others], env, data / "worker.log")]


def run(url: str, rate: float, seconds: float, warmup: float, stream_process: bool,
        inbox_process: bool) -> dict[str, Any]:
    master_key = secrets.token_bytes(32)
    migrate_all(url)
    tenants = prepare(url, master_key)
    data = Path(tempfile.mkdtemp(prefix="shouwang-bench-notify-"))
    env = {**os.environ, "DATABASE_URL": url, "SHOUWANG_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
           "SHOUWANG_MASTER_KEY": base64.b64encode(master_key).decode()}
    ports = [free_port() for _ in range(2 if stream_process else 1)]
    apis = [start(["serve", "--port", str(port)], env, data / f"api-{port}.log") for port in ports]
    runners = workers(env, data, inbox_process)
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, api, port in zip(bases, apis, ports):
            asyncio.run(wait_healthy(base, api, data / f"api-{port}.log"))
        processes = {"api": apis[0].pid, **({"streams api": apis[1].pid} if stream_process else {}),
                     **({"inbox worker": runners[0].pid, "worker": runners[1].pid} if inbox_process
                        else {"worker": runners[0].pid})}
        measured = asyncio.run(measure(bases[0], bases[-1], tenants, rate, seconds, warmup, url, processes))
        return {**measured, "processes": sorted(processes)}
    finally:
        for process in (*apis, *runners):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def report(r: dict[str, Any]) -> None:
    goal = 3 * r["raw_p99_ms"] + 20
    print(f"processes: {', '.join(r['processes'])}")
    print(f"load: {r['offered_per_s']:.0f} commands/s offered, {r['commands_per_s']} completed"
          f" ({r['commands']} commands, {r['error_count']} failed),"
          f" command latency p50 {r['command_p50_ms']} ms, p99 {r['command_p99_ms']} ms; CPU cores {r['cpu_cores']}")
    print(f"{'':38} {'p50 ms':>8} {'p99 ms':>8} {'samples':>8}")
    print(f"{'commit -> SSE client (from the 201)':38} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['notices']:>8}")
    print(f"{'request sent -> SSE client':38} {r['p50_from_request_ms']:>8} {r['p99_from_request_ms']:>8}"
          f" {r['notices']:>8}")
    print(f"{'  of which commit -> inbox row signalled':38} {r['runner_p50_ms']:>8} {r['runner_p99_ms']:>8}")
    print(f"{'  of which signalled -> SSE client':38} {r['relay_p50_ms']:>8} {r['relay_p99_ms']:>8}")
    print(f"{'raw asyncpg INSERT+NOTIFY -> LISTEN':38} {r['raw_p50_ms']:>8} {r['raw_p99_ms']:>8} {r['raw_samples']:>8}")
    verdict = "met" if r["p99_ms"] < goal and not r["missing"] else "NOT met"
    print(f"goal p99 < 3 x raw p99 + 20 ms = {goal:.1f} ms: {verdict} (missing notices: {r['missing']})")
    print(json.dumps(r, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--stream-process", action="store_true",
                        help="serve the SSE streams from a second API process, not the one taking the commands")
    parser.add_argument("--inbox-process", action="store_true",
                        help="keep the notification inbox in a worker process of its own (SHOUWANG_PROJECTIONS)")
    args = parser.parse_args()
    with server(args.database_url) as server_url, fresh_database(server_url) as url:
        report(run(url, args.rate, args.seconds, args.warmup, args.stream_process, args.inbox_process))


if __name__ == "__main__":
    main()
