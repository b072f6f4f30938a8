"""Use cases on helpers and pairs (结对帮扶)."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain.errors import NotFound
from domain.helper import Helper, HelperKind, Pair
from services.app.common import Recorded, load_child, retrying, unit_in_scope
from services.app.context import Context


def _helper_in_scope(ctx: Context, helper_id: UUID) -> Helper:
    helper = ctx.case_log.load(Helper, helper_id)
    if not ctx.in_scope(helper.home_unit):
        raise NotFound("not found")
    return helper


def enrol_helper(name: str, kind: HelperKind, phone: str | None, unit: str, *, ctx: Context) -> Recorded:
    """Enrol a helper in a community or grid of the caller's scope."""
    ctx.require("manage_helpers")
    unit_in_scope(ctx, unit, ("street", "community", "grid"))
    helper = Helper.enrol(uuid4(), name, kind, phone, unit, stamp=ctx.stamp())
    return Recorded(helper.id, helper.version, ctx.case_log.record(helper))


def helper_left(helper_id: UUID, why: str | None, *, ctx: Context) -> Recorded:
    """Record that a helper stopped helping; each of its active pairs ends in the same transaction."""
    ctx.require("manage_helpers")

    def attempt() -> Recorded:
        helper = _helper_in_scope(ctx, helper_id)
        pairs = [ctx.case_log.load(Pair, pair_id) for pair_id in helper.pairs]
        helper.leave(why, pairs, stamp=ctx.stamp())
        return Recorded(helper.id, helper.version, ctx.case_log.record(helper, *pairs))

    return retrying(attempt)


def form_pair(child_id: UUID, helper_id: UUID, started_on: date, *, ctx: Context) -> Recorded:
    """Pair a helper with a child; 409 when the helper is full or already has this child."""
    ctx.require("manage_pairs")
    capacity = ctx.directory.settings(ctx.case_log.tenant).helper_capacity
    pair_id = uuid4()

    def attempt() -> Recorded:
        child = load_child(ctx, child_id)
        helper = _helper_in_scope(ctx, helper_id)
        pair = Pair.form(pair_id, child, helper, capacity, stamp=ctx.stamp(started_on))
        # The child's stream notes the pair: a file closing meanwhile makes this save conflict, and the
        # retry finds the file closed, so no active pair is ever left on a closed file.
        return Recorded(pair.id, pair.version, ctx.case_log.record(pair, helper, child))

    return retrying(attempt)


def end_pair(pair_id: UUID, why: str | None, ended_on: date, *, ctx: Context) -> Recorded:
    """End a pair and free the helper's place."""
    ctx.require("manage_pairs")

    def attempt() -> Recorded:
        pair = ctx.case_log.load(Pair, pair_id)
        if not ctx.in_scope(pair.unit):
            raise NotFound("not found")
        helper = ctx.case_log.load(Helper, pair.helper_id)
        pair.end(why, helper, stamp=ctx.stamp(ended_on))
        return Recorded(pair.id, pair.version, ctx.case_log.record(pair, helper))

    return retrying(attempt)
