"""The child register's rows in a tenant schema: infra's side of `projections.child_register.RegisterRows`.

Statements run on the connection of the batch's transaction (the runner pipelines them), so
rows and the tracking position commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed, Identifier, Placeholder

COLUMNS = frozenset({
    "child_id", "grid", "community", "status", "name", "address", "id_number_index", "gender", "birth_date",
    "school", "class_name", "reason", "registered_on", "registered_position", "erased", "version", "position",
})
TABLES = ("child_register", "child_register_contacts", "child_register_pairs")


class RegisterTable:
    """Writes the register's row changes for one tenant within the caller's transaction."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, index: Callable[[str], bytes]) -> None:
        self._conn = conn
        self._schema = Identifier(schema)
        self._index = index
        # Composing SQL costs more than running it in a pipeline: render each shape once per batch.
        self._statements: dict[tuple[str, tuple[str, ...]], str] = {}

    def id_index(self, id_number: str) -> bytes:
        return self._index(id_number)

    def insert(self, row: dict[str, Any]) -> None:
        columns = self._checked(row)
        statement = self._statement("insert", columns, lambda: SQL("INSERT INTO {}.child_register ({}) VALUES ({})")
                                    .format(self._schema, SQL(", ").join(map(Identifier, columns)),
                                            SQL(", ").join(Placeholder() * len(columns))))
        self._conn.execute(statement, list(row.values()))

    def update(self, child_id: UUID, changes: dict[str, Any]) -> None:
        columns = self._checked(changes)
        statement = self._statement("update", columns, lambda: SQL(
            "UPDATE {}.child_register SET {} WHERE child_id = %s").format(
                self._schema, SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in columns)))
        self._conn.execute(statement, [*changes.values(), child_id])

    def put_contact(self, child_id: UUID, visit_id: UUID, occurred_on: date) -> None:
        statement = self._statement("contact", (), lambda: SQL(
            "INSERT INTO {0}.child_register_contacts (visit_id, child_id, occurred_on) VALUES (%(visit)s, %(child)s,"
            " %(on)s) ON CONFLICT (visit_id) DO UPDATE SET occurred_on = EXCLUDED.occurred_on"
        ).format(self._schema))
        self._conn.execute(statement, {"visit": visit_id, "child": child_id, "on": occurred_on})
        self._conn.execute(self._statement("last_contact", (), lambda: SQL(
            "UPDATE {0}.child_register SET last_contact_on = (SELECT max(occurred_on)"
            " FROM {0}.child_register_contacts WHERE child_id = %(child)s) WHERE child_id = %(child)s"
        ).format(self._schema)), {"child": child_id})

    def put_pair(self, child_id: UUID, pair_id: UUID, helper_id: UUID | None, position: int) -> None:
        if helper_id is None:
            self._conn.execute(self._statement("unpair", (), lambda: SQL(
                "DELETE FROM {}.child_register_pairs WHERE pair_id = %s").format(self._schema)), [pair_id])
        else:
            self._conn.execute(self._statement("pair", (), lambda: SQL(
                "INSERT INTO {}.child_register_pairs (pair_id, child_id, helper_id, formed_position)"
                " VALUES (%s, %s, %s, %s)").format(self._schema)), [pair_id, child_id, helper_id, position])
        self._conn.execute(self._statement("helpers", (), lambda: SQL(
            "UPDATE {0}.child_register SET helper_ids = ARRAY(SELECT helper_id FROM {0}.child_register_pairs"
            " WHERE child_id = %(child)s ORDER BY formed_position) WHERE child_id = %(child)s"
        ).format(self._schema)), {"child": child_id})

    def _statement(self, kind: str, columns: tuple[str, ...], build: Callable[[], Composed]) -> str:
        key = (kind, columns)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build().as_string(self._conn)
        return statement

    @staticmethod
    def _checked(values: dict[str, Any]) -> tuple[str, ...]:
        columns = tuple(values)
        unknown = set(columns) - COLUMNS
        if unknown:
            raise ValueError(f"not a child register column: {sorted(unknown)}")
        return columns


def reset(conn: psycopg.Connection[Any], schema: str) -> None:
    """Empty the register's tables (for a rebuild, inside its transaction)."""
    # DELETE, not TRUNCATE: readers keep seeing the old rows, instead of waiting, until the rebuild commits.
    for table in TABLES:
        conn.execute(SQL("DELETE FROM {}").format(Identifier(schema, table)))
