"""Platform routes: tenants, their units, users and settings.

These writes go to the platform schema, not a tenant's log. With an `Idempotency-Key` a retried
create answers the first answer again (`execute_platform`); without one, a repeated create answers
409 (the code or username is taken) and records nothing. `PUT .../settings` replaces the settings
with the same value.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post, put
from litestar.params import JSONBody

from services.api.errors import READ_PROBLEMS, problem_responses
from services.api.idempotency import Retry, execute_platform
from services.api.schemas import Settings, Tenant, TenantCreate, Tenants, Unit, UnitCreate, User, UserCreate
from services.api.security import Ctx, platform_guard, tenant_guard
from services.app import platform

CREATE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)


def _tenant(t: Any) -> Tenant:
    return Tenant(code=t.code, name=t.name, district_code=t.district_code)


def _unit(u: Any) -> Unit:
    return Unit(code=u.code, name=u.name, level=u.level, parent=u.parent, tenant=u.tenant)


def _user(u: Any) -> User:
    return User(id=u.id, username=u.username, display_name=u.display_name, role=u.role, tenant=u.tenant,
                scope_unit=u.scope_unit, helper_id=u.helper_id)


class PlatformController(Controller):
    """Tenants and regional users (no tenant in the path)."""

    path = "/api/v1"
    guards = [platform_guard]
    tags = ["platform"]

    @post("/tenants", sync_to_thread=True, responses=CREATE_PROBLEMS)
    def create_tenant(self, data: JSONBody[TenantCreate], ctx: Ctx, retry: Retry) -> Response[Tenant]:
        """Host a street or town office (creates its street unit, and its district unit if new)."""
        return execute_platform(ctx, retry, lambda c: platform.create_tenant(
            data.code, data.name, data.district_code, data.district_name, ctx=c), _tenant)

    @get("/tenants", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_tenants(self, ctx: Ctx) -> Tenants:
        """The tenants the caller may address."""
        return Tenants([_tenant(t) for t in platform.visible_tenants(ctx=ctx)])

    @post("/users", sync_to_thread=True, responses=CREATE_PROBLEMS)
    def create_regional_user(self, data: JSONBody[UserCreate], ctx: Ctx, retry: Retry) -> Response[User]:
        """A district officer or auditor (scope: a district), or another platform admin."""
        return execute_platform(ctx, retry, lambda c: platform.create_user(
            data.username, data.password, data.display_name, data.role, data.scope_unit, tenant=None, ctx=c),
            _user)


class TenantAdminController(Controller):
    """A tenant's units, users and settings."""

    path = "/api/v1/tenants/{tenant:str}"
    guards = [tenant_guard]
    tags = ["platform"]

    @post("/units", sync_to_thread=True, responses=CREATE_PROBLEMS)
    def add_unit(self, data: JSONBody[UnitCreate], ctx: Ctx, retry: Retry) -> Response[Unit]:
        """Add a community or grid to the tenant's tree."""
        return execute_platform(ctx, retry, lambda c: platform.add_unit(
            c.tenant, data.code, data.name, data.level, data.parent, ctx=c), _unit)

    @post("/users", sync_to_thread=True, responses=CREATE_PROBLEMS)
    def create_user(self, data: JSONBody[UserCreate], ctx: Ctx, retry: Retry) -> Response[User]:
        """A user of this tenant; a `helper` user names its helper record in `helper_id`."""
        return execute_platform(ctx, retry, lambda c: platform.create_user(
            data.username, data.password, data.display_name, data.role, data.scope_unit, tenant=c.tenant,
            helper_id=data.helper_id, ctx=c), _user)

    @put("/settings", sync_to_thread=True, responses=problem_responses(400, 401, 403, 404, 413, 422))
    def put_settings(self, data: JSONBody[Settings], ctx: Ctx) -> Settings:
        """Replace the tenant's quotas and deadlines."""
        return Settings.of(platform.update_settings(ctx.tenant, data.to_domain(), ctx=ctx))
