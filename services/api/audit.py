"""Audit over HTTP: verify the tenant's chain, export a bundle, read the access log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromQuery, Parameter
from msgspec import Struct

from infra.bundle import dumps
from services.api.errors import READ_PROBLEMS
from services.api.security import Ctx
from services.app import audit


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


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/verify", sync_to_thread=True, responses=READ_PROBLEMS)
    def verify(self, ctx: Ctx) -> Verification:
        """Recompute the tenant's hash chain and check its signed anchors."""
        return Verification(**audit.verify_chain(ctx=ctx))

    @get("/export", sync_to_thread=True, responses=READ_PROBLEMS, media_type="application/json")
    def export(self, ctx: Ctx,
               child_id: Annotated[UUID | None, Parameter(description="omit for the whole tenant (its admin only)")]
               = None) -> Response[bytes]:
        """A bundle that `shouwang audit verify-bundle FILE` checks offline."""
        bundle = audit.export_bundle(child_id, ctx=ctx)
        name = f"shouwang-{ctx.tenant}-{child_id or 'tenant'}.json"
        return Response(dumps(bundle), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/access-log", sync_to_thread=True, responses=READ_PROBLEMS)
    def access_log(self, ctx: Ctx, child_id: FromQuery[UUID | None] = None) -> AccessLog:
        """Who read which child's personal data, when, through what (newest first)."""
        return AccessLog([Access(**row) for row in audit.read_access_log(child_id, ctx=ctx)])
