"""Use cases the scheduler runs (role "system"): deadlines that enforce themselves.

Each takes an id and decides again from the aggregate, so a check that runs twice, or two
checks racing, record at most once: the second finds nothing overdue (the concern moved on) or
finds the lapse already recorded (its stream exists).
"""

from __future__ import annotations

from uuid import UUID

from domain.child import Child
from domain.concern import Concern
from domain.deadlines import ContactLapse, acknowledgement_overdue, contact_lapsed_since
from domain.errors import Conflict
from services.app.common import Recorded, retrying
from services.app.context import Context


def escalate_overdue_concern(concern_id: UUID, *, ctx: Context) -> Recorded | None:
    """Escalate an urgent concern its level left unacknowledged past the tenant's `urgent_ack_hours`; else nothing."""
    ctx.require("enforce_deadlines")
    hours = ctx.directory.settings(ctx.case_log.tenant).urgent_ack_hours

    def attempt() -> Recorded | None:
        concern = ctx.case_log.load(Concern, concern_id)
        if not acknowledgement_overdue(concern, ctx.now, hours):
            return None
        concern.escalate(f"{hours}小时内未确认，系统自动上报", stamp=ctx.stamp())
        return Recorded(concern.id, concern.version, ctx.case_log.record(concern))

    # A concurrent write (an acknowledgement, another check) makes `attempt` decide again on the new state.
    return retrying(attempt)


def notice_contact_lapse(child_id: UUID, *, ctx: Context) -> Recorded | None:
    """Record once that an open child has had no contact for the tenant's `max_days_without_contact`; else nothing."""
    ctx.require("enforce_deadlines")
    max_days = ctx.directory.settings(ctx.case_log.tenant).max_days_without_contact
    child = ctx.case_log.load(Child, child_id)
    since = contact_lapsed_since(child, ctx.today, max_days)
    if since is None:
        return None
    lapse = ContactLapse.notice(child_id, child.grid, since, (ctx.today - since).days, stamp=ctx.stamp())
    try:
        position = ctx.case_log.record(lapse)
    except Conflict:
        return None  # this lapse's stream exists: it was noticed already
    return Recorded(lapse.id, lapse.version, position)
