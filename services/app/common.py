"""Pieces every use case shares: the result of a command, retries, and loading within scope."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from domain.child import Child
from domain.errors import Conflict, InvalidValue, NotFound, Stale
from domain.helper import Helper
from services.app.context import Context

T = TypeVar("T")
ATTEMPTS = 8


@dataclass(frozen=True)
class Recorded:
    """What a command returns: the stream it changed, its new version, and the tenant log position."""

    id: UUID
    version: int
    position: int


def retrying(attempt: Callable[[], T], *, expected_version: int | None = None) -> T:
    """Run `attempt`; if a concurrent writer got there first, reload and decide again.

    With an `If-Match` version the client asked for exactly that state: no retry.
    """
    for remaining in range(ATTEMPTS - 1, -1, -1):
        try:
            return attempt()
        except Stale:
            raise
        except Conflict:
            if expected_version is not None or remaining == 0:
                raise
            # Writers that collided would collide again if they all retried at once: spread them out.
            time.sleep(random.uniform(0, 0.002 * (ATTEMPTS - remaining)))
    raise AssertionError("unreachable")


def check_version(aggregate_version: int, expected_version: int | None) -> None:
    """Refuse a command whose `If-Match` version is not the stream's current version."""
    if expected_version is not None and aggregate_version != expected_version:
        raise Stale(f"版本不匹配：当前为 {aggregate_version}，请求基于 {expected_version}")


def grid_in_scope(ctx: Context, code: str, field: str = "grid") -> str:
    """A grid of the caller's tenant inside the caller's scope, else a 422 naming the field."""
    unit = ctx.directory.unit(code)
    if unit is None or unit.level != "grid" or unit.tenant != ctx.tenant or not ctx.in_scope(code):
        raise InvalidValue("网格不存在或不在您的管辖范围内", field=field)
    return code


def unit_in_scope(ctx: Context, code: str, levels: tuple[str, ...], field: str = "unit") -> str:
    """A unit of the caller's tenant at one of `levels`, inside the caller's scope."""
    unit = ctx.directory.unit(code)
    if unit is None or unit.level not in levels or unit.tenant != ctx.tenant or not ctx.in_scope(code):
        raise InvalidValue("单位不存在或不在您的管辖范围内", field=field)
    return code


def load_child(ctx: Context, child_id: UUID, *, version: int | None = None) -> Child:
    """The child, if the caller may see it: in scope, or (helper) actively paired with it."""
    child = ctx.case_log.load(Child, child_id, version=version)
    if ctx.role == "helper":
        if ctx.helper_id is None or child_id not in helper_children(ctx, ctx.helper_id):
            raise NotFound("not found")
    # Scope is judged by where the child is now, also when reading an earlier version.
    elif not ctx.in_scope(child.grid if version is None else ctx.case_log.load(Child, child_id).grid):
        raise NotFound("not found")
    return child


def helper_children(ctx: Context, helper_id: UUID) -> list[UUID]:
    """The children a helper is actively paired with."""
    try:
        return ctx.case_log.load(Helper, helper_id).children
    except NotFound:
        return []
