"""The tasks: each takes ids (and, for tests and catch-up, an injected time), rebuilds its tenant context and
calls use cases. Every one is idempotent: running it twice changes nothing more than running it once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.access import SYSTEM
from infra import audit, deadline_reads, reports
from services.app import audit as audit_cases
from services.app.context import Context
from services.app.deadlines import escalate_overdue_concern, notice_contact_lapse
from services.worker.app import app, infrastructure

# The scheduler's own id: events it records name the actor "system" (Context.stamp), never this id.
SYSTEM_ACTOR = UUID(int=0)


def _now(now: str | None) -> datetime:
    return datetime.fromisoformat(now) if now else datetime.now(UTC)


def system_context(tenant: str, now: datetime) -> Context:
    """The context the scheduler acts in for one tenant."""
    infra = infrastructure()
    return Context(tenant=tenant, actor=SYSTEM_ACTOR, role=SYSTEM, scope=tenant, now=now, directory=infra.directory,
                   log=infra.logs[tenant], via="scheduler")


@app.task(name="shouwang.deadlines.sweep")
def sweep_deadlines(now: str | None = None) -> int:
    """Queue the deadline check of every tenant; return how many were queued."""
    tenants = [t.code for t in infrastructure().directory.tenants()]
    for tenant in tenants:
        check_deadlines.delay(tenant, now)
    return len(tenants)


@app.task(name="shouwang.deadlines.check")
def check_deadlines(tenant: str, now: str | None = None) -> dict[str, list[str]]:
    """Escalate a tenant's overdue urgent concerns and notice its children's lapses of contact."""
    ctx = system_context(tenant, _now(now))
    settings = ctx.directory.settings(tenant)
    infra = infrastructure()
    escalated = [str(concern_id) for concern_id in deadline_reads.overdue_concerns(
        infra.datastore, tenant, ctx.now, settings.urgent_ack_hours) if escalate_overdue_concern(concern_id, ctx=ctx)]
    reminded = [str(child_id) for child_id in deadline_reads.lapsed_children(
        infra.datastore, tenant, ctx.today, settings.max_days_without_contact) if notice_contact_lapse(child_id, ctx=ctx)]
    return {"escalated": escalated, "reminded": reminded}


@app.task(name="shouwang.reports.quarterly")
def quarterly_reports(period: str | None = None) -> int:
    """Queue the report of every street and district for a quarter (default: the one just ended)."""
    period = period or reports.previous_quarter(datetime.now(UTC).astimezone(reports.SHANGHAI).date())
    units = reports.reporting_units(infrastructure().datastore)
    for code in units:
        make_report.delay(code, period)
    return len(units)


@app.task(name="shouwang.reports.make")
def make_report(unit: str, period: str, semester: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Write a unit's report (.xlsx) for a period, replacing any earlier one of the same period."""
    at = _now(now)
    semester = semester or reports.semester_of_period(period, at)
    content = reports.build(infrastructure(), unit, period, semester, at)
    reports.store(infrastructure().datastore, unit, period, semester, content)
    return {"unit": unit, "period": period, "semester": semester, "bytes": len(content)}


@app.task(name="shouwang.audit.anchor")
def anchor_chains() -> int:
    """Sign the hash-chain head of every tenant whose head moved since its last anchor (safe to run twice)."""
    infra = infrastructure()
    return audit.anchor_all(infra.datastore, [t.code for t in infra.directory.tenants()],
                            audit.signing_key(infra.settings.master_key))


@app.task(name="shouwang.audit.export")
def build_export(tenant: str, export_id: str) -> dict[str, Any]:
    """Build a whole-tenant audit export that was asked for (a second run leaves a done export as it is)."""
    return audit_cases.build_tenant_export(UUID(export_id), ctx=system_context(tenant, _now(None)))
