"""The live concern queue: open concerns in the caller's scope, and the caller's own notices pushed as they come.

The page lists the concern-queue read model (the API's `GET /concerns` read) and works without
script. With script, `static/app.js` opens `/notifications/stream`: the signed-in user's own inbox
as server-sent events, authenticated by the session cookie, the same stream the API serves to a
bearer token (`services.api.notifications.event_stream`). It only ever reads rows keyed by the
session's user, so no other tenant's or scope's notice can reach it. The page names the inbox
position it was read at, and the stream starts after it: nothing raised in between is missed.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
from litestar import Request, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, Template

from infra import notification_reads as reads
from services.api.dashboards import concern_queue_of
from services.api.notifications import event_stream, start_from
from services.api.security import Ctx
from services.web.rendering import page
from services.web.session import session_guard

Level = Literal["community", "street", "district"]


def _age(hours: float, lang: str) -> str:
    """How long a concern has waited, as people say it: 3 小时 / 2 天."""
    if hours < 1:
        return "不到 1 小时" if lang != "en" else "under an hour"
    if hours < 48:
        return f"{int(hours)} 小时" if lang != "en" else f"{int(hours)} h"
    return f"{int(hours // 24)} 天" if lang != "en" else f"{int(hours // 24)} days"


@get("/concerns")
async def concern_queue(request: Request[Any, Any, Any], ctx: Ctx, state: State,
                        level: FromQuery[Level | None] = None) -> Template:
    """Open concerns about children in the caller's scope, most severe and oldest first."""
    queue = await concern_queue_of(state.read_pool, ctx, status="open", level=level)
    head = await reads.head(state.read_pool, reads.inbox_of(request.user))
    names = await anyio.to_thread.run_sync(lambda: {
        code: (u.name if (u := ctx.directory.unit(code)) else code)
        for code in {c.grid for c in queue.items} | {c.unit for c in queue.items}})
    return page(request, "queue.html", items=queue.items, names=names, level=level, head=head, age=_age)


@get("/notifications/stream", guards=[session_guard])
async def notification_stream(request: Request[Any, Any, Any],
                              channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
    """The session user's notices as server-sent events, after `Last-Event-ID` or `?after=`, then live."""
    inbox = reads.inbox_of(request.user)
    return event_stream(request.app.state.read_pool, channels, inbox, await start_from(request, inbox))

