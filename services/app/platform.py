"""Use cases of the platform: tenants, units, users, settings, login."""

from __future__ import annotations

from uuid import UUID

from typing import Any

from domain.access import REGIONAL_ROLES, ROLES, TENANT_ROLES
from domain.errors import InvalidValue, NotFound
from domain.helper import Helper
from domain.settings import TenantSettings
from domain.units import level_of, validate_child_unit
from services.app.context import Context


def create_tenant(code: str, name: str, district_code: str, district_name: str, *, ctx: Context) -> Any:
    """Host a new street or town office on the platform."""
    ctx.require("manage_platform")
    if level_of(district_code) != "district":
        raise InvalidValue("区县代码应为6位数字", field="district_code")
    if len(code) != 9 or not code.isdigit():
        raise InvalidValue("街道/乡镇代码应为9位数字", field="code")
    if not code.startswith(district_code):
        raise InvalidValue("街道代码必须以区县代码开头", field="code")
    return ctx.directory.create_tenant(code, name, district_code, district_name, TenantSettings())


def visible_tenants(*, ctx: Context) -> list[Any]:
    """The tenants the caller may address: every one for a platform admin, its district's for a
    regional user, its own for a tenant user."""
    tenants = ctx.directory.tenants()
    if ctx.role == "platform_admin":
        return tenants
    if ctx.role in REGIONAL_ROLES:
        return [t for t in tenants if ctx.in_scope(t.code)]
    return [t for t in tenants if t.code == ctx.tenant]


def _own_tenant(ctx: Context, tenant: str) -> None:
    """Platform admins manage every tenant; a tenant admin only its own (others look absent)."""
    ctx.require("manage_tenant")
    if ctx.directory.tenant(tenant) is None or (ctx.role != "platform_admin" and ctx.tenant != tenant):
        raise NotFound("not found")


def add_unit(tenant: str, code: str, name: str, level: str, parent: str, *, ctx: Context) -> Any:
    """Add a community or grid to a tenant's tree."""
    _own_tenant(ctx, tenant)
    if level not in ("community", "grid"):
        raise InvalidValue("单位级别只能是 community 或 grid", field="level")
    parent_unit = ctx.directory.unit(parent)
    if parent_unit is None or parent_unit.tenant != tenant:
        raise InvalidValue("上级单位不存在", field="parent")
    validate_child_unit(code, parent, level)  # type: ignore[arg-type]
    return ctx.directory.add_unit(code, name, level, parent, tenant)


def create_user(username: str, password: str, display_name: str, role: str, scope_unit: str, *,
                tenant: str | None, helper_id: UUID | None = None, ctx: Context) -> Any:
    """Create a user of a tenant (tenant is set) or a regional user (district officer, auditor)."""
    if role not in ROLES:
        raise InvalidValue("未知角色", field="role")
    if len(password) < 8:
        raise InvalidValue("密码至少8位", field="password")
    directory = ctx.directory
    unit = directory.unit(scope_unit)
    if tenant is not None:
        _own_tenant(ctx, tenant)
        if role not in TENANT_ROLES:
            raise InvalidValue("该角色不属于租户", field="role")
        if unit is None or unit.tenant != tenant:
            raise InvalidValue("管辖单位不属于该租户", field="scope_unit")
        if role == "helper":
            if helper_id is None:
                raise InvalidValue("帮扶人账号须关联帮扶人", field="helper_id")
            try:
                ctx.case_log.load(Helper, helper_id)
            except NotFound:
                raise InvalidValue("帮扶人不存在", field="helper_id") from None
    else:
        ctx.require("manage_platform")
        if role not in REGIONAL_ROLES | {"platform_admin"}:
            raise InvalidValue("该角色须属于某个租户", field="role")
        if role != "platform_admin" and (unit is None or unit.level != "district"):
            raise InvalidValue("区级用户的管辖单位须为区县", field="scope_unit")
    return directory.create_user(username=username, password=password,
                                 display_name=display_name, role=role, tenant=tenant,
                                 scope_unit=scope_unit, helper_id=helper_id)


def update_settings(tenant: str, settings: TenantSettings, *, ctx: Context) -> TenantSettings:
    """Replace a tenant's quotas and deadlines."""
    _own_tenant(ctx, tenant)
    if settings.helper_capacity < 1:
        raise InvalidValue("每名帮扶人至少可结对1名儿童", field="helper_capacity")
    if settings.urgent_ack_hours < 1:
        raise InvalidValue("紧急事项确认时限至少1小时", field="urgent_ack_hours")
    ctx.directory.put_settings(tenant, settings)
    return settings
