"""The API's read side on asyncpg: the child register, and waiting for a read model to catch up.

Nothing here folds events: every answer is one query on a tenant's read-model tables.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from uuid import UUID

import asyncpg
import psycopg

from domain.errors import InvalidValue, NotFound
from infra.crypto import KeyWrapper
from infra.migrations import schema_for

ID_NUMBER = "id_number"  # the blind index's kind: the register's writer and its readers must agree
MAX_LIMIT = 500
_ITEM_COLUMNS = ("child_id, grid, community, status, name, gender, birth_date, school, class_name, reason,"
                 " helper_ids, last_contact_on, registered_on, erased, version, registered_position")


def id_number_index(wrapper: KeyWrapper, tenant: str, id_number: str) -> bytes:
    """The blind index under which the register files a child's ID number."""
    return wrapper.blind_index(tenant, ID_NUMBER, id_number)


async def create_read_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool from a URL or a libpq conninfo string (the form the tests and psycopg use)."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    return await asyncpg.create_pool(
        host=info.get("host"), port=int(info.get("port") or 5432), user=info.get("user"),
        password=info.get("password"), database=info.get("dbname"), min_size=min_size, max_size=max_size)


def _encode_cursor(registered_position: int) -> str:
    return base64.urlsafe_b64encode(f"r{registered_position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] != "r" or not text[1:].isdigit():
            raise ValueError(cursor)
        return int(text[1:])
    except ValueError:
        raise InvalidValue("无效的分页游标", field="cursor") from None


def _subtree(tenant: str, scope: str, unit: str | None) -> str | None:
    """The unit prefix to list under, or None for the whole tenant; NotFound outside the scope."""
    base = scope if unit is None else unit
    if unit is not None and not unit.startswith(scope):
        raise NotFound("not found")
    if not (base.startswith(tenant) or tenant.startswith(base)):
        raise NotFound("not found")
    return base if len(base) > len(tenant) else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after(prefix: str) -> str:
    # The first code past the subtree: digits sort bytewise, and ':' follows '9'.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def list_children(pool: asyncpg.Pool, *, tenant: str, scope: str, unit: str | None, status: str | None,
                        q: str | None, id_index: bytes | None, helper_id: UUID | None, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    """One page of a tenant's children in registration order, filtered; `next_cursor` continues it."""
    schema = schema_for(tenant)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit 应在 1 到 {MAX_LIMIT} 之间", field="limit")
    if status not in (None, "open", "closed"):
        raise InvalidValue("status 只能是 open 或 closed", field="status")
    where: list[str] = []
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    prefix = _subtree(tenant, scope, unit)
    if prefix is not None and len(prefix) == 12:
        where.append(f"community = {bind(prefix)}")
    elif prefix is not None:
        where.append(f"grid >= {bind(prefix)} AND grid < {bind(_after(prefix))}")
    if status is not None:
        where.append(f"status = {bind(status)}")
    if q and q.strip():
        where.append(f"name LIKE '%' || {bind(_escape_like(q.strip()))} || '%'")
    if id_index is not None:
        where.append(f"id_number_index = {bind(id_index)}")
    if helper_id is not None:
        where.append(f"helper_ids @> ARRAY[{bind(helper_id)}::uuid]")
    if cursor:
        where.append(f"registered_position > {bind(_decode_cursor(cursor))}")
    sql = (f"SELECT {_ITEM_COLUMNS} FROM {schema}.child_register"
           f"{' WHERE ' + ' AND '.join(where) if where else ''}"
           f" ORDER BY registered_position LIMIT {bind(limit + 1)}")
    rows = await pool.fetch(sql, *params)
    items = [dict(row) for row in rows[:limit]]
    next_cursor = _encode_cursor(items[-1]["registered_position"]) if len(rows) > limit else None
    for item in items:
        del item["registered_position"]
    return {"items": items, "next_cursor": next_cursor}


async def read_position(pool: asyncpg.Pool, tenant: str, projection: str) -> int:
    """How far into the tenant log a read model has got (0 before it starts)."""
    sql = f"SELECT position FROM {schema_for(tenant)}.projection_tracking WHERE projection = $1"
    return await pool.fetchval(sql, projection) or 0


async def wait_for_position(pool: asyncpg.Pool, tenant: str, projection: str, min_position: int,
                            timeout: float = 5.0) -> bool:
    """Wait until a read model has processed the tenant log up to `min_position`; False on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    # Short polls with backoff: a waiting request holds no connection between polls.
    while await read_position(pool, tenant, projection) < min_position:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)
    return True
