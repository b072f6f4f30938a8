"""Who is calling and where they may act: the one layer that turns a token and a path into a Context.

The bearer token names a user; the guards here resolve the use cases' `Context` once per request
(tenant, role, scope, the tenant's log, the clock) and keep it on the connection. Handlers take it
as the `ctx` dependency and never see a raw tenant id. Addressing a tenant one may not see answers
404, exactly like a tenant or id that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import SkipValidation
from litestar.security.jwt import JWTAuth, Token

from domain.access import REGIONAL_ROLES
from domain.errors import NotFound
from infra.bootstrap import Infrastructure
from infra.directory import Directory, User
from services.app.context import Context

TOKEN_LIFETIME = timedelta(hours=12)
# Handlers declare `ctx: Ctx`; the Context is built here, so litestar need not re-validate it.
Ctx = SkipValidation[Context]
PUBLIC_PATHS = ["^/$", "^/health$", "^/api/v1/auth/login$", "^/schema"]


def token_secret(master_key: bytes) -> str:
    """The JWT signing key: derived from the master key, so no second secret needs configuring."""
    return hmac.new(master_key, b"shouwang:jwt", hashlib.sha256).hexdigest()


def jwt_auth(infra: Infrastructure) -> JWTAuth[User, Token]:
    """Bearer-token authentication; the token's subject is a user id looked up on every request."""

    async def current_user(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> User | None:
        try:
            user_id = UUID(token.sub)
        except ValueError:
            return None
        return await anyio.to_thread.run_sync(infra.directory.user, user_id)

    return JWTAuth[User, Token](
        retrieve_user_handler=current_user,
        token_secret=token_secret(infra.settings.master_key),
        default_token_expiration=TOKEN_LIFETIME,
        exclude=PUBLIC_PATHS,
        description="A token from POST /api/v1/auth/login",
    )


def tenant_scope(user: User, tenant: str, directory: Directory) -> str | None:
    """The unit subtree `user` works in when addressing `tenant`, or None if that tenant is not theirs to address."""
    if user.role == "platform_admin":
        return tenant if directory.tenant(tenant) is not None else None
    if user.role in REGIONAL_ROLES:
        district = user.scope_unit
        in_district = district is not None and tenant.startswith(district)
        return district if in_district and directory.tenant(tenant) is not None else None
    return user.scope_unit if user.tenant == tenant else None


def _infra(connection: ASGIConnection[Any, Any, Any, Any]) -> Infrastructure:
    return connection.app.state.infra


async def tenant_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Resolve the Context for a route under a tenant (`{tenant}` in the path); 404 if it is not the caller's."""
    infra, user = _infra(connection), connection.user
    tenant = connection.path_params.get("tenant", "")
    if not (len(tenant) == 9 and tenant.isascii() and tenant.isdigit()):
        raise NotFound("not found")
    scope = await anyio.to_thread.run_sync(tenant_scope, user, tenant, infra.directory)
    if scope is None:
        raise NotFound("not found")
    connection.state.ctx = Context(
        tenant=tenant, actor=user.id, role=user.role, scope=scope, now=datetime.now(UTC),
        directory=infra.directory, log=infra.logs[tenant], helper_id=user.helper_id, via=_via(connection),
    )


async def platform_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Resolve the Context for a platform route (no tenant in the path): the caller's own tenant, if any."""
    infra, user = _infra(connection), connection.user
    connection.state.ctx = Context(
        tenant=user.tenant, actor=user.id, role=user.role, scope=user.scope_unit, now=datetime.now(UTC),
        directory=infra.directory, log=infra.logs[user.tenant] if user.tenant else None, helper_id=user.helper_id,
        via=_via(connection),
    )


def _via(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """What the access log says a read came through: the method and path."""
    return f"{connection.scope.get('method', 'WS')} {connection.scope['path']}"


def current_context(request: Request[User, Token, Any]) -> Context:
    """The `ctx` dependency: the Context a guard resolved for this request."""
    return request.state.ctx
