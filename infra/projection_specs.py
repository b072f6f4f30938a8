"""Every projection the runner keeps, as the runner drives it: its events, its row writer, how to empty it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import psycopg

from infra import concern_rows, counter_rows, notice_rows, register_rows
from infra.quota_sync import quotas, sync_quota
from infra.read_models import id_number_index
from projections import child_register, concern_queue, notifications, unit_counters

if TYPE_CHECKING:
    from infra.bootstrap import Infrastructure

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Batch:
    """What a row writer works with: the batch's connection (inside its transaction) and tenant."""

    conn: Conn
    tenant: str
    schema: str
    infra: Infrastructure
    # State a row writer may keep from one batch to the next of the same run, per projection; the runner
    # drops a projection's entry whenever its rows may have changed otherwise (a batch not ours, a failure).
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectionSpec:
    """A projection as the runner drives it.

    `rows(batch)` makes the port `apply` writes through for one batch; if it has `prepare(events)`
    the runner calls it first (to load state in bulk) and `flush()` after the last event.
    `personal_topics` are the events whose sealed personal fields it reads: only those are decrypted.
    `stale`/`refresh` bring rows derived from settings up to date when nothing new was recorded.
    An `urgent` projection is advanced first by the runner, in transactions of its own: what a person is
    waiting for (a supervisor's notice) never waits for the dashboards' counters to be written.
    """

    name: str
    topics: frozenset[str]
    apply: Callable[[Any, int, Any], None]
    rows: Callable[[Batch], Any]
    reset: Callable[[Conn, str, str], None]
    personal_topics: frozenset[str] = frozenset()
    stale: Callable[[Conn, str], bool] | None = None
    refresh: Callable[[Conn, str, str], None] | None = None
    urgent: bool = False


def _register_rows(batch: Batch) -> register_rows.RegisterTable:
    return register_rows.RegisterTable(batch.conn, batch.schema,
                                       partial(id_number_index, batch.infra.wrapper, batch.tenant))


def _quota_changed(conn: Conn, tenant: str) -> bool:
    current, stored = quotas(conn, tenant)
    return current != stored


def _sync_quota(conn: Conn, tenant: str, schema: str) -> None:
    sync_quota(conn, tenant, schema)


CHILD_REGISTER = ProjectionSpec(
    child_register.NAME, child_register.TOPICS, child_register.apply, _register_rows,
    lambda conn, tenant, schema: register_rows.reset(conn, schema), child_register.PERSONAL_TOPICS)
UNIT_COUNTERS = ProjectionSpec(
    unit_counters.NAME, unit_counters.TOPICS, unit_counters.apply,
    lambda batch: counter_rows.CounterTables(batch.conn, batch.tenant, batch.schema,
                                             batch.memo.setdefault(unit_counters.NAME, {})),
    counter_rows.reset,
    unit_counters.PERSONAL_TOPICS, stale=_quota_changed,
    refresh=_sync_quota)
CONCERN_QUEUE = ProjectionSpec(
    concern_queue.NAME, concern_queue.TOPICS, concern_queue.apply,
    lambda batch: concern_rows.QueueTable(batch.conn, batch.tenant, batch.schema), concern_rows.reset,
    concern_queue.PERSONAL_TOPICS)
# Notifications: inbox rows and their pg_notify in the batch's transaction (infra/notice_rows.py).
NOTIFICATIONS = ProjectionSpec(
    notifications.NAME, notifications.TOPICS, notifications.apply,
    lambda batch: notice_rows.NoticeTable(batch.conn, batch.tenant, batch.schema), notice_rows.reset,
    notifications.PERSONAL_TOPICS, urgent=True)
PROJECTIONS: tuple[ProjectionSpec, ...] = (CHILD_REGISTER, UNIT_COUNTERS, CONCERN_QUEUE, NOTIFICATIONS)


def named(names: list[str] | None) -> tuple[ProjectionSpec, ...]:
    """The projections with these names (all of them for None); an unknown name is refused."""
    if not names:
        return PROJECTIONS
    known = {spec.name: spec for spec in PROJECTIONS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown projection(s) {unknown}; known: {sorted(known)}")
    return tuple(known[n] for n in names)
