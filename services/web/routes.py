"""The web pages' routes: public pages, the signed-in pages of a tenant, static assets, and HTML errors."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from domain.errors import DomainError, Forbidden, NotFound
from services.api.security import tenant_guard
from services.web import pages_audit, pages_auth, pages_care, pages_children, pages_dashboard, pages_queue
from services.web.rendering import STATIC, page
from services.web.session import LoginRequired, session_guard

log = logging.getLogger("shouwang.web")


def _login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    return Redirect(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)


def _expired(request: Request[Any, Any, Any], _: NotAuthorizedException) -> Response[Any]:
    return Redirect(f"/login?next={quote(request.url.path, safe='')}", status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, key: str, detail: str | None = None) -> Response[Any]:
    return page(request, "error.html", status=status, key=key, detail=detail)


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """"Not found" and "not yours" read the same; other refusals show the use case's own words."""
    if isinstance(exc, NotFound):
        return _error_page(request, 404, "error.not_found")
    if isinstance(exc, Forbidden):
        return _error_page(request, 403, "error.forbidden", exc.message)
    return _error_page(request, 409, "error.refused", exc.message)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return _error_page(request, 400, "error.bad_request")
    if exc.status_code == 404:
        return _error_page(request, 404, "error.not_found")
    return _error_page(request, exc.status_code, "error.generic")


def _crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "error.crash")


WEB_ERRORS: dict[type[Exception], Any] = {
    LoginRequired: _login_required, NotAuthorizedException: _expired, DomainError: _domain,
    HTTPException: _http, Exception: _crash,
}

def create_web_router() -> Router:
    """The pages, as a router of their own (a new one per app: routers are not shared between apps)."""
    tenant_pages = Router(
        path="/t/{tenant:str}",
        guards=[session_guard, tenant_guard],
        route_handlers=[
            pages_children.register_list, pages_children.register_form, pages_children.register_submit,
            pages_children.child_file, pages_children.child_timeline,
            pages_care.visit_form, pages_care.visit_submit, pages_care.concern_form, pages_care.concern_submit,
            pages_care.concern_detail, pages_care.concern_act, pages_care.pair_form, pages_care.pair_submit,
            pages_care.pair_end_form, pages_care.pair_end_submit,
            pages_audit.audit_home, pages_audit.verify, pages_audit.export, pages_audit.export_job,
            pages_audit.export_download, pages_audit.access_log,
            pages_queue.concern_queue,
        ],
    )
    static_assets = create_static_files_router(
        path="/static", directories=[STATIC], include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600, public=True))
    # Pages authenticate with the session cookie (session_guard), not the API's bearer header.
    return Router(
        path="/",
        route_handlers=[pages_auth.front_door, pages_auth.login_form, pages_auth.login_submit, pages_auth.logout,
                        pages_auth.switch_language, pages_auth.home, pages_dashboard.dashboard_page,
                        pages_queue.notification_stream, tenant_pages, static_assets],
        opt={"exclude_from_auth": True},
        include_in_schema=False,
        exception_handlers=WEB_ERRORS,
    )
