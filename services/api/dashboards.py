"""Dashboards, worklists and concern queues over HTTP, read from the read models with asyncpg.

`UnitController` (`/api/v1/units/{code}/dashboard|worklist`, no tenant prefix: the code says where)
is registered at the top level; `ConcernQueueController` (`GET /concerns`) under the tenant router.
A unit outside the caller's scope answers 404 like a unit that does not exist. Helpers and platform
administrators get no dashboard, worklist or queue (403). `?min_position=` waits (up to 5 s) for the
tenant's read models; at district level a position names no single tenant's log, so it is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio.to_thread
import asyncpg
from litestar import Controller, get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, Parameter
from msgspec import UNSET, Struct, UnsetType

from domain.errors import Forbidden, InvalidValue, NotFound
from domain.semester import Semester
from domain.units import level_of
from infra import dashboard_reads
from infra.read_models import wait_for_position
from projections import child_register, concern_queue, unit_counters
from projections.worklist import shows_names
from services.api.errors import READ_PROBLEMS
from services.api.security import Ctx, platform_guard
from services.app.context import Context

# Roles with no dashboards, worklists or concern queues: a helper sees its own children only; a
# platform administrator runs the platform, not the care work.
NO_DASHBOARDS = frozenset({"helper", "platform_admin"})
SHANGHAI = ZoneInfo("Asia/Shanghai")
MinPosition = Annotated[int | None, Parameter(
    ge=0, description="Wait (up to 5 s) for the tenant's read models to reach this log position; a district ignores it")]
SemesterParam = Annotated[str | None, Parameter(description="`2026-autumn` or `2027-spring`; default: the current one")]


class Paired(Struct):
    count: int
    pct: float


class ChildUnit(Struct):
    unit: str
    name: str
    level: str
    children_open: int
    children_closed: int
    paired: Paired
    all_done_pct: float
    concerns_open: int
    concerns_overdue: int
    aid_fen: int


class Dashboard(Struct, omit_defaults=True):
    unit: str
    level: str
    semester: str
    children_open: int
    children_closed: int
    paired: Paired
    contacts: dict[str, Any]  # "<kind>": {"done", "pct"} for each required kind, "all_done", "all_done_pct"
    concerns_open: dict[str, int]
    concerns_open_by_level: dict[str, int]
    concerns_overdue: int
    aid_fen: int
    by_reason: dict[str, int]
    children_by_child_unit: list[ChildUnit]
    # YYYY-MM → contacts with the unit's open children, each month of the semester (only with `?months=true`).
    contacts_by_month: dict[str, int] | UnsetType = UNSET


class WorklistItem(Struct):
    child_id: UUID
    unit: str
    missing: dict[str, int]
    helper_id: UUID | None
    name: str | None | UnsetType = UNSET
    helper_name: str | None | UnsetType = UNSET


class Worklist(Struct):
    semester: str
    items: list[WorklistItem]
    next_cursor: str | None


class QueuedConcern(Struct):
    id: UUID
    child_id: UUID
    unit: str
    grid: str
    level: str
    category: str
    severity: str
    status: str
    acknowledged: bool
    raised_at: datetime
    waiting_since: datetime | None
    resolved_at: datetime | None
    age_hours: float
    overdue: bool
    version: int


class ConcernQueue(Struct):
    items: list[QueuedConcern]


async def unit_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Resolve the caller's Context and refuse a unit that is not theirs (404) or a role without dashboards (403)."""
    await platform_guard(connection, handler)
    ctx = connection.state.ctx
    if ctx.role in NO_DASHBOARDS:
        raise Forbidden(f"角色 {ctx.role} 没有统计看板和工作清单")
    code = connection.path_params.get("code", "")
    try:
        level_of(code)
    except InvalidValue:
        raise NotFound("not found") from None
    if not ctx.in_scope(code) or await anyio.to_thread.run_sync(ctx.directory.unit, code) is None:
        raise NotFound("not found")


async def unit_dashboard(pool: asyncpg.Pool, code: str, semester: str, *, now: datetime,
                         months: bool = False) -> Dashboard:
    """The dashboard of a unit the caller may see (`unit_guard` checked it), as the API and the web pages show it."""
    board = await dashboard_reads.dashboard(pool, code, level_of(code), semester, now=now, months=months)
    return Dashboard(**{**board, "paired": Paired(**board["paired"]), "children_by_child_unit": [
        ChildUnit(**{**c, "paired": Paired(**c["paired"])}) for c in board["children_by_child_unit"]]})


def semester_of(text: str | None, now: datetime) -> str:
    """The semester asked for, else the current one in Asia/Shanghai."""
    if text is None:
        return str(Semester.of(now.astimezone(SHANGHAI).date()))
    return str(Semester.parse(text))


async def _wait(pool: asyncpg.Pool, code: str, min_position: int | None, projections: tuple[str, ...]) -> None:
    if min_position and len(code) >= 9:  # a district spans tenants: no single log position to wait for
        for projection in projections:
            await wait_for_position(pool, code[:9], projection, min_position)


async def concern_queue_of(pool: asyncpg.Pool, ctx: Context, *, status: str | None, level: str | None,
                           unit: str | None = None, limit: int = 500, min_position: int | None = None) -> ConcernQueue:
    """Concerns about children in the caller's scope (or `unit` within it), as the API and the web pages show them."""
    if ctx.role in NO_DASHBOARDS:
        raise Forbidden(f"角色 {ctx.role} 没有关注事项队列")
    tenant = ctx.tenant
    within = unit if unit is not None else (ctx.scope if len(ctx.scope) > len(tenant) else tenant)
    if not (ctx.in_scope(within) and within.startswith(tenant)):
        raise NotFound("not found")
    if min_position:
        await wait_for_position(pool, tenant, concern_queue.NAME, min_position)
    page = await dashboard_reads.concern_queue(pool, tenant, within=within, status=status, level=level,
                                               district_only=ctx.role == "district_officer", now=ctx.now, limit=limit)
    return ConcernQueue([QueuedConcern(**i) for i in page["items"]])


class UnitController(Controller):
    path = "/api/v1/units/{code:str}"
    tags = ["dashboards"]
    guards = [unit_guard]

    @get("/dashboard", responses=READ_PROBLEMS)
    async def dashboard(self, code: FromPath[str], ctx: Ctx, state: State, semester: SemesterParam = None,
                        min_position: MinPosition = None,
                        months: Annotated[bool, Parameter(description="also `contacts_by_month` (counts contact "
                                                          "rows: slower over a whole district)")] = False
                        ) -> Dashboard:
        """Counters of a grid, community, street or district for a semester (no personal data)."""
        term = semester_of(semester, ctx.now)
        await _wait(state.read_pool, code, min_position, (unit_counters.NAME, concern_queue.NAME,
                                                          child_register.NAME))
        return await unit_dashboard(state.read_pool, code, term, now=ctx.now, months=months)

    @get("/worklist", responses=READ_PROBLEMS)
    async def worklist(self, code: FromPath[str], ctx: Ctx, state: State, semester: SemesterParam = None,
                       limit: Annotated[int, Parameter(ge=1, le=dashboard_reads.MAX_LIMIT)] = 500,
                       cursor: FromQuery[str | None] = None, min_position: MinPosition = None) -> Worklist:
        """Open children of the unit still missing contacts this semester, what each misses, and the helper."""
        term = semester_of(semester, ctx.now)
        names = shows_names(ctx.role)
        await _wait(state.read_pool, code, min_position,
                    (unit_counters.NAME, child_register.NAME) if names else (unit_counters.NAME,))
        if len(code) >= 9:
            tenants = [code[:9]]
        else:
            tenants = [t.code for t in await anyio.to_thread.run_sync(ctx.directory.tenants) if t.code.startswith(code)]
        page = await dashboard_reads.worklist(state.read_pool, code, term, tenants, names=names, limit=limit,
                                              cursor=cursor)
        return Worklist(term, [WorklistItem(**i) for i in page["items"]], page["next_cursor"])


class ConcernQueueController(Controller):
    path = "/concerns"
    tags = ["concerns"]

    @get("/", responses=READ_PROBLEMS)
    async def queue(self, ctx: Ctx, state: State, status: FromQuery[Literal["open", "resolved"] | None] = None,
                    level: FromQuery[Literal["community", "street", "district"] | None] = None,
                    unit: Annotated[str | None, Parameter(description="concerns about children in this unit")] = None,
                    limit: Annotated[int, Parameter(ge=1, le=dashboard_reads.MAX_LIMIT)] = 500,
                    min_position: Annotated[int | None, Parameter(ge=0)] = None) -> ConcernQueue:
        """The tenant's concerns in the caller's scope, most severe and oldest first, with age and overdue flag.

        A district officer sees the concerns escalated to the district.
        """
        return await concern_queue_of(state.read_pool, ctx, status=status, level=level, unit=unit, limit=limit,
                                      min_position=min_position)


ROUTES = [UnitController]  # top level
TENANT_ROUTES = [ConcernQueueController]  # under /api/v1/t/{tenant}
