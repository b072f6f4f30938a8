"""Auditors' pages: verify the tenant's chain, download an export bundle, read a child's access log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template

from domain.errors import InvalidValue, NotFound
from services.api.audit import child_bundle, start_tenant_export, tenant_bundle
from services.api.security import Ctx
from services.app import audit
from services.app.context import Context
from services.web.forms import FormErrors, refused
from services.web.rendering import page


def _child_id(raw: str | None, *, required: bool) -> UUID | None:
    """A child's id typed or pasted into a form (the child page links here with it filled in)."""
    if not raw or not raw.strip():
        if required:
            raise InvalidValue("请填写儿童编号", field="child_id")
        return None
    try:
        return UUID(raw.strip())
    except ValueError:
        raise InvalidValue("儿童编号格式不正确", field="child_id") from None


def _audit_page(request: Request[Any, Any, Any], *, status: int = 200, **context: Any) -> Template:
    base: dict[str, Any] = {"verification": None, "access": None, "export_job": None, "export_errors": FormErrors(),
                            "access_errors": FormErrors(), "child_id": "", "users": {}}
    return page(request, "audit.html", status=status, **{**base, **context})


@get("/audit", sync_to_thread=True)
def audit_home(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromQuery[str | None] = None) -> Template:
    """The auditor's desk for this street."""
    ctx.require("audit")
    return _audit_page(request, child_id=child_id or "")


@get("/audit/verify", sync_to_thread=True)
def verify(request: Request[Any, Any, Any], ctx: Ctx) -> Template:
    """Recompute the hash chain and check the signed anchors; say where it first breaks, if anywhere."""
    return _audit_page(request, verification=audit.verify_chain(ctx=ctx))


@get("/audit/export", sync_to_thread=True)
def export(request: Request[Any, Any, Any], ctx: Ctx,
           child_id: FromQuery[str | None] = None) -> Response[bytes] | Redirect | Template:
    """A child's bundle as a download; without a child, the whole street's, made by a worker (see `export_job`)."""
    try:
        chosen = _child_id(child_id, required=False)
        if chosen is None:
            return Redirect(f"/t/{ctx.tenant}/audit/exports/{start_tenant_export(ctx, None)['id']}")
        bundle = audit.export_bundle(chosen, ctx=ctx)
    except (InvalidValue, NotFound) as exc:  # a bad or unknown id; a role that may not audit gets 403
        return _audit_page(request, status=422, export_errors=refused(exc, FormErrors()), child_id=child_id or "")
    return child_bundle(ctx.tenant, chosen, bundle)


@get("/audit/exports/{export_id:uuid}", sync_to_thread=True)
def export_job(request: Request[Any, Any, Any], ctx: Ctx, export_id: FromPath[UUID]) -> Template:
    """How the whole street's export is coming along (the page reloads itself until it is ready)."""
    return _audit_page(request, export_job=audit.tenant_export(export_id, ctx=ctx))


@get("/audit/exports/{export_id:uuid}/download", sync_to_thread=True)
def export_download(ctx: Ctx, export_id: FromPath[UUID]) -> Stream | Redirect:
    """The built bundle (each download is in the access log of every child in it)."""
    job, content = audit.read_tenant_export(export_id, ctx=ctx)
    if content is None:
        return Redirect(f"/t/{ctx.tenant}/audit/exports/{export_id}")
    return tenant_bundle(ctx.tenant, job, content)


@get("/audit/access-log", sync_to_thread=True)
def access_log(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromQuery[str | None] = None) -> Template:
    """Who read this child's personal data, when, and through what."""
    try:
        rows = audit.read_access_log(_child_id(child_id, required=True), ctx=ctx)
    except (InvalidValue, NotFound) as exc:  # a bad or unknown id; a role that may not audit gets 403
        return _audit_page(request, status=422, access_errors=refused(exc, FormErrors()), child_id=child_id or "")
    return _audit_page(request, access=rows, child_id=child_id or "", users=_names(ctx, rows))


def _names(ctx: Context, rows: list[dict[str, Any]]) -> dict[UUID, str]:
    """Usernames for the ids in the log, looked up once each."""
    directory: Any = ctx.directory
    names = {}
    for user_id in {row["user_id"] for row in rows}:
        user = directory.user(user_id)
        names[user_id] = user.username if user else str(user_id)
    return names
