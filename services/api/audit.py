"""Audit over HTTP: verify the tenant's chain, export a bundle (a child's at once, the whole tenant's through
a job a worker builds), read the access log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Stream
from msgspec import Struct

from infra.bundle import dumps
from services.api.errors import READ_PROBLEMS, problem_responses
from services.api.idempotency import IdempotencyHeader
from services.api.security import Ctx
from services.app import audit

# How long a client should wait before asking again whether an export is ready.
RETRY_AFTER_S = 1


class Verification(Struct):
    ok: bool
    events_checked: int
    head_position: int
    head_hash: str | None
    first_bad_position: int | None
    anchors_checked: int


class Access(Struct):
    id: int
    at: datetime
    user_id: UUID
    role: str
    child_id: UUID
    via: str


class AccessLog(Struct):
    items: list[Access]


class ExportJob(Struct):
    """A whole-tenant export being made: fetch `url` until it answers 200 with the bundle."""

    id: UUID
    status: str  # queued | running (the bundle itself is the 200 answer of `url`)
    requested_at: datetime
    head_position: int
    url: str


_JOB_RESPONSES: dict[int, ResponseSpec] = {
    202: ResponseSpec(ExportJob, description="Accepted: the export is being made; `Location` says where to fetch it",
                      generate_examples=False)}


def _job_url(tenant: str, export_id: UUID) -> str:
    return f"/api/v1/t/{tenant}/audit/exports/{export_id}"


def _accepted(tenant: str, job: dict[str, Any]) -> Response[ExportJob]:
    url = _job_url(tenant, job["id"])
    body = ExportJob(id=job["id"], status=job["status"], requested_at=job["requested_at"],
                     head_position=job["head_position"], url=url)
    return Response(body, status_code=202, headers={"Location": url, "Retry-After": str(RETRY_AFTER_S)})


def _attachment(tenant: str, what: Any) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="shouwang-{tenant}-{what}.json"'}


def child_bundle(tenant: str, child_id: UUID, bundle: dict[str, Any]) -> Response[bytes]:
    """A child's bundle as a download (the API and the pages)."""
    return Response(dumps(bundle), media_type="application/json", headers=_attachment(tenant, child_id))


def tenant_bundle(tenant: str, job: dict[str, Any], content: Iterator[bytes]) -> Stream:
    """A built whole-tenant bundle as a streamed download (the API and the pages)."""
    return Stream(content, media_type="application/json",
                  headers={**_attachment(tenant, f"tenant-{job['end_position']}"), "Content-Length": str(job["bytes"])})


def start_tenant_export(ctx: Any, key: str | None) -> dict[str, Any]:
    """The caller's export job of this moment (or key); a new one is handed to a worker (the API and the pages)."""
    from services.worker.tasks import build_export

    job, new = audit.request_tenant_export(key, ctx=ctx)
    if new:
        try:
            build_export.delay(ctx.tenant, str(job["id"]))
        except Exception:
            ctx.case_log.abandon_export(job["id"])  # never left queued without a task; the request records nothing
            raise
    return job


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/verify", sync_to_thread=True, responses=READ_PROBLEMS)
    def verify(self, ctx: Ctx) -> Verification:
        """Recompute the tenant's hash chain and check its signed anchors."""
        return Verification(**audit.verify_chain(ctx=ctx))

    @get("/export", sync_to_thread=True, responses={**READ_PROBLEMS, **_JOB_RESPONSES}, media_type="application/json")
    def export(self, ctx: Ctx,
               child_id: Annotated[UUID | None, Parameter(
                   description="a child's bundle, at once; omit for the whole tenant: 202 and a `Location` "
                               "(tenant admins and auditors whose scope holds the street)")] = None) -> Response[Any]:
        """A bundle that `shouwang audit verify-bundle FILE` checks offline."""
        if child_id is None:
            return _accepted(ctx.tenant, start_tenant_export(ctx, None))
        return child_bundle(ctx.tenant, child_id, audit.export_bundle(child_id, ctx=ctx))

    @post("/exports", sync_to_thread=True, status_code=202,
          responses={**problem_responses(401, 403, 404, 422), **_JOB_RESPONSES})
    def request_export(self, ctx: Ctx, idempotency_key: IdempotencyHeader = None) -> Response[ExportJob]:
        """Ask for a whole-tenant export (as `GET /export` without `child_id`); 202 and its `Location`.

        A retry gets the same job: the same `Idempotency-Key`, or any request while the log has not moved.
        """
        return _accepted(ctx.tenant, start_tenant_export(ctx, idempotency_key))

    @get("/exports/{export_id:uuid}", sync_to_thread=True, media_type="application/json",
         responses={**problem_responses(401, 403, 404, 409), **_JOB_RESPONSES})
    def fetch_export(self, ctx: Ctx, export_id: FromPath[UUID]) -> Response[Any]:
        """202 while the export is made; then 200 with the bundle (each read is in the access log)."""
        job, content = audit.read_tenant_export(export_id, ctx=ctx)
        if content is None:
            return _accepted(ctx.tenant, job)
        return tenant_bundle(ctx.tenant, job, content)

    @get("/access-log", sync_to_thread=True, responses=READ_PROBLEMS)
    def access_log(self, ctx: Ctx, child_id: FromQuery[UUID | None] = None) -> AccessLog:
        """Who read which child's personal data, when, through what (newest first)."""
        return AccessLog([Access(**row) for row in audit.read_access_log(child_id, ctx=ctx)])
