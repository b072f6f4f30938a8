"""The child register over HTTP: `GET /children`, read from the register read model with asyncpg."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromQuery, Parameter
from msgspec import Struct

from domain.access import personal_view
from infra.read_models import id_number_index, list_children, wait_for_position
from projections import child_register
from services.api.errors import READ_PROBLEMS
from services.api.security import Ctx

ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


class RegisterEntry(Struct):
    child_id: UUID
    grid: str
    community: str
    status: str
    name: str | None
    gender: str
    birth_date: date
    school: str | None
    class_name: str | None
    reason: str
    helper_ids: list[UUID]
    last_contact_on: date | None
    registered_on: date
    erased: bool
    version: int


class Register(Struct):
    items: list[RegisterEntry]
    next_cursor: str | None


def _entry(item: dict[str, Any], view: str) -> RegisterEntry:
    fields = {k: item[k] for k in RegisterEntry.__struct_fields__}
    if view == "none":
        fields["name"] = None
    return RegisterEntry(**fields)


class RegisterController(Controller):
    path = "/children"
    tags = ["children"]

    @get("/", responses=READ_PROBLEMS)
    async def list(self, ctx: Ctx, state: State,
                   unit: Annotated[str | None, Parameter(description="a unit code: its subtree")] = None,
                   status: Annotated[str | None, Parameter(description="open or closed")] = None,
                   q: Annotated[str | None, Parameter(description="part of a name, or a whole ID number")] = None,
                   limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
                   cursor: FromQuery[str | None] = None,
                   min_position: Annotated[int | None, Parameter(ge=0)] = None) -> Register:
        """Children in the caller's scope (a helper: its paired children), in registration order, paged."""
        pool: asyncpg.Pool = state.read_pool
        if min_position:
            await wait_for_position(pool, ctx.tenant, child_register.NAME, min_position)
        view = personal_view(ctx.role)
        id_index = None
        if q and ID_NUMBER.match(q.strip()):
            id_index, q = id_number_index(state.infra.wrapper, ctx.tenant, q.strip()), None
        if view == "none":
            q = id_index = None  # searching by name or number would reveal them
        page = await list_children(
            pool, tenant=ctx.tenant, scope=ctx.scope, unit=unit, status=status, q=q, id_index=id_index,
            helper_id=ctx.helper_id if ctx.role == "helper" else None, limit=limit, cursor=cursor)
        if ctx.role == "helper" and ctx.helper_id is None:
            page = {"items": [], "next_cursor": None}
        return Register([_entry(i, view) for i in page["items"]], page["next_cursor"])
