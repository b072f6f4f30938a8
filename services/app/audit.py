"""Use cases of audit: verify the chain, export a bundle, read the access log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.app.common import load_child
from services.app.context import Context


def _auditor(ctx: Context) -> None:
    """Auditors (in their district) and the tenant's own admin; the edge has checked the tenant."""
    ctx.require("audit")


def verify_chain(*, ctx: Context) -> dict[str, Any]:
    """Recompute the tenant's hash chain; report the first bad position."""
    _auditor(ctx)
    return ctx.case_log.verify()


def export_bundle(child_id: UUID | None, *, ctx: Context) -> dict[str, Any]:
    """A self-contained bundle of one child's events (tenant admins may export the whole log)."""
    _auditor(ctx)
    if child_id is None:
        ctx.require("export_tenant")
    else:
        load_child(ctx, child_id)
        ctx.case_log.record_access(ctx.actor, ctx.role, child_id, ctx.via)
    return ctx.case_log.export(child_id)


def read_access_log(child_id: UUID | None, *, ctx: Context) -> list[dict[str, Any]]:
    """Who read which child's personal data, when, through what."""
    _auditor(ctx)
    return ctx.case_log.access_log(child_id)
