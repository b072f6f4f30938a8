"""The app factory: every route, guard, dependency and error handler of the HTTP API is wired here."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from infra.bootstrap import Infrastructure
from infra.broker import BrokerProbe
from infra.notify_channels import channels_plugin
from infra.read_models import create_read_pool
from services.api.activities import ActivityController
from services.api.audit import AuditController
from services.api.auth import Authenticator, LoginThrottle, login
from services.api.children import ChildController
from services.api.concerns import ConcernController
from services.api.dashboards import ConcernQueueController, UnitController
from services.api.errors import EXCEPTION_HANDLERS
from services.api.health import health
from services.api.helpers import HelperController, PairController
from services.api.idempotency import provide_expected_version, provide_retry_key
from services.api.platform import PlatformController, TenantAdminController
from services.api.register import RegisterController
from services.api.security import current_context, jwt_auth, tenant_guard
from services.api import notifications, reports
from services.web.routes import create_web_router
from services.web.rendering import template_config

MAX_BODY_BYTES = 1024 * 1024


def create_app(infra: Infrastructure) -> Litestar:
    """The Litestar application serving the API against `infra`."""
    auth = jwt_auth(infra)
    authenticator = Authenticator(infra.directory, auth, LoginThrottle())
    broker_probe = BrokerProbe(infra.settings.broker_url)  # /health's broker check, remembered for a few seconds
    tenant_routes = Router(
        path="/api/v1/t/{tenant:str}",
        route_handlers=[RegisterController, ChildController, HelperController, PairController, ConcernController,
                        ConcernQueueController, ActivityController, AuditController],
        guards=[tenant_guard],
        dependencies={"expected_version": Provide(provide_expected_version, sync_to_thread=False)},
    )
    async def open_read_pool(app: Litestar) -> None:
        app.state.read_pool = await create_read_pool(infra.database_url)

    async def close_read_pool(app: Litestar) -> None:
        await app.state.read_pool.close()

    return Litestar(
        on_startup=[open_read_pool],
        on_shutdown=[close_read_pool],
        route_handlers=[create_web_router(), health, login, PlatformController, TenantAdminController, UnitController,
                        tenant_routes,
                        *notifications.ROUTES, *reports.ROUTES],
        plugins=[channels_plugin(infra.database_url)],  # relays each user's pg_notify to its open streams
        dependencies={
            "ctx": Provide(current_context, sync_to_thread=False),
            "retry": Provide(provide_retry_key),  # every POST, tenant commands and platform writes alike
            "infra": Provide(lambda: infra, sync_to_thread=False),
            "authenticator": Provide(lambda: authenticator, sync_to_thread=False),
            "broker_probe": Provide(lambda: broker_probe, sync_to_thread=False),
        },
        state=State({"infra": infra}),
        on_app_init=[auth.on_app_init],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=template_config(),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Shouwang API", version="1", path="/schema",
            description="守望: a multi-tenant, event-sourced case platform for left-behind children's care work.",
        ),
    )
