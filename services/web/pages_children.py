"""Children's pages: the register with search and filters, registering a child, the file and its timeline."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from domain.errors import DomainError
from services.api.register import RegisterController
from services.api.schemas import ChildCreate
from services.api.security import Ctx
from services.app import children
from services.app.context import Context
from services.web.child_view import child_page, timeline
from services.web.forms import FormErrors, convert, nest, refused
from services.web.rendering import page
from services.web.session import lang_of

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE = 50


def units_in_scope(ctx: Context, tenant: str) -> list[Any]:
    """The communities and grids the caller may filter by or register into, in code order."""
    root = ctx.scope if ctx.scope and ctx.scope.startswith(tenant) else tenant
    return [u for u in ctx.directory.units_under(root) if u.level in ("community", "grid")]


@get("/children")
async def register_list(request: Request[Any, Any, Any], ctx: Ctx, state: State, tenant: FromPath[str],
                        q: FromQuery[str | None] = None, unit: FromQuery[str | None] = None,
                        status: FromQuery[str | None] = "open", cursor: FromQuery[str | None] = None,
                        min_position: Annotated[int | None, QueryParameter(ge=0)] = None) -> Template:
    """The children in the caller's scope, searchable by name or ID number, filtered by unit and status."""
    # The API's own read: the same scope, helper and personal-data rules, no second copy of them.
    found = await RegisterController.list.fn(None, ctx=ctx, state=state, unit=unit or None,
                                             status=status or None, q=q or None, limit=PAGE_SIZE,
                                             cursor=cursor or None, min_position=min_position)
    units = units_in_scope(ctx, tenant)
    return page(request, "children.html", items=found.items, next_cursor=found.next_cursor,
                units=units, unit_names={u.code: u.name for u in units},
                filters={"q": q or "", "unit": unit or "", "status": status or ""})


def _grids(ctx: Context, tenant: str) -> list[tuple[str, str]]:
    """(code, name) of the grids a child may be registered into."""
    return [(u.code, u.name) for u in units_in_scope(ctx, tenant) if u.level == "grid"]


@get("/children/new", sync_to_thread=True)
def register_form(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str]) -> Template:
    """The registration form (一人一档)."""
    ctx.require("register_child")
    grids = _grids(ctx, tenant)
    values = {"grid": grids[0][0]} if len(grids) == 1 else {}
    return page(request, "child_new.html", grids=grids, values=values, errors=FormErrors())


@post("/children/new", sync_to_thread=True)
def register_submit(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str],
                    data: Form) -> Template | Redirect:
    """Register through the use case; any refusal is shown beside its field."""
    errors = FormErrors()
    body = convert(nest(data), ChildCreate, errors, lang_of(request))
    if body is not None:
        try:
            done = children.register_child(body.to_details(), ctx=ctx)
            return Redirect(f"/t/{tenant}/children/{done.id}?done=registered", status_code=303)
        except DomainError as exc:
            refused(exc, errors)
    return page(request, "child_new.html", status=422, grids=_grids(ctx, tenant), values=data, errors=errors)


@get("/children/{child_id:uuid}", sync_to_thread=True)
def child_file(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
               done: FromQuery[str | None] = None) -> Template:
    """The child's file: profile, helpers, contacts this semester against the quota, concerns, aid."""
    view = child_page(child_id, ctx=ctx)
    grid = ctx.directory.unit(view["file"]["grid"])
    return page(request, "child.html", child_id=child_id, grid=grid, done=done, **view)


@get("/children/{child_id:uuid}/history", sync_to_thread=True)
def child_timeline(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
                   on: FromQuery[date | None] = None) -> Template:
    """Every event about the child, and the file as it stood at the end of the chosen date."""
    view = timeline(child_id, on, ctx=ctx)
    grid = ctx.directory.unit(view["file"]["grid"]) if view["file"] else None
    return page(request, "history.html", child_id=child_id, on=on, today=ctx.today, grid=grid, **view)
