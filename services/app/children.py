"""Use cases on a child's file: register, correct, guardian, move, close, reopen, visits, aid, forget."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.child import AidKind, Child, ChildDetails, CloseReason, ContactKind, Guardian
from domain.errors import InvalidValue, NotFound
from domain.helper import Helper, Pair
from services.app.common import Recorded, check_version, grid_in_scope, load_child, retrying
from services.app.context import Context


def _save(ctx: Context, child: Child, *others: Any, **kwargs: Any) -> Recorded:
    position = ctx.case_log.record(child, *others, **kwargs)
    return Recorded(child.id, child.version, position)


def _change(ctx: Context, action: str, child_id: UUID, expected_version: int | None, change: Any,
            **record_kwargs: Any) -> Recorded:
    """Load the child in scope, check If-Match, apply `change`, record; retry on a concurrent write."""
    ctx.require(action)

    def attempt() -> Recorded:
        child = load_child(ctx, child_id)
        check_version(child.version, expected_version)
        change(child)
        return _save(ctx, child, **record_kwargs)

    return retrying(attempt, expected_version=expected_version)


def register_child(details: ChildDetails, *, ctx: Context) -> Recorded:
    """Open a file for a left-behind child in a grid of the caller's scope."""
    ctx.require("register_child")
    grid_in_scope(ctx, details.grid)
    return _save(ctx, Child.register(uuid4(), details, stamp=ctx.stamp()))


def correct_child(child_id: UUID, changes: dict[str, Any], why: str | None, *, ctx: Context,
                  expected_version: int | None = None) -> Recorded:
    """Correct registered facts of a child."""
    return _change(ctx, "update_child", child_id, expected_version,
                   lambda child: child.correct_profile(changes, why, stamp=ctx.stamp()))


def change_guardian(child_id: UUID, guardian: Guardian, *, ctx: Context,
                    expected_version: int | None = None) -> Recorded:
    """Record the child's guardian anew."""
    return _change(ctx, "update_child", child_id, expected_version,
                   lambda child: child.change_guardian(guardian, stamp=ctx.stamp()))


def move_child(child_id: UUID, grid: str, *, ctx: Context, expected_version: int | None = None) -> Recorded:
    """Move the child's file to another grid of the caller's scope."""
    grid_in_scope(ctx, grid)
    return _change(ctx, "update_child", child_id, expected_version,
                   lambda child: child.move(grid, stamp=ctx.stamp()))


def close_child(child_id: UUID, reason: CloseReason, note: str | None, *, ctx: Context,
                expected_version: int | None = None) -> Recorded:
    """Close the child's file (never deleted); its active pairs end in the same transaction."""
    ctx.require("update_child")

    def attempt() -> Recorded:
        child = load_child(ctx, child_id)
        check_version(child.version, expected_version)
        pairs = _pairs_of(ctx, child)
        helpers = [ctx.case_log.load(Helper, helper_id)
                   for helper_id in dict.fromkeys(pair.helper_id for pair in pairs if pair.active)]
        child.close(reason, note, pairs, helpers, stamp=ctx.stamp())
        return _save(ctx, child, *pairs, *helpers)

    return retrying(attempt, expected_version=expected_version)


def _pairs_of(ctx: Context, child: Child) -> list[Pair]:
    """Every pair formed with the child, read from the tenant's log (never from a read model).

    The child's stream names its pairs (`Child.Paired`); a log written before that event existed
    names older pairs only in their own streams, whose events are about the child.
    """
    older = ctx.case_log.streams_about(child.id, Pair.Formed.TOPIC)
    return [ctx.case_log.load(Pair, pair_id) for pair_id in dict.fromkeys([*child.pair_ids, *older])]


def reopen_child(child_id: UUID, note: str | None, *, ctx: Context, expected_version: int | None = None) -> Recorded:
    """Reopen a closed file."""
    return _change(ctx, "update_child", child_id, expected_version,
                   lambda child: child.reopen(note, stamp=ctx.stamp()))


def log_visit(child_id: UUID, kind: ContactKind, occurred_on: date, helper_id: UUID | None, notes: str | None,
              *, ctx: Context, expected_version: int | None = None) -> Recorded:
    """Log a contact with the child; a helper always logs as itself. Returns the visit's id."""
    if ctx.role == "helper":
        helper_id = ctx.helper_id
    elif helper_id is not None:
        try:
            ctx.case_log.load(Helper, helper_id)
        except NotFound:
            raise InvalidValue("帮扶人不存在", field="helper_id") from None
    visit_id = uuid4()
    done = _change(ctx, "log_visit", child_id, expected_version,
                   lambda child: child.log_visit(visit_id, kind, helper_id, notes, stamp=ctx.stamp(occurred_on)),
                   result_id=visit_id)
    return Recorded(visit_id, done.version, done.position)


def correct_visit(child_id: UUID, visit_id: UUID, *, kind: ContactKind | None, occurred_on: date | None,
                  notes: str | None, why: str | None, ctx: Context,
                  expected_version: int | None = None) -> Recorded:
    """Correct a logged contact; the original stays in the history."""
    return _change(ctx, "log_visit", child_id, expected_version,
                   lambda child: child.correct_visit(visit_id, kind=kind, visit_on=occurred_on, notes=notes,
                                                     why=why, stamp=ctx.stamp()))


def grant_aid(child_id: UUID, kind: AidKind, amount_fen: int, source: str, occurred_on: date, *, ctx: Context,
              expected_version: int | None = None) -> Recorded:
    """Record aid given to the child. Returns the aid record's id."""
    aid_id = uuid4()
    done = _change(ctx, "grant_aid", child_id, expected_version,
                   lambda child: child.grant_aid(aid_id, kind, amount_fen, source, stamp=ctx.stamp(occurred_on)),
                   result_id=aid_id)
    return Recorded(aid_id, done.version, done.position)


def forget_child(child_id: UUID, why: str, *, ctx: Context, expected_version: int | None = None) -> Recorded:
    """Crypto-shred the child: destroy its key in the same transaction as the `Forgotten` event."""
    return _change(ctx, "forget_child", child_id, expected_version,
                   lambda child: child.forget(why, stamp=ctx.stamp()), forget_subjects=[child_id])
