"""The concern queue's rows: infra's side of `projections.concern_queue.QueueRows`.

Each change goes to the tenant's own queue (`t_<code>.concern_queue`, with the child) and, for the
columns counts above the tenant need, to the shared `rollup.concerns` (no child, no text), in the
batch's transaction. Concerns are a small share of the log, so a statement per change is cheap.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

QUEUE_COLUMNS = frozenset({
    "concern_id", "child_id", "grid", "level", "level_unit", "category", "severity", "status", "acknowledged",
    "raised_at", "waiting_since", "resolved_at", "version", "position",
})
# What leaves the tenant: where a concern sits and whether it waits, nothing about the child.
SHARED_COLUMNS = ("concern_id", "grid", "level", "severity", "status", "acknowledged", "waiting_since")


class QueueTable:
    """Writes the queue's row changes for one tenant within the caller's transaction."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: str, schema: str) -> None:
        self._conn, self._tenant, self._s = conn, tenant, schema

    def insert(self, row: dict[str, Any]) -> None:
        columns = self._checked(row)
        self._conn.execute(f"INSERT INTO {self._s}.concern_queue ({', '.join(columns)})"
                           f" VALUES ({', '.join(['%s'] * len(columns))})", list(row.values()))
        self._conn.execute(f"INSERT INTO rollup.concerns (tenant, {', '.join(SHARED_COLUMNS)})"
                           f" VALUES (%s, {', '.join(['%s'] * len(SHARED_COLUMNS))})",
                           [self._tenant, *(row[c] for c in SHARED_COLUMNS)])

    def update(self, concern_id: UUID, changes: dict[str, Any]) -> None:
        columns = self._checked(changes)
        self._conn.execute(f"UPDATE {self._s}.concern_queue SET {', '.join(f'{c} = %s' for c in columns)}"
                           f" WHERE concern_id = %s", [*changes.values(), concern_id])
        shared = [c for c in columns if c in SHARED_COLUMNS]
        if shared:
            self._conn.execute(f"UPDATE rollup.concerns SET {', '.join(f'{c} = %s' for c in shared)}"
                               f" WHERE concern_id = %s", [*(changes[c] for c in shared), concern_id])

    def concerns_about(self, child_id: UUID) -> list[UUID]:
        rows = self._conn.execute(f"SELECT concern_id FROM {self._s}.concern_queue WHERE child_id = %s"
                                  f" ORDER BY position", [child_id]).fetchall()
        return [row["concern_id"] for row in rows]

    @staticmethod
    def _checked(values: dict[str, Any]) -> tuple[str, ...]:
        columns = tuple(values)
        unknown = set(columns) - QUEUE_COLUMNS
        if unknown:
            raise ValueError(f"not a concern queue column: {sorted(unknown)}")
        return columns


def reset(conn: psycopg.Connection[Any], tenant: str, schema: str) -> None:
    """Empty the tenant's queue and its shared rows (for a rebuild, inside its transaction)."""
    conn.execute(f"DELETE FROM {schema}.concern_queue")
    conn.execute("DELETE FROM rollup.concerns WHERE tenant = %s", [tenant])
