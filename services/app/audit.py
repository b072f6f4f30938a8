"""Use cases of audit: verify the chain, export a bundle (a child's now, the whole tenant's by a worker),
read the access log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from domain.errors import Conflict, NotFound
from services.app.common import load_child
from services.app.context import Context


def _auditor(ctx: Context) -> None:
    """Auditors (in their district) and the tenant's own admin; the edge has checked the tenant."""
    ctx.require("audit")


def _whole_tenant(ctx: Context) -> None:
    """Tenant admins and auditors whose scope holds the whole street (API.md: exports in their scope)."""
    _auditor(ctx)
    ctx.require("export_tenant")
    ctx.require_scope(ctx.case_log.tenant)


def verify_chain(*, ctx: Context) -> dict[str, Any]:
    """Recompute the tenant's hash chain; report the first bad position."""
    _auditor(ctx)
    return ctx.case_log.verify()


def export_bundle(child_id: UUID, *, ctx: Context) -> dict[str, Any]:
    """A self-contained bundle of one child's events, made now (a whole tenant's is a job: `request_tenant_export`)."""
    _auditor(ctx)
    load_child(ctx, child_id)
    ctx.case_log.record_access(ctx.actor, ctx.role, child_id, ctx.via)
    return ctx.case_log.export(child_id)


def request_tenant_export(key: str | None = None, *, ctx: Context) -> tuple[dict[str, Any], bool]:
    """The caller's whole-tenant export job at the log's current head (or under its idempotency key).

    Returns the job and whether it is new (then a worker must be asked to build it). A retry at the
    same head, or with the same key, gets the same job: one export per moment.
    """
    _whole_tenant(ctx)
    return ctx.case_log.request_export(ctx.actor, ctx.role, key)


def tenant_export(export_id: UUID, *, ctx: Context) -> dict[str, Any]:
    """One of the caller's own export jobs (anyone else's is NotFound, like an unknown id)."""
    _whole_tenant(ctx)
    job = ctx.case_log.export_job(export_id)
    if job is None or job["requested_by"] != ctx.actor:
        raise NotFound("not found")
    return job


def read_tenant_export(export_id: UUID, *, ctx: Context) -> tuple[dict[str, Any], Iterator[bytes] | None]:
    """The job, and its bundle once built (None while it is made); reading it is logged for every child in it."""
    job = tenant_export(export_id, ctx=ctx)
    if job["status"] in ("queued", "running"):
        return job, None
    if job["status"] == "erased":
        raise Conflict("导出后有儿童的个人信息被删除，该导出已作废；请重新申请导出")
    if job["status"] == "failed":
        raise Conflict("导出失败，请重新申请导出")
    ctx.case_log.record_export_access(job, ctx.actor, ctx.role, ctx.via)
    return job, ctx.case_log.export_content(job)


def build_tenant_export(export_id: UUID, *, ctx: Context) -> dict[str, Any]:
    """Build a requested whole-tenant export (the scheduler's work; running it twice builds it once)."""
    ctx.require("build_exports")
    return ctx.case_log.build_export(export_id)


def read_access_log(child_id: UUID | None, *, ctx: Context) -> list[dict[str, Any]]:
    """Who read which child's personal data, when, through what."""
    _auditor(ctx)
    return ctx.case_log.access_log(child_id)
