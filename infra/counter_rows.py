"""The unit counters' rows: infra's side of `projections.unit_counters.CounterRows`.

A batch loads the state its events touch in a few queries (`prepare`), lets the projection work
in memory, and writes what changed in a few set-based statements (`flush`), all inside the batch's
transaction: a statement per event would make catching up on a long log take minutes.
Counters are written as deltas (`x = x + delta`); a counter row that reaches all zeros is deleted,
so the rows do not depend on where batches happened to start and end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from infra.quota_sync import sync_quota
from projections.unit_counters import (CONTACT_KINDS, SEMESTER_COLUMNS, STATUS_COLUMNS, ChildFacts, touches)

_KINDS = ", ".join(CONTACT_KINDS)
MEMO_CHILDREN = 200_000  # children remembered across batches, at most (a few hundred bytes each)
_STATUS_INDEX = {column: i for i, column in enumerate(STATUS_COLUMNS)}
_SEMESTER_INDEX = {column: i for i, column in enumerate(SEMESTER_COLUMNS)}


def _additive_upsert(table: str, keys: Sequence[str], key_types: Sequence[str], columns: Sequence[str],
                     types: Sequence[str]) -> str:
    names = [*keys, *columns]
    arrays = ", ".join(f"%b::{t}[]" for t in (*key_types, *types))
    sets = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in columns)
    return (f"INSERT INTO {table} AS t ({', '.join(names)}) SELECT * FROM unnest({arrays})"
            f" ON CONFLICT ({', '.join(k for k in keys if k != 'tenant')}) DO UPDATE SET {sets}")


_STATUS_UPSERT = _additive_upsert("rollup.grid_children", ("grid", "tenant"), ("text", "text"), STATUS_COLUMNS,
                                  ["int"] * len(STATUS_COLUMNS))
_SEMESTER_UPSERT = _additive_upsert("rollup.grid_semester", ("grid", "semester", "tenant"), ("text",) * 3,
                                    SEMESTER_COLUMNS, ["int"] * (len(SEMESTER_COLUMNS) - 1) + ["bigint"])
_STATUS_ZERO = ("DELETE FROM rollup.grid_children WHERE grid = ANY(%b::text[]) AND "
                + " AND ".join(f"{c} = 0" for c in STATUS_COLUMNS))
_SEMESTER_ZERO = ("DELETE FROM rollup.grid_semester WHERE (grid, semester) IN (SELECT * FROM unnest(%b::text[],"
                  " %b::text[])) AND " + " AND ".join(f"{c} = 0" for c in SEMESTER_COLUMNS))


class CounterTables:
    """The counters' state and row changes for one tenant within one batch's transaction."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: str, schema: str,
                 memo: dict[str, Any] | None = None) -> None:
        self._conn, self._tenant, self._s = conn, tenant, schema
        self.quota = sync_quota(conn, tenant, schema)
        # Children's state as committed by the previous batch of the same run (see `infra.projection_batches`):
        # kept across batches, it spares reloading the children a long catch-up keeps meeting again.
        memo = {} if memo is None else memo
        if len(memo.get("children", ())) > MEMO_CHILDREN:
            memo.clear()
        # Children and visits are keyed by `UUID.int`: a UUID's hash and equality are Python code, and a long
        # catch-up looked them up about twenty times per event; an int's run in C.
        self._children: dict[int, ChildFacts | None] = memo.setdefault("children", {})
        self._loaded_pairs: dict[int, set[UUID]] = memo.setdefault("pairs", {})
        self._contacts: dict[int, dict[str, list[int]]] = memo.setdefault("contacts", {})
        self._visits: dict[int, tuple[str, str] | None] = {}
        self._dirty_children: set[int] = set()
        self._dirty_contacts: dict[tuple[int, str], UUID] = {}  # (child, semester) → the child's id
        self._new_visits: dict[int, tuple[UUID, UUID, str, str]] = {}  # visit → (its id, child id, kind, semester)
        self._stored_visits: set[int] = set()  # visits with a row already (the others are inserted)
        self._helpers: dict[UUID, str | None] = {}
        self._status: dict[str, list[int]] = defaultdict(lambda: [0] * len(STATUS_COLUMNS))
        self._semester: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(SEMESTER_COLUMNS))

    # Loading

    def prepare(self, events: Sequence[tuple[int, Any]]) -> None:
        """Load, in a few queries, the children and contacts the batch's events touch."""
        children: dict[int, UUID] = {}
        visits: dict[int, UUID] = {}
        for _, event in events:
            child_id, visit_id = touches(event)
            if child_id is not None:
                children[child_id.int] = child_id
            if visit_id is not None:
                visits[visit_id.int] = visit_id
        self._load_children([c for key, c in children.items() if key not in self._children])
        self._load_visits([v for key, v in visits.items() if key not in self._visits])

    def _load_visits(self, ids: list[UUID]) -> None:
        if not ids:
            return
        for visit_id in ids:
            self._visits[visit_id.int] = None
        cur = self._conn.cursor(row_factory=tuple_row, binary=True)
        for visit_id, kind, semester in cur.execute(f"SELECT visit_id, kind, semester FROM {self._s}.dash_visits"
                                                    f" WHERE visit_id = ANY(%b::uuid[])", [ids],
                                                    prepare=True).fetchall():
            self._visits[visit_id.int] = (kind, semester)
            self._stored_visits.add(visit_id.int)

    def _load_children(self, ids: list[UUID]) -> None:
        if not ids:
            return
        for child_id in ids:
            self._children[child_id.int] = None
            self._contacts[child_id.int] = {}
        s, cur = self._s, self._conn.cursor(row_factory=tuple_row, binary=True)
        for child_id, grid, status, reason in cur.execute(
                f"SELECT child_id, grid, status, reason FROM {s}.dash_children WHERE child_id = ANY(%b::uuid[])",
                [ids], prepare=True).fetchall():
            self._children[child_id.int] = ChildFacts(child_id, grid, status, reason)
            self._loaded_pairs[child_id.int] = set()
        for pair_id, child_id, helper_id, formed in cur.execute(
                f"SELECT pair_id, child_id, helper_id, formed_position FROM {s}.dash_pairs"
                f" WHERE child_id = ANY(%b::uuid[]) ORDER BY formed_position", [ids], prepare=True).fetchall():
            facts = self._children[child_id.int]
            if facts is not None:
                facts.pairs[pair_id] = (helper_id, formed)
                self._loaded_pairs[child_id.int].add(pair_id)
        for child_id, semester, *counts in cur.execute(
                f"SELECT child_id, semester, {_KINDS} FROM {s}.dash_contacts WHERE child_id = ANY(%b::uuid[])",
                [ids], prepare=True).fetchall():
            self._contacts[child_id.int][semester] = counts

    # The port

    def child(self, child_id: UUID) -> ChildFacts | None:
        key = child_id.int
        if key not in self._children:
            self._load_children([child_id])  # not announced by `touches`: correct, only slower
        return self._children[key]

    def put_child(self, facts: ChildFacts) -> None:
        key = facts.child_id.int
        if key not in self._children:  # a registration: nothing stored about the child yet
            self._contacts.setdefault(key, {})
        self._children[key] = facts
        self._dirty_children.add(key)

    def contacts(self, child_id: UUID) -> dict[str, list[int]]:
        key = child_id.int
        if key not in self._contacts:
            self._load_children([child_id])
        return self._contacts[key]

    def put_contacts(self, child_id: UUID, semester: str, counts: list[int]) -> None:
        self.contacts(child_id)[semester] = counts
        self._dirty_contacts[(child_id.int, semester)] = child_id

    def visit(self, visit_id: UUID) -> tuple[str, str] | None:
        key = visit_id.int
        if key not in self._visits:
            self._load_visits([visit_id])  # not announced by `touches`: correct, only slower
        return self._visits[key]

    def put_visit(self, visit_id: UUID, child_id: UUID, kind: str, semester: str) -> None:
        self._visits[visit_id.int] = (kind, semester)
        self._new_visits[visit_id.int] = (visit_id, child_id, kind, semester)

    def put_helper(self, helper_id: UUID, name: str | None) -> None:
        self._helpers[helper_id] = name

    def add(self, grid: str, semester: str | None, column: str, delta: int) -> None:
        if semester is None:
            self._status[grid][_STATUS_INDEX[column]] += delta
        else:
            self._semester[(grid, semester)][_SEMESTER_INDEX[column]] += delta

    # Writing

    def flush(self) -> None:
        """Write the batch's changes: a few statements, whatever the number of events."""
        self._flush_children()
        self._flush_contacts()
        self._flush_visits()
        if self._helpers:
            self._run(f"INSERT INTO {self._s}.dash_helpers (helper_id, name) SELECT * FROM unnest(%b::uuid[],"
                      f" %b::text[]) ON CONFLICT (helper_id) DO UPDATE SET name = excluded.name",
                      [list(self._helpers), list(self._helpers.values())])
        self._flush_counters()

    def _flush_visits(self) -> None:
        # Visits first counted in this batch are plain inserts; corrected ones of earlier batches, updates.
        logged = [row for key, row in self._new_visits.items() if key not in self._stored_visits]
        if logged:
            self._run(f"INSERT INTO {self._s}.dash_visits (visit_id, child_id, kind, semester) SELECT * FROM"
                      f" unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[])",
                      list(map(list, zip(*logged, strict=True))))
        corrected = [(v, kind, semester) for key, (v, _, kind, semester) in self._new_visits.items()
                     if key in self._stored_visits]
        if corrected:
            self._run(f"UPDATE {self._s}.dash_visits t SET kind = v.kind, semester = v.semester FROM"
                      f" unnest(%b::uuid[], %b::text[], %b::text[]) AS v(visit_id, kind, semester)"
                      f" WHERE t.visit_id = v.visit_id", list(map(list, zip(*corrected, strict=True))))

    def _run(self, sql: str, params: list[Any]) -> None:
        self._conn.execute(sql, params, prepare=True)

    def _flush_children(self) -> None:
        facts = [f for c in self._dirty_children if (f := self._children[c]) is not None]
        if not facts:
            return
        self._run(f"INSERT INTO {self._s}.dash_children (child_id, grid, status, reason) SELECT * FROM"
                  f" unnest(%b::uuid[], %b::text[], %b::text[], %b::text[]) ON CONFLICT (child_id) DO UPDATE"
                  f" SET grid = excluded.grid, status = excluded.status, reason = excluded.reason",
                  [[f.child_id for f in facts], [f.grid for f in facts], [f.status for f in facts],
                   [f.reason for f in facts]])
        ended, formed = [], []
        for f in facts:
            before = self._loaded_pairs.get(f.child_id.int, set())
            ended += [p for p in before if p not in f.pairs]
            formed += [(p, f.child_id, helper, at) for p, (helper, at) in f.pairs.items() if p not in before]
            self._loaded_pairs[f.child_id.int] = set(f.pairs)  # what the table holds once this batch commits
        if ended:
            self._run(f"DELETE FROM {self._s}.dash_pairs WHERE pair_id = ANY(%b::uuid[])", [ended])
        if formed:
            self._run(f"INSERT INTO {self._s}.dash_pairs (pair_id, child_id, helper_id, formed_position)"
                      f" SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::bigint[])",
                      list(map(list, zip(*formed, strict=True))))

    def _flush_contacts(self) -> None:
        kept, emptied = [], []
        for (key, semester), child_id in self._dirty_contacts.items():
            counts = self._contacts[key][semester]
            (kept if any(counts) else emptied).append((child_id, semester, *counts))
        if emptied:
            self._run(f"DELETE FROM {self._s}.dash_contacts WHERE (child_id, semester) IN"
                      f" (SELECT * FROM unnest(%b::uuid[], %b::text[]))",
                      [[e[0] for e in emptied], [e[1] for e in emptied]])
        if kept:
            arrays = ", ".join(["%b::uuid[]", "%b::text[]"] + ["%b::int[]"] * len(CONTACT_KINDS))
            sets = ", ".join(f"{k} = excluded.{k}" for k in CONTACT_KINDS)
            self._run(f"INSERT INTO {self._s}.dash_contacts (child_id, semester, {_KINDS}) SELECT * FROM"
                      f" unnest({arrays}) ON CONFLICT (child_id, semester) DO UPDATE SET {sets}",
                      list(map(list, zip(*kept, strict=True))))

    def _flush_counters(self) -> None:
        status = [(grid, self._tenant, *d) for grid, d in self._status.items() if any(d)]
        if status:
            self._run(_STATUS_UPSERT, list(map(list, zip(*status, strict=True))))
            self._run(_STATUS_ZERO, [[s[0] for s in status]])
        semester = [(grid, sem, self._tenant, *d) for (grid, sem), d in self._semester.items() if any(d)]
        if semester:
            self._run(_SEMESTER_UPSERT, list(map(list, zip(*semester, strict=True))))
            self._run(_SEMESTER_ZERO, [[s[0] for s in semester], [s[1] for s in semester]])


def reset(conn: psycopg.Connection[Any], tenant: str, schema: str) -> None:
    """Empty the counters of one tenant, private and shared (for a rebuild, inside its transaction)."""
    for table in ("dash_children", "dash_pairs", "dash_contacts", "dash_visits", "dash_helpers"):
        conn.execute(f"DELETE FROM {schema}.{table}")
    for table in ("rollup.grid_children", "rollup.grid_semester", "rollup.quotas"):
        conn.execute(f"DELETE FROM {table} WHERE tenant = %s", [tenant])

