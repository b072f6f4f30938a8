"""Relaying `pg_notify` to connected clients: litestar Channels on one shared asyncpg LISTEN connection.

Each user's inbox has its own channel (`infra.notice_rows.channel_for`), LISTENed to while that
user has a stream open; a signal only wakes that user's streams, which then read the inbox after
their cursor. The payload is not trusted to carry anything: the inbox is.

litestar's `AsyncPgChannelsBackend` does not reconnect a dropped LISTEN connection; this one does,
LISTENs again to every channel, and wakes every stream so each re-reads what it may have missed.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import psycopg
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend


log = logging.getLogger(__name__)
APPLICATION_NAME = "shouwang-notify"  # how the LISTEN connection shows in pg_stat_activity
RECONNECT_SECONDS = 0.5


class Wakeup(Subscriber):
    """A subscriber that keeps no backlog: any signal on its channel just wakes its stream."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.woken = asyncio.Event()

    def put_nowait(self, item: bytes | None) -> bool:
        self.woken.set()
        return True

    async def put(self, item: bytes | None) -> None:
        self.woken.set()


class ReconnectingBackend(AsyncPgChannelsBackend):
    """`AsyncPgChannelsBackend` whose LISTEN connection comes back when it drops."""

    def __init__(self, database_url: str) -> None:
        # A libpq URL or conninfo string (the embedded server's names a socket directory as its host).
        info = psycopg.conninfo.conninfo_to_dict(database_url)
        super().__init__(make_connection=lambda: asyncpg.connect(
            host=info.get("host"), port=int(info.get("port") or 5432), user=info.get("user"),
            password=info.get("password"), database=info.get("dbname"),
            server_settings={"application_name": APPLICATION_NAME}))
        self._reconnecting: asyncio.Task[None] | None = None
        self._closing = False

    async def on_startup(self) -> None:
        self._closing = False
        await super().on_startup()
        self._listener_conn.add_termination_listener(self._lost)

    def _lost(self, _: asyncpg.Connection) -> None:
        if not self._closing and self._reconnecting is None:
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        try:
            while not self._closing:
                try:
                    async with self._listener_lock:
                        if self._closing or self._queue is None:
                            return
                        conn = await self._connect()
                        for channel in self._subscribed_channels:
                            await conn.add_listener(channel, self._listener)
                        conn.add_termination_listener(self._lost)
                        self._listener_conn = conn
                        channels = list(self._subscribed_channels)
                    log.warning("notification listener reconnected (%d channels)", len(channels))
                    for channel in channels:  # wake every stream: each re-reads its inbox after its cursor
                        self._queue.put_nowait((channel, b""))
                    return
                except (OSError, asyncpg.PostgresError):
                    log.exception("notification listener cannot reconnect yet")
                    await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            self._reconnecting = None

    async def on_shutdown(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with suppress(asyncio.CancelledError):
                await self._reconnecting
        with suppress(Exception):  # the connection may already be gone
            await super().on_shutdown()


def channels_plugin(database_url: str) -> ChannelsPlugin:
    """The app's Channels plugin: any user channel, no history, no unguarded WebSocket routes."""
    return ChannelsPlugin(backend=ReconnectingBackend(database_url), arbitrary_channels_allowed=True,
                          create_ws_route_handlers=False, subscriber_class=Wakeup)


@asynccontextmanager
async def listening(channels: ChannelsPlugin, channel: str) -> AsyncIterator[Wakeup]:
    """Subscribe to one channel for the block; unsubscribing is shielded, so a cancelled stream still leaves."""
    subscriber = await channels.subscribe([channel])
    try:
        yield subscriber  # type: ignore[misc]
    finally:
        with anyio.CancelScope(shield=True):
            await channels.unsubscribe(subscriber, [channel])
