"""Browser sessions: the API's own token, carried in an HttpOnly, SameSite=Strict cookie.

Logging in goes through the API's `Authenticator` (same password check, same throttle, same
token); each page request decodes the cookie with the API's signing key and then resolves the
use cases' `Context` with the API's own guards, so permissions live in one place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import Token

from domain.errors import Forbidden
from infra.bootstrap import Infrastructure
from services.api.security import TOKEN_LIFETIME, token_secret

SESSION_COOKIE = "shouwang_session"
LANG_COOKIE = "shouwang_lang"
ALGORITHM = "HS256"  # JWTAuth's default, with which the API signs its tokens


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page and brought back afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def lang_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Chinese unless the user switched to English."""
    return "en" if connection.cookies.get(LANG_COOKIE) == "en" else "zh"


def session_cookie(token: str, *, secure: bool) -> Cookie:
    """The cookie holding the token: invisible to scripts, never sent on a cross-site request."""
    return Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="strict", secure=secure, path="/",
                  max_age=int(TOKEN_LIFETIME.total_seconds()))


def cleared_cookie(*, secure: bool) -> Cookie:
    """The session cookie, expired."""
    return Cookie(key=SESSION_COOKIE, value="", httponly=True, samesite="strict", secure=secure, path="/",
                  max_age=0)


def local_path(candidate: str | None, default: str = "/home") -> str:
    """`candidate` if it is a path on this site, else `default`: a login link must not send users elsewhere."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
        return default
    parts = urlsplit(candidate)
    return candidate if not parts.scheme and not parts.netloc else default


def _requested(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    query = connection.scope.get("query_string", b"").decode("latin-1")
    return quote(connection.scope["path"] + (f"?{query}" if query else ""), safe="/?=&")


def _user_of_token(infra: Infrastructure, encoded: str) -> Any:
    try:
        token = Token.decode(encoded, token_secret(infra.settings.master_key), ALGORITHM)
        return infra.directory.user(UUID(token.sub))
    except (NotAuthorizedException, ValueError):
        return None


def _check_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Refuse a form posted from another site (the SameSite cookie already stops it; this is a second lock)."""
    origin = connection.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != connection.headers.get("host"):
        raise Forbidden("跨站提交已被拒绝")


async def session_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Who the browser is, from its session cookie; sends it to log in when there is none."""
    encoded = connection.cookies.get(SESSION_COOKIE)
    infra: Infrastructure = connection.app.state.infra
    user = await anyio.to_thread.run_sync(_user_of_token, infra, encoded) if encoded else None
    if user is None:
        raise LoginRequired(_requested(connection))
    connection.scope["user"] = user
    if connection.scope.get("method") == "POST":
        _check_origin(connection)
