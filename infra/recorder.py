"""The per-tenant event recorder: one schema per tenant, one shared connection pool.

Writes go through `record_events()`, a function in the tenant's schema (see migrations):
one round trip that locks the tenant's events table (so commit order is notification-id
order, within this tenant only), stores new subject keys, deletes forgotten ones, inserts
the events and notifies the tenant's own channel, all in one transaction.
Reads join each event to its subject's wrapped key, so a forgotten subject reads as erased
in every process at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from infra.mapper import SealedStoredEvent


class Claim(NamedTuple):
    """An idempotency key claimed by the command being recorded, and the answer it produced."""

    user_id: UUID
    key: str
    request_hash: bytes
    status: int
    result_id: UUID
    result_version: int


class SchemaView(PostgresDatastore):
    """A tenant's view of the shared datastore: the same pool, another schema."""

    def __init__(self, shared: PostgresDatastore, schema: str) -> None:  # noqa: D107
        self.__dict__.update(shared.__dict__)
        self.schema = schema
        # We never use the library's composite types, so there is nothing to register.
        self.db_type_names = set()
        self.psycopg_type_adapters = {}
        self.psycopg_python_types = {}

    def register_type_adapters(self) -> None:
        pass

    def close(self) -> None:
        pass  # the pool belongs to the shared datastore

    def __del__(self) -> None:
        pass


class Notifier:
    """Wakes a tenant's listeners after its writes commit, from outside the writing transaction.

    A NOTIFY inside a transaction holds PostgreSQL's server-wide notify lock until that commit is
    flushed, so every writer of every tenant would queue behind every other. Sent afterwards by one
    thread per process, a burst of writes costs one short notify-only transaction. Listeners also
    sweep periodically, so a wake-up lost in a crash delays a read model; it never loses an event.
    """

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._pending: dict[str, set[str]] = {}  # channel → topics recorded since its last NOTIFY
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def poke(self, channel: str, topics: Iterable[str] = ()) -> None:
        """Ask for a NOTIFY on `channel` soon, saying which topics were recorded (listeners may skip the rest)."""
        with self._lock:
            self._pending.setdefault(channel, set()).update(topics)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="shouwang-notifier", daemon=True)
                self._thread.start()
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Send the wake-ups still pending, then stop; call it before closing the pool it sends through.

        Without it, a process closing its pool just after a write left the thread to NOTIFY on a
        closed pool: the wake-up was lost and a "pool already closed" traceback logged at exit.
        """
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                channels, self._pending = self._pending, {}
                closing = self._closed
            if channels:
                self._send(channels)
            if closing:
                return

    def _send(self, channels: dict[str, set[str]]) -> None:
        ordered = sorted(channels)
        try:
            # One round trip (BEGIN, the notifies and COMMIT in one pipeline), and no wait for the WAL flush: a
            # wake-up lost in a crash is caught by the sweep, and the listeners hear it as soon as it commits.
            with self._datastore.get_connection() as conn, conn.pipeline(), conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = off")
                conn.execute("SELECT pg_notify(c, p) FROM unnest(%s::text[], %s::text[]) AS n(c, p)",
                             [ordered, [topics_payload(channels[c]) for c in ordered]])
        except Exception:  # the database is away: the listeners' sweep will catch up
            logging.getLogger(__name__).warning("could not notify %s", channels, exc_info=True)


def topics_payload(topics: set[str]) -> str:
    """The NOTIFY payload naming the topics recorded; empty (any topic, as a sweep) if too long for one."""
    payload = ",".join(sorted(topics))
    return payload if len(payload.encode()) < 7900 else ""  # pg_notify payloads stay under 8,000 bytes


def channel_name(schema: str) -> str:
    """The NOTIFY channel of one tenant's log, so one tenant's writes never wake another's listeners."""
    return f"{schema}_events"


class TenantRecorder(PostgresApplicationRecorder):
    """Application recorder for one tenant schema on the shared pool."""

    def __init__(self, datastore: SchemaView, notifier: Notifier | None = None) -> None:
        super().__init__(datastore, events_table_name="events")
        schema = Identifier(datastore.schema)
        self.channel_name = channel_name(datastore.schema)
        self._notifier = notifier
        # The arrays travel in binary (%b): psycopg dumps them about twice as fast as array literals.
        self._record = SQL(
            "SELECT * FROM {}.record_events(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::uuid[],"
            " %b::uuid[], %b::bytea[], %b::uuid[], %s::uuid, %s::text, %s::bytea, %s::int, %s::uuid, %s::bigint)"
        ).format(schema)
        # A scalar subquery per row: an index probe, where a join lets the planner scan every key.
        self._select = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.subject_id,"
            " (SELECT k.wrapped_key FROM {0}.subject_keys k WHERE k.subject_id = e.subject_id) AS wrapped_key"
            " FROM {0}.events e WHERE e.originator_id = %s"
        ).format(schema)
        self._select_key = SQL("SELECT wrapped_key FROM {}.subject_keys WHERE subject_id = %s").format(schema)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], *, forget_subjects: Sequence[UUID] = (),
                      claim: Claim | None = None, **_: Any) -> Sequence[int] | None:
        events = [e if isinstance(e, SealedStoredEvent) else SealedStoredEvent(*e) for e in stored_events]
        new_keys = [(e.subject_id, e.wrapped_key) for e in events if e.new_key]
        params = (
            [e.originator_id for e in events], [e.originator_version for e in events],
            [e.topic for e in events], [e.state for e in events], [e.subject_id for e in events],
            [k[0] for k in new_keys], [k[1] for k in new_keys], list(forget_subjects),
            *(claim if claim is not None else (None,) * 6),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._record, params, prepare=True)
            positions = [row["record_events"] for row in curs.fetchall()]
        if self._notifier is not None:
            self._notifier.poke(self.channel_name, {e.topic for e in events})
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(self, originator_id: UUID | str, *, gt: int | None = None, lte: int | None = None,
                      desc: bool = False, limit: int | None = None) -> Sequence[SealedStoredEvent]:
        statement = self._select
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += SQL(" AND e.originator_version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND e.originator_version <= %s")
            params.append(lte)
        statement += SQL(" ORDER BY e.originator_version DESC" if desc else " ORDER BY e.originator_version")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [_sealed(row) for row in curs.fetchall()]

    def select_subject_events(self, subject_id: UUID) -> list[tuple[int, Any, SealedStoredEvent, bytes | None]]:
        """(position, recorded_at, event, chain hash) of every event about one subject, in log order."""
        statement = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, e.subject_id,"
            " e.recorded_at, e.hash, k.wrapped_key FROM {0}.events e LEFT JOIN {0}.subject_keys k"
            " ON k.subject_id = e.subject_id WHERE e.subject_id = %s ORDER BY e.notification_id"
        ).format(Identifier(self.datastore.schema))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [subject_id], prepare=True)
            return [(row["notification_id"], row["recorded_at"], _sealed(row),
                     bytes(row["hash"]) if row["hash"] is not None else None) for row in curs.fetchall()]

    def select_subject_streams(self, subject_id: UUID, topic: str) -> list[UUID]:
        """The streams with an event of `topic` about one subject, in the log order of those events."""
        statement = SQL(
            "SELECT originator_id FROM {}.events WHERE subject_id = %s AND topic = %s ORDER BY notification_id"
        ).format(Identifier(self.datastore.schema))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [subject_id, topic], prepare=True)
            return [row["originator_id"] for row in curs.fetchall()]

    def version_recorded_by(self, originator_id: UUID, moment: Any) -> int | None:
        """The stream's version as it stood at `moment` (recording time), or None before it existed."""
        statement = SQL(
            "SELECT max(originator_version) AS v FROM {}.events WHERE originator_id = %s AND recorded_at <= %s"
        ).format(Identifier(self.datastore.schema))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [originator_id, moment], prepare=True)
            row = curs.fetchone()
            return row["v"] if row else None

    def fetch_wrapped_key(self, subject_id: UUID) -> bytes | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_key, [subject_id], prepare=True)
            row = curs.fetchone()
            return bytes(row["wrapped_key"]) if row else None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_sealed_notifications(self, after: int, limit: int) -> list[tuple[int, SealedStoredEvent]]:
        """Up to `limit` events after log position `after`, in log order, each with its subject's key."""
        statement = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, e.subject_id,"
            " k.wrapped_key FROM {0}.events e LEFT JOIN {0}.subject_keys k ON k.subject_id = e.subject_id"
            " WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s"
        ).format(Identifier(self.datastore.schema))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [after, limit], prepare=True)
            return [(row["notification_id"], _sealed(row)) for row in curs.fetchall()]


def _sealed(row: dict[str, Any]) -> SealedStoredEvent:
    wrapped = row["wrapped_key"]
    return SealedStoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]),
                             row["subject_id"], bytes(wrapped) if wrapped is not None else None)


def find_claim(datastore: PostgresDatastore, schema: str, user_id: UUID, key: str) -> dict[str, Any] | None:
    """The answer recorded for an idempotency key, if any."""
    with datastore.get_connection() as conn:
        return conn.execute(
            SQL("SELECT request_hash, status, result_id, result_version, position FROM {}.idempotency"
                " WHERE user_id = %s AND key = %s").format(Identifier(schema)), [user_id, key]).fetchone()
