"""The inbox's rows: infra's side of `projections.notifications.NoticeRows`.

Notices gathered while a batch is applied are written by `flush()`: each audience is resolved to
users (`platform.users`: role, scope unit, tenant, helper) in the same statement that inserts one
inbox row per user, and every inserted row is signalled with `pg_notify` on its user's channel, all
in the batch's transaction: a notice is delivered if and only if its row commits. Tenant users'
rows go to the tenant's `notifications`; district officers' to `rollup.district_inbox` (see
`infra.notice_schema`). A replayed event inserts nothing (unique per user, event and kind) and so
signals nobody twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import psycopg

from domain.notifications import Notice

NOTICE_COLUMNS = "idx, kind, unit, concern_id, child_id, severity, level, created_at, position"
_NOTICES = ("unnest(%b::int[], %b::text[], %b::text[], %b::uuid[], %b::uuid[], %b::text[], %b::text[],"
            " %b::timestamptz[], %b::bigint[]) AS n(" + NOTICE_COLUMNS + ")")
_AUDIENCES = "unnest(%b::int[], %b::text[], %b::text[], %b::bool[], %b::uuid[]) AS a(idx, role, unit, within, helper_id)"
# A tenant user is in an audience by helper record, by exact scope, or (`within`) by a scope holding the unit.
_MATCH_TENANT_USER = ("u.tenant = %s AND u.role = a.role AND CASE WHEN a.helper_id IS NOT NULL THEN"
                      " u.helper_id = a.helper_id WHEN a.within THEN starts_with(a.unit, u.scope_unit)"
                      " ELSE u.scope_unit = a.unit END")
_NOTIFY = "SELECT count(pg_notify('n_' || replace(user_id::text, '-', ''), id::text)) FROM ins"


def channel_for(user_id: UUID) -> str:
    """The NOTIFY channel of one user's inbox (the SQL above builds the same name)."""
    return f"n_{user_id.hex}"


class NoticeTable:
    """Gathers one tenant's notices for a batch; keeps the rules' state (concerns' severity, active pairs)."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: str, schema: str) -> None:
        self._conn, self._tenant, self._s = conn, tenant, schema
        self._notices: list[tuple[Notice, int]] = []
        self._severities: dict[UUID, str] = {}
        self._formed: dict[UUID, dict[str, Any]] = {}  # pairs formed in this batch, written at flush
        self._lapses: set[tuple[UUID, date]] = set()

    @property
    def signalled(self) -> bool:
        """Whether this batch tells anybody anything (its commit must then be flushed before it is heard)."""
        return bool(self._notices)

    def tell(self, notice: Notice, position: int) -> None:
        self._notices.append((notice, position))

    def remember_concern(self, concern_id: UUID, severity: str) -> None:
        self._severities[concern_id] = severity

    def severity(self, concern_id: UUID) -> str | None:
        if concern_id in self._severities:
            return self._severities[concern_id]
        row = self._conn.execute(f"SELECT severity FROM {self._s}.notice_concerns WHERE concern_id = %s",
                                 [concern_id]).fetchone()
        return row["severity"] if row else None

    def pair_formed(self, pair_id: UUID, child_id: UUID, helper_id: UUID, grid: str, position: int) -> None:
        self._formed[pair_id] = {"child_id": child_id, "helper_id": helper_id, "grid": grid, "file_open": True,
                                 "position": position}

    def pair_ended(self, pair_id: UUID) -> tuple[str, bool] | None:
        pair = self._formed.pop(pair_id, None)
        if pair is None:
            pair = self._conn.execute(f"DELETE FROM {self._s}.notice_pairs WHERE pair_id = %s RETURNING grid, file_open",
                                      [pair_id]).fetchone()
        return (pair["grid"], pair["file_open"]) if pair else None

    def helpers_of(self, child_id: UUID) -> list[UUID]:
        rows = self._conn.execute(f"SELECT helper_id, position FROM {self._s}.notice_pairs WHERE child_id = %s",
                                  [child_id]).fetchall()
        pairs = [*rows, *(p for p in self._formed.values() if p["child_id"] == child_id)]
        return [p["helper_id"] for p in sorted(pairs, key=lambda p: p["position"])]

    def lapse_noticed(self, child_id: UUID, since: date) -> None:
        self._lapses.add((child_id, since))

    def child_changed(self, child_id: UUID, changes: dict[str, Any]) -> None:
        for pair in self._formed.values():
            if pair["child_id"] == child_id:
                pair.update(changes)
        sets = ", ".join(f"{column} = %s" for column in changes)  # columns come from the projection, not input
        self._conn.execute(f"UPDATE {self._s}.notice_pairs SET {sets} WHERE child_id = %s",
                           [*changes.values(), child_id])

    def flush(self) -> None:
        """Write the state gathered, then every notice's inbox rows and their signals."""
        if self._severities:
            ids = list(self._severities)
            self._conn.execute(f"INSERT INTO {self._s}.notice_concerns (concern_id, severity) SELECT * FROM"
                               f" unnest(%b::uuid[], %b::text[]) ON CONFLICT (concern_id) DO NOTHING",
                               [ids, [self._severities[i] for i in ids]])
        if self._formed:
            ids = list(self._formed)
            columns = ("child_id", "helper_id", "grid", "file_open", "position")
            self._conn.execute(f"INSERT INTO {self._s}.notice_pairs (pair_id, {', '.join(columns)}) SELECT * FROM"
                               f" unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::text[], %b::bool[], %b::bigint[])"
                               f" ON CONFLICT (pair_id) DO NOTHING",
                               [ids, *([self._formed[i][c] for i in ids] for c in columns)])
        if self._lapses:
            children, days = zip(*self._lapses, strict=True)
            self._conn.execute(f"INSERT INTO {self._s}.notice_lapses (child_id, since) SELECT * FROM"
                               f" unnest(%b::uuid[], %b::date[]) ON CONFLICT DO NOTHING", [list(children), list(days)])
        if self._notices:
            notices, audiences = _arrays(self._notices)
            self._tell_tenant_users(notices, audiences)
            self._tell_district_officers(notices, audiences)

    def _tell_tenant_users(self, notices: list[list[Any]], audiences: list[list[Any]]) -> None:
        self._conn.execute(
            f"WITH r AS (SELECT DISTINCT ON (n.idx, u.id) n.*, u.id AS user_id FROM {_NOTICES} JOIN {_AUDIENCES}"
            f" ON a.idx = n.idx JOIN platform.users u ON {_MATCH_TENANT_USER}),"
            f" ins AS (INSERT INTO {self._s}.notifications (user_id, kind, unit, concern_id, child_id, severity, level,"
            f" created_at, source_position) SELECT user_id, kind, unit, concern_id, child_id, severity, level,"
            f" created_at, position FROM r ORDER BY idx, user_id"
            f" ON CONFLICT (user_id, source_position, kind) DO NOTHING RETURNING id, user_id) {_NOTIFY}",
            [*notices, *audiences, self._tenant])

    def _tell_district_officers(self, notices: list[list[Any]], audiences: list[list[Any]]) -> None:
        if "district_officer" not in audiences[1]:
            return
        rows = self._conn.execute(
            f"SELECT DISTINCT ON (n.idx, u.id) n.*, u.id AS user_id, a.unit AS district FROM {_NOTICES}"
            f" JOIN {_AUDIENCES} ON a.idx = n.idx JOIN platform.users u ON u.tenant IS NULL"
            f" AND u.role = 'district_officer' AND a.role = 'district_officer' AND u.scope_unit = a.unit"
            # Already told (a replay, a rebuild): left out before any lock is taken, so a long rebuild of
            # one tenant never holds its district's ids, and every other tenant's notices, back.
            f" WHERE NOT EXISTS (SELECT 1 FROM rollup.district_inbox d WHERE d.user_id = u.id AND d.tenant = %s"
            f" AND d.source_position = n.position AND d.kind = n.kind) ORDER BY n.idx, u.id",
            [*notices, *audiences, self._tenant]).fetchall()
        for district in sorted({r["district"] for r in rows}):  # one lock order for every writer
            mine = [r for r in rows if r["district"] == district]
            self._conn.execute("INSERT INTO rollup.district_inbox_heads (district) VALUES (%s)"
                               " ON CONFLICT (district) DO NOTHING", [district])
            # Held until commit: this district's ids are handed out in commit order.
            last = self._conn.execute("UPDATE rollup.district_inbox_heads SET last_id = last_id + %s"
                                      " WHERE district = %s RETURNING last_id", [len(mine), district]).fetchone()
            first = last["last_id"] - len(mine) + 1
            self._conn.execute(
                "WITH ins AS (INSERT INTO rollup.district_inbox (district, id, user_id, kind, tenant, unit, concern_id,"
                " severity, level, created_at, source_position) SELECT %s, * FROM unnest(%b::bigint[], %b::uuid[],"
                " %b::text[], %b::text[], %b::text[], %b::uuid[], %b::text[], %b::text[], %b::timestamptz[],"
                " %b::bigint[]) ON CONFLICT (user_id, tenant, source_position, kind) DO NOTHING RETURNING id, user_id)"
                + _NOTIFY,
                [district, list(range(first, first + len(mine))), [r["user_id"] for r in mine],
                 *([r[c] for r in mine] for c in ("kind",)), [self._tenant] * len(mine),
                 *([r[c] for r in mine] for c in ("unit", "concern_id", "severity", "level", "created_at", "position"))])


def _arrays(notices: list[tuple[Notice, int]]) -> tuple[list[list[Any]], list[list[Any]]]:
    """The notices and their audiences as columns for `unnest`, joined by the notice's index."""
    n: list[list[Any]] = [[] for _ in range(9)]
    a: list[list[Any]] = [[] for _ in range(5)]
    for idx, (notice, position) in enumerate(notices):
        for column, value in zip(n, (idx, notice.kind, notice.unit, notice.concern_id, notice.child_id,
                                     notice.severity, notice.level, notice.at, position), strict=True):
            column.append(value)
        for audience in notice.audiences:
            for column, value in zip(a, (idx, audience.role, audience.unit, audience.within, audience.helper_id),
                                     strict=True):
                column.append(value)
    return n, a


def reset(conn: psycopg.Connection[Any], tenant: str, schema: str) -> None:
    """Empty the rules' state for a rebuild; inboxes stay (read flags kept, a replay re-tells nobody)."""
    conn.execute(f"DELETE FROM {schema}.notice_concerns")
    conn.execute(f"DELETE FROM {schema}.notice_pairs")
    conn.execute(f"DELETE FROM {schema}.notice_lapses")
