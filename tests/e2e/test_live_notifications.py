"""Live notifications from a real server process (uvicorn, in-process projections and Celery worker) over
loopback: SSE and WebSocket clients, a real broker, bounded waits and no fixed sleeps."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from infra.notify_channels import APPLICATION_NAME
from services.worker import app as worker_app
from services.worker.tasks import check_deadlines
from tests.e2e.conftest import PASSWORD, Team, child_body, new_team
from tests.serving import Server, serving
from tests.worker_fixtures import QUEUE, broker_settings

LIVE_QUEUE = f"{QUEUE}-live"
WAIT = 20.0  # seconds any one notice may take to arrive, at most


@pytest.fixture(scope="module")
async def server(infra, database_url, tmp_path_factory) -> AsyncIterator[Server]:
    """`shouwang serve --with-workers` in its own process, on the test database and the run's broker."""
    logs = tmp_path_factory.mktemp("live")
    settings = broker_settings(infra)
    worker_app.configure(settings)
    # This process sends, the server's worker takes. The server also runs a beat: its own queue keeps whatever
    # the beat sends (at 00:30 Shanghai time, an anchor of every tenant in the test database) away from the
    # session's test worker, which would otherwise be left running it at the end of the run.
    worker_app.app.conf.task_default_queue = LIVE_QUEUE
    env = {**os.environ, "DATABASE_URL": database_url, "SHOUWANG_DATA_DIR": str(settings.data_dir),
           "SHOUWANG_MASTER_KEY": base64.b64encode(infra.settings.master_key).decode(),
           "SHOUWANG_CELERY_QUEUE": LIVE_QUEUE, "SHOUWANG_DEADLINE_MINUTES": "600", "SHOUWANG_PROJECTION_SWEEP_SECONDS": "2"}
    try:
        async with serving(lambda port: ["-m", "services.cli", "serve", "--port", str(port), "--with-workers"],
                           env, logs / "server.log") as running:
            yield running
    finally:
        with worker_app.app.connection_for_write() as connection:  # what the server's worker did not take
            connection.default_channel.queue_purge(LIVE_QUEUE)
        worker_app.app.conf.task_default_queue = QUEUE


@pytest.fixture(scope="module")
async def teams(infra) -> tuple[Team, Team]:
    """Two streets (tenants) of one district, each with its street supervisor."""
    return await new_team(infra), await new_team(infra)


async def token(server: Server, username: str) -> str:
    async with httpx.AsyncClient(base_url=server.base) as client:
        answer = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def raise_urgent(server: Server, team: Team) -> str:
    """Register a child and raise an urgent concern about it, as the team's grid worker over HTTP."""
    auth = {"Authorization": f"Bearer {await token(server, f'grid_worker.{team.code}')}"}
    async with httpx.AsyncClient(base_url=server.base, headers=auth, timeout=30) as client:
        child = await client.post(f"/api/v1/t/{team.code}/children", json=child_body(team.street.grid))
        assert child.status_code == 201, child.text
        concern = await client.post(f"/api/v1/t/{team.code}/concerns", json={
            "child_id": child.json()["id"], "category": "abuse", "severity": "urgent", "description": "身上有伤"})
        assert concern.status_code == 201, concern.text
    return concern.json()["id"]


async def listed(server: Server, access_token: str, path: str, key: str, concern_ids: list[str],
                 where: str) -> None:
    """Wait (bounded) until the items at `path`, as this user reads them, name these concerns under `key`."""
    async with httpx.AsyncClient(base_url=server.base,
                                 headers={"Authorization": f"Bearer {access_token}"}, timeout=30) as client:
        deadline = asyncio.get_running_loop().time() + WAIT
        while asyncio.get_running_loop().time() < deadline:
            answer = await client.get(path)
            assert answer.status_code == 200, answer.text
            if set(concern_ids) <= {item.get(key) for item in answer.json()["items"]}:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{concern_ids} not in {where} within {WAIT} s")


class EventStream:
    """An SSE client reading in the background; `next()` waits (bounded) for the next event."""

    def __init__(self, server: Server, access_token: str, last_event_id: int | None = None) -> None:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._client = httpx.AsyncClient(base_url=server.base, headers=headers, timeout=None)
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._open = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async with self._client.stream("GET", "/api/v1/notifications/stream") as response:
            assert response.status_code == 200
            self._open.set()
            event: dict[str, str] = {}
            async for line in response.aiter_lines():
                if not line:
                    if "data" in event:
                        await self._events.put({"id": int(event["id"]), **json.loads(event["data"])})
                    event = {}
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    event[field] = value.removeprefix(" ")

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._open.wait(), WAIT)
        return self

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self._events.get(), WAIT)

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()


async def socket_next(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


def ws_url(server: Server, query: str = "") -> str:
    return f"ws://{server.url}/api/v1/notifications/ws{query}"


async def test_an_urgent_concern_reaches_the_street_supervisors_stream_and_socket_and_no_other_tenant(
        server, teams):
    mine, other = teams
    me, them = [await token(server, f"supervisor.{t.code}") for t in teams]
    async with EventStream(server, me) as my_stream, EventStream(server, them) as their_stream, \
            connect(ws_url(server, f"?token={me}")) as my_socket, \
            connect(ws_url(server), additional_headers={"Authorization": f"Bearer {them}"}) as their_socket:
        concern = await raise_urgent(server, mine)
        by_stream, by_socket = await my_stream.next(), await socket_next(my_socket)
        assert by_stream == by_socket
        assert (by_stream["kind"], by_stream["concern_id"], by_stream["tenant"], by_stream["severity"]) == (
            "concern_raised", concern, mine.code, "urgent")

        # The other tenant's supervisor hears of its own concern first: nothing of ours came before it.
        theirs = await raise_urgent(server, other)
        assert (await their_stream.next())["concern_id"] == theirs
        assert (await socket_next(their_socket))["concern_id"] == theirs
    assert "?token=[redacted]" in server.log.read_text() and me not in server.log.read_text()


async def test_reconnecting_with_last_event_id_replays_exactly_the_missed_ones(server, teams):
    team = teams[0]
    me = await token(server, f"supervisor.{team.code}")
    async with EventStream(server, me) as stream:
        await raise_urgent(server, team)
        seen = await stream.next()
    missed = [await raise_urgent(server, team) for _ in range(2)]
    await listed(server, me, "/api/v1/notifications", "concern_id", missed, "the inbox")

    async with EventStream(server, me, last_event_id=seen["id"]) as stream:
        replayed = [await stream.next() for _ in missed]
        live = await raise_urgent(server, team)
        after = await stream.next()

    assert [n["concern_id"] for n in replayed] == missed
    assert after["concern_id"] == live and after["id"] > replayed[-1]["id"] > seen["id"]


async def test_an_unacknowledged_urgent_concern_escalates_by_itself_and_its_street_supervisor_hears_it(
        server, teams):
    team = teams[0]
    async with EventStream(server, await token(server, f"supervisor.{team.code}")) as stream:
        concern = await raise_urgent(server, team)
        assert (await stream.next())["kind"] == "concern_raised"
        # The inbox is projected first, on its own: the deadline check reads the concern queue, so wait for it.
        await listed(server, await token(server, f"supervisor.{team.code}"),
                     f"/api/v1/t/{team.code}/concerns?status=open", "id", [concern], "the concern queue")
        later = datetime.now(UTC) + timedelta(hours=5)
        result = await outcome(check_deadlines.delay(team.code, later.isoformat()))
        # Every urgent concern of this street raised by earlier tests is overdue by then too.
        assert concern in result["escalated"]
        heard = [await stream.next() for _ in result["escalated"]]

    assert sorted(n["concern_id"] for n in heard) == sorted(result["escalated"])
    assert {(n["kind"], n["level"], n["unit"]) for n in heard} == {("concern_escalated", "street", team.code)}


async def outcome(result: Any) -> Any:
    """A task's return value, waited for (bounded) without blocking the streams' event loop."""
    deadline = asyncio.get_running_loop().time() + 60
    while not result.ready():
        assert asyncio.get_running_loop().time() < deadline, "the task did not come back within 60 s"
        await asyncio.sleep(0.05)
    return result.get(timeout=1)


async def test_notices_still_arrive_after_the_listening_connection_drops(server, teams, database_url):
    team = teams[0]
    async with EventStream(server, await token(server, f"supervisor.{team.code}")) as stream:
        with psycopg.connect(database_url, autocommit=True) as conn:
            dropped = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                   " WHERE application_name = %s", [APPLICATION_NAME]).fetchone()[0]
        assert dropped >= 1
        concern = await raise_urgent(server, team)
        assert (await stream.next())["concern_id"] == concern


async def test_a_socket_without_a_valid_token_is_refused(server):
    for url, headers in ((ws_url(server), {}), (ws_url(server, "?token=forged"), {}),
                         (ws_url(server), {"Authorization": "Bearer forged"})):
        with pytest.raises(InvalidStatus):
            async with connect(url, additional_headers=headers):
                pass


async def test_clients_that_vanish_or_stay_never_hang_the_server(server, teams):
    team = teams[0]
    me = await token(server, f"supervisor.{team.code}")
    for _ in range(5):  # clients that leave abruptly, mid-stream
        async with EventStream(server, me), connect(ws_url(server, f"?token={me}")) as socket:
            socket.transport.abort()
    async with httpx.AsyncClient(base_url=server.base) as client:
        assert (await client.get("/health")).status_code == 200

    # And clients that stay: the server still leaves promptly when told to stop.
    async with EventStream(server, me), connect(ws_url(server, f"?token={me}")):
        assert await asyncio.to_thread(server.stop, 10) == 0
