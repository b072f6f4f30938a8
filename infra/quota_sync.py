"""Keeping the unit counters' "met" columns true to each tenant's current contact quota.

Settings are not events, so a changed quota reaches the counters here: before a batch, and when a
runner wakes a tenant with nothing new, the quota the counters were computed with
(`rollup.quotas`) is compared with the tenant's settings; if they differ, the "met" columns of the
tenant's grids are recomputed from the per-child contact counts in one statement, in the same
transaction as the quota row, with the tracking row locked. A rebuild meets the new quota from the
start, so it gives the same rows.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from domain.settings import TenantSettings
from projections.unit_counters import CONTACT_KINDS, MET_COLUMNS

_KINDS = ", ".join(CONTACT_KINDS)
_CURRENT = (f"SELECT t.settings, q.tenant AS stored, {', '.join(f'q.{k}' for k in CONTACT_KINDS)}"
            " FROM platform.tenants t LEFT JOIN rollup.quotas q ON q.tenant = t.code WHERE t.code = %s")


def settings_quota(settings: bytes | None) -> tuple[int, ...]:
    """A tenant's quota per contact kind (projections.unit_counters.CONTACT_KINDS order), from its settings."""
    quota = msgspec.json.decode(settings or b"{}", type=TenantSettings).contact_quota
    return tuple(getattr(quota, kind) for kind in CONTACT_KINDS)


def quotas(conn: psycopg.Connection[Any], tenant: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """The tenant's quota now, and the one its counters were computed with (None before the first)."""
    row = conn.execute(_CURRENT, [tenant]).fetchone()
    if row is None:
        raise LookupError(f"no tenant {tenant}")
    stored = tuple(row[k] for k in CONTACT_KINDS) if row["stored"] is not None else None
    return settings_quota(row["settings"]), stored


def sync_quota(conn: psycopg.Connection[Any], tenant: str, schema: str) -> tuple[int, ...]:
    """Recompute the tenant's "met" counters if its quota changed; return the quota now in force."""
    current, stored = quotas(conn, tenant)
    if current != stored:
        _recompute(conn, tenant, schema, current)
    return current


def _recompute(conn: psycopg.Connection[Any], tenant: str, schema: str, quota: tuple[int, ...]) -> None:
    # The same rule as projections.unit_counters.met: a kind counts when required and reached;
    # "all met" when something is required and every requirement is reached.
    required = [(k, q) for k, q in zip(CONTACT_KINDS, quota, strict=True) if q > 0]
    met = ", ".join(f"count(*) FILTER (WHERE k.{k} >= {q})" if q > 0 else "0"
                    for k, q in zip(CONTACT_KINDS, quota, strict=True))
    every = " AND ".join(f"k.{k} >= {q}" for k, q in required) or "false"
    zero = ", ".join(f"{c} = 0" for c in (*MET_COLUMNS, "all_met"))
    conn.execute(f"UPDATE rollup.grid_semester SET {zero} WHERE tenant = %s", [tenant])
    conn.execute(
        f"INSERT INTO rollup.grid_semester AS g (grid, semester, tenant, {', '.join(MET_COLUMNS)}, all_met)"
        f" SELECT c.grid, k.semester, %s, {met}, count(*) FILTER (WHERE {every})"
        f" FROM {schema}.dash_contacts k JOIN {schema}.dash_children c USING (child_id) WHERE c.status = 'open'"
        f" GROUP BY c.grid, k.semester"
        f" ON CONFLICT (grid, semester) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in (*MET_COLUMNS, "all_met")), [tenant])
    conn.execute("DELETE FROM rollup.grid_semester WHERE tenant = %s AND "
                 + " AND ".join(f"{c} = 0" for c in (*MET_COLUMNS, "all_met", "aid_fen")), [tenant])
    conn.execute(f"INSERT INTO rollup.quotas (tenant, {_KINDS}) VALUES (%s, {', '.join(['%s'] * len(quota))})"
                 f" ON CONFLICT (tenant) DO UPDATE SET " + ", ".join(f"{k} = excluded.{k}" for k in CONTACT_KINDS),
                 [tenant, *quota])
