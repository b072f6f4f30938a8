"""The front door: logging in and out, the language switch, and a home page that fits the role."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import Body, FromPath, QueryParameter, SkipValidation
from litestar.response import Redirect, Template

from services.api.auth import Authenticator
from services.api.security import Ctx, platform_guard
from services.app import platform
from services.web.rendering import page
from services.web.session import (
    LANG_COOKIE, SESSION_COOKIE, cleared_cookie, lang_of, local_path, session_cookie, session_guard,
)
from services.web.messages import text

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
NextPath = Annotated[str | None, QueryParameter(name="next", description="where to go afterwards (a local path)")]


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https"


@get("/")
async def front_door(request: Request[Any, Any, Any]) -> Redirect:
    """The pages when logged in, the login form otherwise."""
    return Redirect("/home" if request.cookies.get(SESSION_COOKIE) else "/login")


@get("/login")
async def login_form(request: Request[Any, Any, Any], next_path: NextPath = None) -> Template:
    """The login form."""
    return page(request, "login.html", next=local_path(next_path), username="", error=None)


@post("/login", sync_to_thread=True)
def login_submit(request: Request[Any, Any, Any], data: Form,
                 authenticator: SkipValidation[Authenticator]) -> Template | Redirect:
    """Check the password with the API's authenticator (and its throttle); keep the token in a cookie."""
    username, lang = data.get("username", "").strip(), lang_of(request)
    next_path = local_path(data.get("next"))
    client = request.client.host if request.client else "unknown"
    try:
        answer = authenticator.login(username, data.get("password", ""), client)
    except TooManyRequestsException:
        return page(request, "login.html", status=429, next=next_path, username=username,
                    error=text("login.throttled", lang))
    except NotAuthorizedException:
        return page(request, "login.html", status=401, next=next_path, username=username,
                    error=text("login.failed", lang))
    return Redirect(next_path, status_code=303, cookies=[session_cookie(answer.access_token,
                                                                        secure=_secure(request))])


@post("/logout", guards=[session_guard])
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """Forget the session in this browser."""
    return Redirect("/login", status_code=303, cookies=[cleared_cookie(secure=_secure(request))])


@get("/lang/{code:str}")
async def switch_language(request: Request[Any, Any, Any], code: FromPath[str],
                          next_path: NextPath = None) -> Redirect:
    """简体中文 or English, remembered for a year."""
    lang = "en" if code == "en" else "zh"
    cookie = Cookie(key=LANG_COOKIE, value=lang, samesite="lax", path="/", max_age=365 * 24 * 3600,
                    secure=_secure(request))
    return Redirect(local_path(next_path, "/"), status_code=303, cookies=[cookie])


@get("/home", guards=[session_guard, platform_guard], sync_to_thread=True)
def home(request: Request[Any, Any, Any], ctx: Ctx) -> Template:
    """What this role does first: its own street's work, or the streets a regional user may look into."""
    unit = ctx.directory.unit(ctx.scope) if ctx.scope else None
    tenants = platform.visible_tenants(ctx=ctx)
    return page(request, "home.html", unit=unit, tenants=tenants)
