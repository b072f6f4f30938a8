"""A user's inbox read with asyncpg: where it lives, what is after a given id, marking one read.

A tenant user's inbox is its tenant's `notifications`; a district officer's is its district's rows
of `rollup.district_inbox`. Every query is keyed by the user's own id (and, for an officer, its
district), so no one reads another's notices. Ids only grow in commit order (see
`infra.notice_schema`): "everything after N" is exactly what a client has not seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from infra.migrations import schema_for

MAX_LIMIT = 500


@dataclass(frozen=True)
class Inbox:
    """Where one user's notices are: a tenant's table, or a district's rows of the shared one."""

    user_id: UUID
    tenant: str | None
    district: str | None

    def query(self, select: str) -> tuple[str, list[Any]]:
        """SQL over this user's notices (`$1` is the user, `$2` the district) with the arguments it takes."""
        if self.tenant is not None:
            columns = select.replace("{tenant}", f"'{self.tenant}'::text").replace("{child_id}", "child_id")
            return (f"SELECT {columns} FROM {schema_for(self.tenant)}.notifications WHERE user_id = $1",
                    [self.user_id])
        columns = select.replace("{tenant}", "tenant").replace("{child_id}", "NULL::uuid")
        return (f"SELECT {columns} FROM rollup.district_inbox WHERE user_id = $1 AND district = $2",
                [self.user_id, self.district])


_COLUMNS = "id, kind, {tenant} AS tenant, unit, concern_id, {child_id} AS child_id, severity, level, created_at, read"


def inbox_of(user: Any) -> Inbox | None:
    """The inbox of a user: tenant users and district officers have one; other regional users none."""
    if user.tenant is not None:
        return Inbox(user.id, user.tenant, None)
    if user.role == "district_officer" and user.scope_unit:
        return Inbox(user.id, None, user.scope_unit)
    return None


def _param(args: list[Any], value: Any) -> str:
    """Append an argument; return its placeholder."""
    args.append(value)
    return f"${len(args)}"


async def after(pool: asyncpg.Pool, inbox: Inbox | None, after_id: int | None, limit: int = 100
                ) -> list[dict[str, Any]]:
    """Notices after `after_id` in id order; with None, the latest `limit` ones (still in id order)."""
    if inbox is None:
        return []
    if after_id is not None:
        sql, args = inbox.query(_COLUMNS)
        sql += f" AND id > {_param(args, after_id)} ORDER BY id LIMIT {int(limit)}"
    else:
        sql, args = inbox.query(_COLUMNS)
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(limit)}) latest ORDER BY id"
    async with pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def head(pool: asyncpg.Pool, inbox: Inbox | None) -> int:
    """The id of the user's latest notice (0 if none): a stream without a cursor starts after it."""
    if inbox is None:
        return 0
    sql, args = inbox.query("coalesce(max(id), 0)")
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def mark_read(pool: asyncpg.Pool, inbox: Inbox | None, notification_id: int) -> bool:
    """Mark one of the user's notices read; False if the user has no such notice."""
    if inbox is None:
        return False
    sql, args = inbox.query("id")
    # The same table and condition as an UPDATE: only the user's own rows can change.
    table, _, condition = sql.removeprefix("SELECT id FROM ").partition(" WHERE ")
    update = f"UPDATE {table} SET read = true WHERE {condition} AND id = {_param(args, notification_id)} RETURNING id"
    async with pool.acquire() as conn:
        return await conn.fetchval(update, *args) is not None
