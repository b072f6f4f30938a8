"""An open-loop load of visits on bare asyncio streams: HTTP/1.1 keep-alive written by hand.

httpx costs about a millisecond of CPU a request; at 180 requests/s on a 2-CPU host that is a third
of a core taken from the server under test. Writing the request and reading the status line, the
headers and a `Content-Length` body is all a visit needs, for a tenth of that.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

CONNECTIONS = 48


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str, token: str,
                body: bytes) -> int:
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 f"Idempotency-Key: {uuid4().hex}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def visits(host: str, port: int, tokens: dict[str, str], tenants: list[dict[str, Any]], rate: float,
                 duration: float, first: int = 0) -> dict[str, Any]:
    """Log visits at `rate` a second for `duration` seconds, whatever the answers; time each from its due moment."""
    jobs: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    done: dict[str, Any] = {"latencies": [], "errors": []}
    body = json.dumps({"kind": "talk", "occurred_on": datetime.now(UTC).date().isoformat()}).encode()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (job := await jobs.get()) is not None:
                i, due = job
                tenant = tenants[i % len(tenants)]
                child = tenant["children"][(i // len(tenants)) % len(tenant["children"])]
                path = f"/api/v1/t/{tenant['code']}/children/{child}/visits"
                status = await _post(reader, writer, f"{host}:{port}", path, tokens[tenant["code"]], body)
                if status == 201:
                    done["latencies"].append(time.perf_counter() - due)  # queueing here counts, as it would
                else:
                    done["errors"].append(str(status))
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    start, n = time.perf_counter(), 0
    while (due := start + n / rate) < start + duration:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        jobs.put_nowait((first + n, due))
        n += 1
    for _ in workers:
        jobs.put_nowait(None)
    await asyncio.gather(*workers)
    done["sent"], done["seconds"] = n, time.perf_counter() - start
    return done


def visits_process(base: str, tokens: dict[str, str], tenants: list[dict[str, Any]], rate: float, warmup: float,
                   seconds: float, results: Any) -> None:
    """The visits, from a process of their own: their client work never delays the measuring process's clock."""
    host, port = base.removeprefix("http://").split(":")
    warm = asyncio.run(visits(host, int(port), tokens, tenants, rate, warmup))
    timed = asyncio.run(visits(host, int(port), tokens, tenants, rate, seconds, first=warm["sent"]))
    results.send(timed)
