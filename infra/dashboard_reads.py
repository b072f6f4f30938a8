"""Dashboards, worklists and concern queues read with asyncpg: a few range reads, never a fold of events.

A dashboard at any level reads the shared roll-up (`rollup.*`, no personal data) over the unit's
code range, grouped by child unit: a district of 200,000 children is a few thousand counter rows.
Worklists and concern queues read a tenant's private rows (a district's worklist, each of its
tenants' in turn, paged by grid and child).
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.errors import InvalidValue
from domain.semester import Semester
from domain.units import level_of
from infra.migrations import schema_for
from infra.quota_sync import settings_quota
from projections import dashboard as board
from projections import worklist as work
from projections.unit_counters import CONTACT_KINDS, SEMESTER_COLUMNS, STATUS_COLUMNS

MAX_LIMIT = 5000
_DEFAULT = settings_quota(None)
# What each level's dashboard breaks down by: the length of its child units' codes (None: the grid itself).
_PART_LENGTH = {"district": 9, "street": 12, "community": None, "grid": None}


def _overdue(alias: str, now: str) -> str:
    """Urgent, open, not acknowledged by the level holding it within the tenant's hours (settings of `t`)."""
    return (f"({alias}.severity = 'urgent' AND {alias}.status = 'open' AND NOT {alias}.acknowledged"
            f" AND {alias}.waiting_since < {now}::timestamptz - make_interval(hours =>"
            f" coalesce((convert_from(t.settings, 'UTF8')::jsonb ->> 'urgent_ack_hours')::int, 4)))")


def _after(prefix: str) -> str:
    # The first code past the subtree: digits sort bytewise, and ':' follows '9'.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _subtree(level: str, column: str, first: int) -> str:
    """`column` within a unit's subtree: `$first` is its code and, for a range, `$first+1` the first code past it."""
    if level == "grid":  # a grid's code may prefix another grid's (13 to 15 digits): the grid itself only
        return f"{column} = ${first}"
    return f"{column} >= ${first} AND {column} < ${first + 1}"


def _bounds(code: str, level: str) -> list[str]:
    return [code] if level == "grid" else [code, _after(code)]


def _group(level: str, column: str) -> str:
    length = _PART_LENGTH[level]
    return column if length is None else f"left({column}, {length})"


async def dashboard(pool: asyncpg.Pool, code: str, level: str, semester: str, *, now: datetime,
                    months: bool = False) -> dict[str, Any]:
    """The dashboard of a unit (grid, community, street or district) for a semester, in the API's shape.

    The counters come from the shared roll-up. With `months`, also contacts per month from the child register
    (`contacts_by_month`): that counts contact rows, not counters, and costs about 0.6 s over a district of
    200,000 children (bench_projections), so only the pages and reports that draw it ask for it.
    """
    bounds = _bounds(code, level)
    status_sql = ", ".join(f"sum({c})::bigint AS {c}" for c in STATUS_COLUMNS)
    semester_sql = ", ".join(f"sum({c})::bigint AS {c}" for c in SEMESTER_COLUMNS)
    async with pool.acquire() as conn:
        units = await conn.fetch("SELECT code, name, level FROM platform.units WHERE "
                                 + ("code" if level == "grid" else "parent") + " = $1 ORDER BY code", code)
        quotas = await conn.fetch(
            "SELECT t.code, t.settings, q.* FROM platform.tenants t LEFT JOIN rollup.quotas q ON q.tenant = t.code"
            " WHERE t.code >= $1 AND t.code < $2", code[:9], _after(code[:9]))
        status = await conn.fetch(f"SELECT {_group(level, 'grid')} AS part, {status_sql} FROM rollup.grid_children"
                                  f" WHERE {_subtree(level, 'grid', 1)} GROUP BY 1", *bounds)
        counted = await conn.fetch(f"SELECT {_group(level, 'grid')} AS part, {semester_sql} FROM rollup.grid_semester"
                                   f" WHERE semester = $1 AND {_subtree(level, 'grid', 2)} GROUP BY 1",
                                   semester, *bounds)
        concerns = await conn.fetch(
            f"SELECT {_group(level, 'c.grid')} AS part, c.severity, c.level, count(*) AS n,"
            f" count(*) FILTER (WHERE {_overdue('c', '$1')}) AS overdue FROM rollup.concerns c"
            f" JOIN platform.tenants t ON t.code = c.tenant WHERE c.status = 'open' AND {_subtree(level, 'c.grid', 2)}"
            f" GROUP BY 1, 2, 3", now, *bounds)
    quota_of = {r["code"]: _quota(r) for r in quotas}
    parts = {u["code"]: board.Part(u["code"], u["name"], u["level"], quota_of.get(u["code"][:9], _DEFAULT))
             for u in units}

    def part(key: str) -> board.Part:
        if key not in parts:  # counters of a unit missing from the tree: still counted
            parts[key] = board.Part(key, "", "", quota_of.get(key[:9], _DEFAULT))
        return parts[key]

    for row in status:
        part(row["part"]).status = {c: row[c] for c in STATUS_COLUMNS}
    for row in counted:
        part(row["part"]).semester = {c: row[c] for c in SEMESTER_COLUMNS}
    for row in concerns:
        p = part(row["part"])
        p.concerns[row["severity"]] = p.concerns.get(row["severity"], 0) + row["n"]
        p.by_level[row["level"]] = p.by_level.get(row["level"], 0) + row["n"]
        p.overdue += row["overdue"]
    ordered = [parts[k] for k in sorted(parts)]
    figures = board.dashboard(code, level, semester, ordered, breakdown=level != "grid")
    if months:
        figures["contacts_by_month"] = await contacts_by_month(pool, code, semester)
    return figures


async def contacts_by_month(pool: asyncpg.Pool, code: str, semester: str) -> dict[str, int]:
    """Contacts per month (`YYYY-MM`, every month of the semester in order) with the open children now in the unit.

    One query over the child register's contacts (date of each contact, the child's current grid and
    status), across the unit's tenants: like the counters, contacts follow the child and a closed
    file's contacts count nowhere. Only counts leave the tenants' schemas.
    """
    term = Semester.parse(semester)
    months = _months(term.starts_on, term.ends_on)
    street = code[:9]
    async with pool.acquire() as conn:
        tenants = [r["code"] for r in await conn.fetch(
            "SELECT code FROM platform.tenants WHERE code >= $1 AND code < $2 ORDER BY code", street, _after(street))]
        if not tenants:
            return dict.fromkeys(months, 0)
        parts = " UNION ALL ".join(
            f"SELECT c.occurred_on FROM {schema_for(t)}.child_register_contacts c JOIN {schema_for(t)}.child_register r"
            f" ON r.child_id = c.child_id WHERE r.status = 'open' AND {_within(code, 'r.grid')}"
            f" AND c.occurred_on BETWEEN $3 AND $4" for t in tenants)
        rows = await conn.fetch(f"SELECT to_char(occurred_on, 'YYYY-MM') AS month, count(*) AS n FROM ({parts}) x"
                                f" GROUP BY 1", code, _after(code), term.starts_on, term.ends_on)
    counted = {r["month"]: r["n"] for r in rows}
    return {m: counted.get(m, 0) for m in months}


def _months(first: date, last: date) -> list[str]:
    """`YYYY-MM` of every month from `first` to `last`."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _quota(row: asyncpg.Record) -> tuple[int, ...]:
    """The quota a tenant's counters were computed with (its settings' until its counters start)."""
    if row["tenant"] is not None:
        return tuple(row[k] for k in CONTACT_KINDS)
    return settings_quota(row["settings"])


def _cursor(cursor: str | None) -> tuple[str, UUID] | None:
    if not cursor:
        return None
    try:
        grid, _, child = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        return grid, UUID(child)
    except ValueError:
        raise InvalidValue("无效的分页游标", field="cursor") from None


def _next_cursor(grid: str, child_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{grid}|{child_id}".encode()).decode().rstrip("=")


async def worklist(pool: asyncpg.Pool, code: str, semester: str, tenants: list[str], *, names: bool,
                   limit: int = 500, cursor: str | None = None) -> dict[str, Any]:
    """Open children of a unit still missing contacts in a semester, by grid, paged; `tenants` hold the unit."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit 应在 1 到 {MAX_LIMIT} 之间", field="limit")
    after = _cursor(cursor)
    items: list[dict[str, Any]] = []
    more = False
    async with pool.acquire() as conn:
        settings = {r["code"]: r["settings"] for r in await conn.fetch(
            "SELECT code, settings FROM platform.tenants WHERE code = ANY($1::text[])", tenants)}
        for tenant in sorted(tenants):
            quota = settings_quota(settings.get(tenant))
            rows = await conn.fetch(_worklist_sql(tenant, quota, names, _within(code, "c.grid")), code, _after(code),
                                    semester,
                                    after[0] if after else "", after[1] if after else UUID(int=0),
                                    limit - len(items) + 1)
            for row in rows:
                if len(items) == limit:
                    more = True
                    break
                entry = work.item(row["child_id"], row["grid"], [row[k] or 0 for k in CONTACT_KINDS], quota,
                                  row["helper_id"], name=row.get("name"), helper_name=row.get("helper_name"),
                                  names=names)
                assert entry is not None  # the query keeps only children who miss something
                items.append(entry)
            if more:
                break
    last = items[-1] if more else None
    return {"items": items, "next_cursor": _next_cursor(last["unit"], last["child_id"]) if last else None}


def _within(code: str, column: str) -> str:
    """`column` in the subtree of `code` ($1) up to the first code past it ($2); a grid is only itself."""
    return f"{column} {'=' if level_of(code) == 'grid' else '>='} $1 AND {column} < $2"


def _worklist_sql(tenant: str, quota: tuple[int, ...], names: bool, within: str) -> str:
    s = schema_for(tenant)
    met = " AND ".join(f"coalesce(k.{k}, 0) >= {q}" for k, q in zip(CONTACT_KINDS, quota, strict=True) if q > 0)
    named = (", r.name, h.name AS helper_name" if names else "")
    joins = (f" LEFT JOIN {s}.child_register r ON r.child_id = c.child_id"
             f" LEFT JOIN {s}.dash_helpers h ON h.helper_id = p.helper_id" if names else "")
    return (
        f"SELECT c.child_id, c.grid, p.helper_id, {', '.join(f'k.{k}' for k in CONTACT_KINDS)}{named}"
        f" FROM {s}.dash_children c LEFT JOIN {s}.dash_contacts k ON k.child_id = c.child_id AND k.semester = $3"
        f" LEFT JOIN LATERAL (SELECT helper_id FROM {s}.dash_pairs WHERE child_id = c.child_id"
        f" ORDER BY formed_position LIMIT 1) p ON true{joins}"
        f" WHERE c.status = 'open' AND {within} AND (c.grid, c.child_id) > ($4, $5)"
        f" AND NOT ({met or 'true'}) ORDER BY c.grid, c.child_id LIMIT $6")


async def concern_queue(pool: asyncpg.Pool, tenant: str, *, within: str, status: str | None, level: str | None,
                        district_only: bool, now: datetime, limit: int = 500) -> dict[str, Any]:
    """A tenant's concerns about children `within` a unit, most severe and oldest first, with their age."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit 应在 1 到 {MAX_LIMIT} 之间", field="limit")
    s = schema_for(tenant)
    rows = await pool.fetch(
        f"SELECT q.*, {_overdue('q', '$6')} AS overdue FROM {s}.concern_queue q JOIN platform.tenants t ON t.code = $7"
        f" WHERE {_within(within, 'q.grid')} AND ($3::text IS NULL OR q.status = $3)"
        f" AND ($4::text IS NULL OR q.level = $4) AND (NOT $5 OR q.level = 'district')"
        f" ORDER BY q.status, array_position(ARRAY['urgent', 'high', 'medium', 'low'], q.severity), q.raised_at,"
        f" q.concern_id"
        f" LIMIT $8", within, _after(within), status, level, district_only, now, tenant, limit)
    return {"items": [{
        "id": r["concern_id"], "child_id": r["child_id"], "unit": r["level_unit"], "grid": r["grid"],
        "level": r["level"], "category": r["category"], "severity": r["severity"], "status": r["status"],
        "acknowledged": r["acknowledged"], "raised_at": r["raised_at"], "waiting_since": r["waiting_since"],
        "resolved_at": r["resolved_at"], "age_hours": round((now - r["raised_at"]).total_seconds() / 3600, 1),
        "overdue": r["overdue"], "version": r["version"],
    } for r in rows]}
