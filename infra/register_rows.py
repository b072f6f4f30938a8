"""The child register's rows in a tenant schema: infra's side of `projections.child_register.RegisterRows`.

Row changes are gathered in memory while a batch is applied and written by `flush()` in a few
set-based statements (an INSERT of the new rows, one UPDATE per shape of change, the contacts and
pairs, and the columns derived from them), inside the batch's transaction, so rows and the
tracking position commit together. A statement per event would make a long catch-up take minutes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import psycopg

# Each column and its SQL type (for the arrays the batched statements take).
TYPES = {
    "child_id": "uuid", "grid": "text", "community": "text", "status": "text", "name": "text", "address": "text",
    "id_number_index": "bytea", "gender": "text", "birth_date": "date", "school": "text", "class_name": "text",
    "reason": "text", "registered_on": "date", "registered_position": "bigint", "erased": "boolean",
    "version": "bigint", "position": "bigint", "last_contact_on": "date",
}
# A new contact moves the latest contact only later (re-dated contacts are recounted apart).
_SETS = {"last_contact_on": "last_contact_on = greatest(t.last_contact_on, v.last_contact_on)"}
COLUMNS = frozenset(TYPES)
TABLES = ("child_register", "child_register_contacts", "child_register_pairs")


class RegisterTable:
    """Gathers the register's row changes for one tenant and batch; `flush` writes them in the caller's transaction."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, index: Callable[[str], bytes]) -> None:
        self._conn = conn
        self._s = schema
        self._index = index
        # Keyed by `UUID.int`: a UUID's hash and equality are Python code, and every event looks its child up.
        self._new: dict[int, dict[str, Any]] = {}  # rows registered in this batch, later changes merged in
        self._changes: dict[int, dict[str, Any]] = {}  # changes to rows registered before (with their child_id)
        self._contacts: dict[int, tuple[UUID, UUID, date]] = {}  # visit → (visit id, child id, date)
        self._logged: set[int] = set()  # visits first recorded in this batch (the others are re-dated rows)
        self._redated: set[UUID] = set()  # children whose latest contact must be recomputed from all of them
        self._formed: dict[UUID, tuple[UUID, UUID, int]] = {}  # pair → (child, helper, position formed)
        self._ended: set[UUID] = set()
        self._pair_children: set[UUID] = set()

    def id_index(self, id_number: str) -> bytes:
        return self._index(id_number)

    def insert(self, row: dict[str, Any]) -> None:
        self._checked(row)
        self._new[row["child_id"].int] = dict(row)

    def update(self, child_id: UUID, changes: dict[str, Any]) -> None:
        self._checked(changes)
        self._row(child_id).update(changes)

    def put_contact(self, child_id: UUID, visit_id: UUID, occurred_on: date, *, redated: bool = False) -> None:
        self._contacts[visit_id.int] = (visit_id, child_id, occurred_on)
        if redated:  # an earlier date may lower the latest: recount from every contact at flush
            self._redated.add(child_id)
            return
        self._logged.add(visit_id.int)
        # A new contact can only move the latest contact later: no need to read the others.
        target = self._row(child_id)
        latest = target.get("last_contact_on")
        target["last_contact_on"] = occurred_on if latest is None or occurred_on > latest else latest

    def put_pair(self, child_id: UUID, pair_id: UUID, helper_id: UUID | None, position: int) -> None:
        if helper_id is not None:
            self._formed[pair_id] = (child_id, helper_id, position)
        elif self._formed.pop(pair_id, None) is None:
            self._ended.add(pair_id)  # formed in an earlier batch
        self._pair_children.add(child_id)

    def _row(self, child_id: UUID) -> dict[str, Any]:
        """The child's new row, or the changes to its stored row (begun with its id)."""
        key = child_id.int
        target = self._new.get(key)
        if target is None:
            target = self._changes.get(key)
            if target is None:
                target = self._changes[key] = {"child_id": child_id}
        return target

    def flush(self) -> None:
        """Write every change gathered: a few statements, whatever the number of events."""
        s = self._s
        for columns, rows in _by_shape(self._new.values()).items():
            self._run(f"INSERT INTO {s}.child_register ({', '.join(columns)}) SELECT * FROM unnest({_arrays(columns)})",
                      _columns(rows, columns))
        for columns, rows in _by_shape(self._changes.values()).items():
            sets = ", ".join(_SETS.get(c, f"{c} = v.{c}") for c in columns if c != "child_id")
            self._run(f"UPDATE {s}.child_register t SET {sets} FROM unnest({_arrays(columns)})"
                      f" AS v({', '.join(columns)}) WHERE t.child_id = v.child_id", _columns(rows, columns))
        # New contacts are plain inserts (a conflict would be a contact counted twice: the batch fails);
        # re-dated ones of earlier batches are updates.
        logged = [contact for key, contact in self._contacts.items() if key in self._logged]
        if logged:
            self._run(f"INSERT INTO {s}.child_register_contacts (visit_id, child_id, occurred_on) SELECT * FROM"
                      f" unnest(%b::uuid[], %b::uuid[], %b::date[])", list(map(list, zip(*logged, strict=True))))
        redated = [(v, on) for key, (v, _, on) in self._contacts.items() if key not in self._logged]
        if redated:
            self._run(f"UPDATE {s}.child_register_contacts t SET occurred_on = v.occurred_on FROM"
                      f" unnest(%b::uuid[], %b::date[]) AS v(visit_id, occurred_on) WHERE t.visit_id = v.visit_id",
                      list(map(list, zip(*redated, strict=True))))
        if self._redated:
            # An index probe per child whatever plan the connection has cached for it: `t.child_id = ANY(array)`
            # was planned, while the tables were small, as a scan matching every row against the whole array.
            self._run(f"UPDATE {s}.child_register t SET last_contact_on = (SELECT max(c.occurred_on) FROM"
                      f" {s}.child_register_contacts c WHERE c.child_id = t.child_id) FROM unnest(%b::uuid[])"
                      f" AS v(child_id) WHERE t.child_id = v.child_id", [list(self._redated)])
        if self._ended:
            self._run(f"DELETE FROM {s}.child_register_pairs WHERE pair_id = ANY(%b::uuid[])", [list(self._ended)])
        if self._formed:
            pairs = list(self._formed)
            self._run(f"INSERT INTO {s}.child_register_pairs (pair_id, child_id, helper_id, formed_position)"
                      f" SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::bigint[])",
                      [pairs, *map(list, zip(*(self._formed[p] for p in pairs), strict=True))])
        if self._pair_children:
            self._run(f"UPDATE {s}.child_register t SET helper_ids = ARRAY(SELECT helper_id FROM"
                      f" {s}.child_register_pairs p WHERE p.child_id = t.child_id ORDER BY formed_position)"
                      f" WHERE t.child_id = ANY(%b::uuid[])", [list(self._pair_children)])

    def _run(self, sql: str, params: list[Any]) -> None:
        self._conn.execute(sql, params, prepare=True)

    @staticmethod
    def _checked(values: dict[str, Any]) -> None:
        if not COLUMNS.issuperset(values):
            raise ValueError(f"not a child register column: {sorted(set(values) - COLUMNS)}")


def _by_shape(rows: Any) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Rows grouped by the columns they set, so each group is one statement."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        shapes[tuple(row)].append(row)  # the same events set the same keys in the same order
    return shapes


def _arrays(columns: tuple[str, ...]) -> str:
    return ", ".join(f"%b::{TYPES[c]}[]" for c in columns)


def _columns(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[list[Any]]:
    return [[row[c] for row in rows] for c in columns]


def reset(conn: psycopg.Connection[Any], schema: str) -> None:
    """Empty the register's tables (for a rebuild, inside its transaction)."""
    # DELETE, not TRUNCATE: readers keep seeing the old rows, instead of waiting, until the rebuild commits.
    for table in TABLES:
        conn.execute(f"DELETE FROM {schema}.{table}")
