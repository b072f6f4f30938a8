"""Whole-tenant audit exports: asked for over HTTP, built by a worker, kept sealed in the tenant's schema.

Where: the tenant's schema (`exports`, `export_chunks`), not the data folder. The API and the workers
share only the database and the broker (in production they may run on different hosts), the tenant's
data stays in the tenant's schema (Citus moves it whole), and a forget can erase it in the same
transaction that deletes the child's key.

Sealed: a bundle shows every event decoded for people, personal fields included. Stored as is it would
put ID numbers and phone numbers in the database in plaintext, which nothing else does. Each export
has its own random data key, wrapped by the master key (bound to tenant and export id); the bundle's
JSON is cut into chunks of `CHUNK` bytes, each sealed with AES-256-GCM (associated data: export id,
run and sequence number, so chunks cannot be moved or reordered). Neither the worker writing it nor
the API streaming it out holds more than a chunk, and a batch of rows, in memory.

Forgetting a child erases every stored export (a trigger on `subject_keys`): each holds the child's
data as it was. Exports are kept `KEEP_DAYS` days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from infra.crypto import KeyWrapper, decrypt, encrypt, new_data_key

CHUNK = 1 << 20
KEEP_DAYS = 7
# A job in one of these states answers for its moment: a retried request gets it again.
LIVE = ("queued", "running", "done")
CHILD_REGISTERED = "shouwang:child:registered"  # domain.child.Child.Registered.TOPIC: a stored-event contract


def exports_step_sql(schema: str) -> str:
    """Migration step: the export jobs, their sealed chunks, and their erasure when a subject is forgotten."""
    return f"""
    CREATE TABLE IF NOT EXISTS {schema}.exports (
        id uuid PRIMARY KEY,
        requested_by uuid NOT NULL,
        role text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        head_position bigint NOT NULL,
        idempotency_key text,
        status text NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'erased')),
        run uuid,
        wrapped_key bytea,
        finished_at timestamptz,
        end_position bigint,
        chunks int,
        bytes bigint,
        events bigint
    );
    -- One live job per user and log head ("the same moment"), and one per user and idempotency key.
    CREATE UNIQUE INDEX IF NOT EXISTS exports_moment_idx ON {schema}.exports (requested_by, head_position)
        WHERE status IN ('queued', 'running', 'done');
    CREATE UNIQUE INDEX IF NOT EXISTS exports_key_idx ON {schema}.exports (requested_by, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE IF NOT EXISTS {schema}.export_chunks (
        export_id uuid NOT NULL REFERENCES {schema}.exports (id) ON DELETE CASCADE,
        run uuid NOT NULL,
        seq int NOT NULL,
        sealed bytea NOT NULL,
        PRIMARY KEY (export_id, run, seq)
    );
    -- A forgotten subject's data must not outlive its key in an export made before.
    CREATE OR REPLACE FUNCTION {schema}.erase_exports() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
        DELETE FROM {schema}.export_chunks;
        UPDATE {schema}.exports SET status = 'erased', wrapped_key = NULL WHERE status IN ('running', 'done');
        RETURN NULL;
    END
    $body$;
    DROP TRIGGER IF EXISTS erase_exports ON {schema}.subject_keys;
    CREATE TRIGGER erase_exports AFTER DELETE ON {schema}.subject_keys
        FOR EACH ROW EXECUTE FUNCTION {schema}.erase_exports();
    """


def _q(sql: str, schema: str) -> SQL:
    return SQL(sql).format(Identifier(schema))  # type: ignore[arg-type]


_JOB = ("SELECT id, requested_by, role, requested_at, head_position, status, run, wrapped_key, finished_at,"
        " end_position, chunks, bytes, events FROM {}.exports")


def request(datastore: PostgresDatastore, schema: str, user_id: UUID, role: str, key: str | None
            ) -> tuple[dict[str, Any], bool]:
    """This user's export job at the log's current head (or under this idempotency key): (job, newly made)."""
    with datastore.get_connection() as conn:
        head = conn.execute(_q("SELECT coalesce(max(notification_id), 0) AS p FROM {}.events", schema)
                            ).fetchone()["p"]
        made = conn.execute(_q("INSERT INTO {}.exports (id, requested_by, role, head_position, idempotency_key)"
                               " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id", schema),
                            [uuid4(), user_id, role, head, key]).fetchone()
        if made is not None:
            return find(datastore, schema, made["id"]) or {}, True
        # A twin won: the job under this key, else the live one of this moment.
        row = conn.execute(_q(_JOB + " WHERE requested_by = %s AND (idempotency_key = %s OR"
                              " (head_position = %s AND status = ANY(%s))) ORDER BY idempotency_key = %s DESC"
                              " LIMIT 1", schema), [user_id, key, head, list(LIVE), key]).fetchone()
    if row is None:  # the twin failed or was erased between the two statements: ask again
        return request(datastore, schema, user_id, role, key)
    return row, False


def abandon(datastore: PostgresDatastore, schema: str, export_id: UUID) -> None:
    """Remove a job no worker could be asked to build (the broker refused it): the request failed, so it
    leaves nothing behind, and asking again makes a new one."""
    with datastore.get_connection() as conn:
        conn.execute(_q("DELETE FROM {}.exports WHERE id = %s AND status = 'queued'", schema), [export_id])


def find(datastore: PostgresDatastore, schema: str, export_id: UUID) -> dict[str, Any] | None:
    with datastore.get_connection() as conn:
        return conn.execute(_q(_JOB + " WHERE id = %s", schema), [export_id]).fetchone()


def build(datastore: PostgresDatastore, tenant: str, schema: str, export_id: UUID, wrapper: KeyWrapper,
          write_bundle: Callable[[Callable[[bytes], None]], dict[str, int]]) -> dict[str, Any]:
    """Make the export (idempotent): claim it under a new run, write its sealed chunks, mark it done.

    A second delivery of the task while the first runs takes the job over (a crashed worker's job is
    redelivered that way); whichever run is not the job's last finds it so at the end and drops its chunks.
    """
    run, data_key = uuid4(), new_data_key()
    with datastore.get_connection() as conn:
        conn.execute(_q("DELETE FROM {}.exports WHERE requested_at < now() - make_interval(days => %s)", schema),
                     [KEEP_DAYS])
        claimed = conn.execute(_q("UPDATE {}.exports SET status = 'running', run = %s, wrapped_key = %s"
                                  " WHERE id = %s AND status IN ('queued', 'running') RETURNING id", schema),
                               [run, wrapper.wrap(tenant, export_id, data_key), export_id]).fetchone()
    if claimed is None:
        job = find(datastore, schema, export_id)
        return {"id": str(export_id), "status": job["status"] if job else "absent"}
    sealer = _Sealer(datastore, schema, export_id, run, data_key)
    try:
        summary = write_bundle(sealer.write)
        sealer.close()
    except BaseException:
        _end(datastore, schema, export_id, run, "failed", {})
        raise
    status = _end(datastore, schema, export_id, run, "done", {**summary, "chunks": sealer.seq, "bytes": sealer.size})
    return {"id": str(export_id), "status": status, **summary, "bytes": sealer.size}


def _end(datastore: PostgresDatastore, schema: str, export_id: UUID, run: UUID, status: str,
         summary: dict[str, int]) -> str:
    """Close a run: mark the job `status` if this run still holds it, else drop the run's chunks."""
    with datastore.get_connection() as conn:
        done = conn.execute(_q("UPDATE {}.exports SET status = %s, finished_at = now(), end_position = %s,"
                               " chunks = %s, bytes = %s, events = %s WHERE id = %s AND run = %s AND status = 'running'"
                               " RETURNING status", schema),
                            [status, summary.get("end_position"), summary.get("chunks"), summary.get("bytes"),
                             summary.get("events"), export_id, run]).fetchone()
        if done is None or status != "done":
            conn.execute(_q("DELETE FROM {}.export_chunks WHERE export_id = %s AND run = %s", schema),
                         [export_id, run])
        if done is None:
            now = conn.execute(_q("SELECT status FROM {}.exports WHERE id = %s", schema), [export_id]).fetchone()
            return now["status"] if now else "absent"
        return status


def _aad(export_id: UUID, run: UUID, seq: int) -> bytes:
    return export_id.bytes + run.bytes + seq.to_bytes(8, "big")


class _Sealer:
    """Collects the bundle's bytes and stores them as sealed chunks of `CHUNK` bytes."""

    def __init__(self, datastore: PostgresDatastore, schema: str, export_id: UUID, run: UUID, key: bytes) -> None:
        self._datastore, self._export_id, self._run, self._key = datastore, export_id, run, key
        self._insert = _q("INSERT INTO {}.export_chunks (export_id, run, seq, sealed) VALUES (%s, %s, %s, %s)", schema)
        self._buffer = bytearray()
        self.seq = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= CHUNK:
            self._flush(bytes(self._buffer[:CHUNK]))
            del self._buffer[:CHUNK]

    def close(self) -> None:
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer.clear()

    def _flush(self, part: bytes) -> None:
        sealed = encrypt(self._key, part, _aad(self._export_id, self._run, self.seq))
        with self._datastore.get_connection() as conn:
            conn.execute(self._insert, [self._export_id, self._run, self.seq, sealed])
        self.seq += 1


def content(datastore: PostgresDatastore, tenant: str, schema: str, job: dict[str, Any],
            wrapper: KeyWrapper) -> Iterator[bytes]:
    """The bundle of a done job, chunk by chunk, opened; stops short if the export is erased meanwhile."""
    key = wrapper.unwrap(tenant, job["id"], bytes(job["wrapped_key"]))
    query = _q("SELECT sealed FROM {}.export_chunks WHERE export_id = %s AND run = %s AND seq = %s", schema)
    for seq in range(job["chunks"]):
        with datastore.get_connection() as conn:
            row = conn.execute(query, [job["id"], job["run"], seq]).fetchone()
        if row is None:
            raise LookupError(f"export {job['id']} was erased while it was read")
        yield decrypt(key, bytes(row["sealed"]), _aad(job["id"], job["run"], seq))


def record_access(datastore: PostgresDatastore, schema: str, job: dict[str, Any], user_id: UUID, role: str,
                  via: str) -> int:
    """Note, in the access log, a read of every child whose file the export holds; return how many."""
    query = SQL("INSERT INTO {0}.access_log (user_id, role, child_id, via) SELECT %s, %s, originator_id, %s"
                " FROM {0}.events WHERE topic = %s AND originator_version = 1 AND notification_id <= %s"
                " ORDER BY notification_id").format(Identifier(schema))
    with datastore.get_connection() as conn:
        return conn.execute(query, [user_id, role, via, CHILD_REGISTERED, job["end_position"]]).rowcount
