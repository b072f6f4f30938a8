"""Use cases on concerns: raise, acknowledge, escalate, record action, resolve, reopen."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from domain.concern import Category, Concern, Severity
from domain.errors import Forbidden, NotFound, RuleViolation
from services.app.common import Recorded, check_version, load_child, retrying
from services.app.context import Context


def raise_concern(child_id: UUID, category: Category, severity: Severity, description: str,
                  *, ctx: Context) -> Recorded:
    """Raise a concern about a child, at the level of the child's community."""
    ctx.require("raise_concern")
    child = load_child(ctx, child_id)
    if child.erased:
        raise RuleViolation("该儿童的个人信息已被删除", field="child_id")
    concern = Concern.raise_(uuid4(), child_id, child.grid, category, severity, description, stamp=ctx.stamp())
    return Recorded(concern.id, concern.version, ctx.case_log.record(concern))


def load_concern(ctx: Context, concern_id: UUID) -> Concern:
    """The concern, if the caller may see it (its child's grid in scope, or a district officer's district)."""
    concern = ctx.case_log.load(Concern, concern_id)
    if ctx.role == "district_officer":
        if concern.level != "district" or not ctx.in_scope(concern.level_unit):
            raise NotFound("not found")
    elif ctx.role == "helper":
        load_child(ctx, concern.child_id)
    elif not ctx.in_scope(concern.grid):
        raise NotFound("not found")
    return concern


def _act(ctx: Context, concern_id: UUID, expected_version: int | None, act: Callable[[Concern], None]) -> Recorded:
    ctx.require("act_on_concern")

    def attempt() -> Recorded:
        concern = load_concern(ctx, concern_id)
        if not ctx.in_scope(concern.level_unit):
            raise Forbidden("该关注事项已上报至上级，由上级处理")
        check_version(concern.version, expected_version)
        act(concern)
        return Recorded(concern.id, concern.version, ctx.case_log.record(concern))

    return retrying(attempt, expected_version=expected_version)


def acknowledge_concern(concern_id: UUID, note: str | None, *, ctx: Context,
                        expected_version: int | None = None) -> Recorded:
    """The level holding the concern has seen it."""
    return _act(ctx, concern_id, expected_version, lambda c: c.acknowledge(note, stamp=ctx.stamp()))


def escalate_concern(concern_id: UUID, why: str | None, *, ctx: Context,
                     expected_version: int | None = None) -> Recorded:
    """Hand the concern up one level."""
    return _act(ctx, concern_id, expected_version, lambda c: c.escalate(why, stamp=ctx.stamp()))


def record_concern_action(concern_id: UUID, note: str, *, ctx: Context,
                          expected_version: int | None = None) -> Recorded:
    """Note what was done."""
    return _act(ctx, concern_id, expected_version, lambda c: c.record_action(note, stamp=ctx.stamp()))


def resolve_concern(concern_id: UUID, outcome: str, *, ctx: Context,
                    expected_version: int | None = None) -> Recorded:
    """Resolve the concern with its outcome."""
    return _act(ctx, concern_id, expected_version, lambda c: c.resolve(outcome, stamp=ctx.stamp()))


def reopen_concern(concern_id: UUID, why: str, *, ctx: Context, expected_version: int | None = None) -> Recorded:
    """Reopen a resolved concern."""
    return _act(ctx, concern_id, expected_version, lambda c: c.reopen(why, stamp=ctx.stamp()))
