"""Notifications over HTTP: the inbox, marking read, and live delivery by SSE and WebSocket.

Both live routes read the caller's inbox after a cursor (`Last-Event-ID`, `?after=`, else the
inbox's head), then wait on the caller's own channel (`infra.notify_channels`) and read again
whenever it is signalled, and every `HEARTBEAT_SECONDS` in any case. So a client that reconnects
gets exactly what it missed, a lost signal costs at most one heartbeat, and nothing of another
user can reach a stream: it only ever reads rows keyed by its own user id. The live routes take
the token from `Authorization` or `?token=` (browsers cannot set headers on EventSource or
WebSocket), so they are excluded from the bearer middleware and authenticate here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import asyncpg
import msgspec
from litestar import Controller, Request, WebSocket, get, post, websocket
from litestar.channels import ChannelsPlugin
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.security.jwt import Token
from msgspec import UNSET, Struct, UnsetType

from infra import notification_reads as reads
from infra.directory import User
from infra.notice_rows import channel_for
from infra.notify_channels import Wakeup, listening
from services.api.errors import READ_PROBLEMS
from services.api.security import token_secret

HEARTBEAT_SECONDS = 15.0  # also how late a notice can be if its signal was lost (the inbox is read again)
BATCH = 200
WS_UNAUTHORIZED = 4401  # close code of a refused WebSocket handshake (4000-4999: the application's own)


class Notification(Struct, omit_defaults=True):
    id: int
    kind: str
    tenant: str
    unit: str
    created_at: datetime
    read: bool
    concern_id: UUID | UnsetType = UNSET
    child_id: UUID | UnsetType = UNSET
    severity: str | UnsetType = UNSET
    level: str | UnsetType = UNSET


class NotificationList(Struct):
    items: list[Notification]
    last_id: int | None


def notification(row: dict[str, Any]) -> Notification:
    """The API shape of an inbox row: optional fields absent rather than null."""
    return Notification(**{k: v for k, v in row.items() if v is not None})


def _pool(connection: ASGIConnection[Any, Any, Any, Any]) -> asyncpg.Pool:
    return connection.app.state.read_pool


async def _caller(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The user named by a bearer token in `Authorization` or `?token=`; 401 without a valid one."""
    header = connection.headers.get("authorization", "")
    encoded = header[7:].strip() if header[:7].lower() == "bearer " else connection.query_params.get("token")
    infra = connection.app.state.infra
    try:
        token = Token.decode(encoded or "", secret=token_secret(infra.settings.master_key), algorithm="HS256")
        user = await anyio.to_thread.run_sync(infra.directory.user, UUID(token.sub))
    except (NotAuthorizedException, ValueError):
        user = None
    if user is None:
        raise NotAuthorizedException("Missing or invalid bearer token")
    return user


def _cursor(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """Where a live route resumes: the browser's `Last-Event-ID`, else `?after=`, else None (from now)."""
    text = connection.headers.get("last-event-id") or connection.query_params.get("after")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise NotFoundException("not found")  # a cursor no inbox could have given out
    return int(text)


async def _batches(pool: asyncpg.Pool, inbox: reads.Inbox | None, cursor: int,
                   subscriber: Wakeup) -> AsyncIterator[list[dict[str, Any]]]:
    """Rows after the cursor as they come; an empty batch each heartbeat with nothing new."""
    while True:
        subscriber.woken.clear()  # before reading: a signal during the read wakes the next wait
        rows = await reads.after(pool, inbox, cursor, BATCH)
        if rows:
            cursor = rows[-1]["id"]
            yield rows
            continue
        try:
            await asyncio.wait_for(subscriber.woken.wait(), HEARTBEAT_SECONDS)
        except TimeoutError:
            yield []


def event_stream(pool: asyncpg.Pool, channels: ChannelsPlugin, inbox: reads.Inbox | None,
                 cursor: int) -> ServerSentEvent:
    """A user's notices after `cursor` as server-sent events (`id:` each notice's id), then live ones."""

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        yield ServerSentEventMessage(comment="shouwang notifications", data=None, retry=2000)
        channel = channel_for(inbox.user_id) if inbox else "n_none"
        async with listening(channels, channel) as subscriber:
            async for rows in _batches(pool, inbox, cursor, subscriber):
                if not rows:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                for row in rows:
                    yield ServerSentEventMessage(data=msgspec.json.encode(notification(row)).decode(), id=row["id"])

    return ServerSentEvent(events())


async def start_from(connection: ASGIConnection[Any, Any, Any, Any], inbox: reads.Inbox | None) -> int:
    """Where a stream of `inbox` starts: `Last-Event-ID`, else `?after=`, else the inbox's head (from now)."""
    cursor = _cursor(connection)
    return cursor if cursor is not None else await reads.head(_pool(connection), inbox)


async def _start(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[reads.Inbox | None, int]:
    inbox = reads.inbox_of(await _caller(connection))
    return inbox, await start_from(connection, inbox)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", responses=READ_PROBLEMS)
    async def inbox(self, request: Request[User, Any, Any],
                    after: Annotated[int | None, Parameter(ge=0, description="only notices after this id")] = None,
                    limit: Annotated[int, Parameter(ge=1, le=reads.MAX_LIMIT)] = 100) -> NotificationList:
        """The caller's notices after `after` in id order; without it, the latest `limit` ones."""
        rows = await reads.after(_pool(request), reads.inbox_of(request.user), after, limit)
        return NotificationList([notification(r) for r in rows], rows[-1]["id"] if rows else after)

    @post("/{notification_id:int}/read", status_code=200, responses=READ_PROBLEMS)
    async def mark_read(self, notification_id: FromPath[int], request: Request[User, Any, Any]) -> dict[str, Any]:
        """Mark one of the caller's notices read (404 for anyone else's)."""
        if not await reads.mark_read(_pool(request), reads.inbox_of(request.user), notification_id):
            raise NotFoundException("not found")
        return {"id": notification_id, "read": True}

    @get("/stream", exclude_from_auth=True, responses=READ_PROBLEMS)
    async def stream(self, request: Request[Any, Any, Any],
                     channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        """Server-sent events: each notice as `data` with `id:` its id; resumes after `Last-Event-ID`."""
        inbox, cursor = await _start(request)
        return event_stream(_pool(request), channels, inbox, cursor)


@websocket("/api/v1/notifications/ws", exclude_from_auth=True)
async def notifications_ws(socket: WebSocket[Any, Any, Any], channels: NamedDependency[ChannelsPlugin]) -> None:
    """Each notice as a JSON text message; resumes after `?after=`; token in `Authorization` or `?token=`."""
    try:
        inbox, cursor = await _start(socket)
    except (NotAuthorizedException, NotFoundException):
        await socket.close(code=WS_UNAUTHORIZED)  # before accepting: the handshake is refused
        return
    await socket.accept()
    channel = channel_for(inbox.user_id) if inbox else "n_none"
    async with listening(channels, channel) as subscriber:
        sender = asyncio.create_task(_send(socket, _batches(_pool(socket), inbox, cursor, subscriber)))
        try:
            # Wait for the client to leave: a handler that only sends would never notice (STACK_NOTES).
            while (await socket.receive())["type"] != "websocket.disconnect":
                continue
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


async def _send(socket: WebSocket[Any, Any, Any], batches: AsyncIterator[list[dict[str, Any]]]) -> None:
    async for rows in batches:
        for row in rows:
            await socket.send_data(msgspec.json.encode(notification(row)).decode())


ROUTES = [NotificationController, notifications_ws]
