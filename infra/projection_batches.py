"""Processing a tenant's log into its read models, a batch at a time, each batch committed exactly once.

Projections standing at the same position share a batch: its events are read and decoded once
(decrypted only for projections that read personal fields), then, in one transaction, every
projection's tracking row is locked and checked to still hold the batch's start, its rows are
written, and its position moves. A crash before the commit leaves nothing; a batch another process
committed first is dropped because the position moved. A projection behind the others (new, or
rebuilt alone) catches up on its own batches until it stands with them again.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from infra.mapper import SealedStoredEvent
from infra.migrations import schema_for
from infra.projection_specs import PROJECTIONS, Batch, Conn, ProjectionSpec

if TYPE_CHECKING:
    from infra.bootstrap import Infrastructure

BATCH = 4000  # events per batch at most; catching up 100,000 events, 4,000 were 17% faster than 1,000
_AT = "@position"  # the position a projection's memo reflects
Progress = Callable[[int, int], None]


def relax_gc() -> None:
    """Run Python's cycle collector less often in this process: a long catch-up spent 40% of its time in it.

    A batch's decoded events live until it is written, so each collection promotes thousands of them and
    soon traverses every object the counters remember; at 100,000 allocations per young collection
    instead of 700, a 500,000-event catch-up went twice as fast (docs/projections.md). Nothing here
    relies on the collector: rows and events are freed by reference counting.
    """
    gc.set_threshold(100_000, 10, 10)


def _peek(infra: Infrastructure, schema: str) -> tuple[dict[str, int], int]:
    """Every tracked position of the tenant, and its log's head."""
    with infra.datastore.get_connection() as conn:
        rows = conn.execute(SQL("SELECT projection, position FROM {0}.projection_tracking UNION ALL"
                                " SELECT NULL, coalesce(max(notification_id), 0) FROM {0}.events")
                            .format(Identifier(schema))).fetchall()
    head = next(r["position"] for r in rows if r["projection"] is None)
    return {r["projection"]: r["position"] for r in rows if r["projection"] is not None}, head


def _locking(schema: str) -> Composed:
    """Lock the tracking rows of the projections named (sorted), in name order: the one order every process
    takes them in, so two never deadlock; their positions are the answer."""
    return SQL("SELECT projection, position FROM {}.projection_tracking WHERE projection = ANY(%s)"
               " ORDER BY projection FOR UPDATE").format(Identifier(schema))


def _lock(conn: Conn, schema: str, names: Sequence[str]) -> dict[str, int]:
    """The tracked positions of these projections, their rows locked until the transaction ends."""
    ordered = sorted(names)
    select = _locking(schema)
    rows = conn.execute(select, [ordered]).fetchall()
    if len(rows) < len(ordered):  # a projection's first batch: its tracking row starts at 0
        conn.execute(SQL("INSERT INTO {}.projection_tracking (projection, position) SELECT unnest(%s::text[]), 0"
                         " ON CONFLICT (projection) DO NOTHING").format(Identifier(schema)), [ordered])
        rows = conn.execute(select, [ordered]).fetchall()
    return {r["projection"]: r["position"] for r in rows}


def _read(infra: Infrastructure, tenant: str, after: int, limit: int, personal: frozenset[str]
          ) -> list[tuple[int, SealedStoredEvent]]:
    """Up to `limit` events after `after`, in log order; the subject's wrapped key only for `personal` topics."""
    schema = schema_for(tenant)
    with infra.datastore.get_connection() as conn:
        # Binary tuples: bytea arrives as bytes (no hex decoding), and no dict is built per row.
        cur = conn.cursor(row_factory=tuple_row, binary=True)
        rows = cur.execute(f"SELECT notification_id, originator_id, originator_version, topic, state, subject_id"
                           f" FROM {schema}.events WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                           [after, limit], prepare=True).fetchall()
        # Keys are joined only where a projection reads sealed fields: nothing else is decrypted. A key
        # deleted since the events were read reads as erased, as it should.
        subjects = list({r[5] for r in rows if r[3] in personal and r[5] is not None})
        keys = dict(cur.execute(f"SELECT subject_id, wrapped_key FROM {schema}.subject_keys"
                                f" WHERE subject_id = ANY(%b::uuid[])", [subjects], prepare=True).fetchall()
                    ) if subjects else {}
    return [(r[0], SealedStoredEvent(r[1], r[2], r[3], r[4], r[5], keys.get(r[5]))) for r in rows]


def _personal(group: Sequence[ProjectionSpec]) -> frozenset[str]:
    return frozenset().union(*(spec.personal_topics for spec in group))


def _decode(infra: Infrastructure, tenant: str, group: Sequence[ProjectionSpec],
            stored: Sequence[tuple[int, SealedStoredEvent]]) -> dict[str, list[tuple[int, Any]]]:
    """Each projection's events of a batch, each event decoded once (and skipped undecoded if none takes it)."""
    mapper = infra.logs[tenant].mapper
    decoded: dict[str, list[tuple[int, Any]]] = {spec.name: [] for spec in group}
    routes: dict[str, list[list[tuple[int, Any]]]] = {}
    for position, event in stored:
        route = routes.get(event.topic)
        if route is None:
            route = routes[event.topic] = [decoded[spec.name] for spec in group if event.topic in spec.topics]
        targets = route
        if not targets:
            continue  # skipped undecoded
        # Events of personal topics come with their key (see `_read`); without one the mapper leaves
        # personal fields as None and decrypts nothing.
        domain_event = mapper.to_domain_event(event)
        for target in targets:
            target.append((position, domain_event))
    return decoded


def _apply(batch: Batch, specs: Sequence[ProjectionSpec], decoded: dict[str, list[tuple[int, Any]]]) -> bool:
    """Write the projections' rows for a batch, in the caller's pipeline (the caller moves their positions).

    Every writer loads what it needs first; then all of them apply and write, so the database works
    through one projection's statements while Python applies the next one's events. Returns whether a
    writer signalled somebody (a notice's `pg_notify`).
    """
    writers = [(spec, spec.rows(batch)) for spec in specs]
    for spec, rows in writers:
        prepare = getattr(rows, "prepare", None)
        if prepare is not None:
            prepare(decoded[spec.name])
    for spec, rows in writers:
        for position, event in decoded[spec.name]:
            spec.apply(event, position, rows)
        flush = getattr(rows, "flush", None)
        if flush is not None:
            flush()
    return any(getattr(rows, "signalled", False) for _, rows in writers)


def _plan_for_now(conn: Conn, backlog: bool) -> None:
    """Plan a backlog's statements for the tables as they are now, not as they were when first run.

    A connection caches a generic plan for a prepared statement after a few runs, and keeps it until the
    table is analyzed. A catch-up from far behind (a new tenant's history, a rebuild) fills tables
    faster than autovacuum analyzes them: plans made while they were nearly empty scanned them whole,
    matching every row against the batch's array of ids, and a lookup of a batch's visits or the
    recount of re-dated contacts took 150 ms to 1.8 s a batch once the tables held a few hundred
    thousand rows. Custom plans are costed with the tables' current size and the batch's own arrays;
    planning them costs 1 to 2 µs of server time per event of a long catch-up (docs/projections.md). A
    batch of live traffic (read short of a full batch) keeps the cached plans: the tables grow slowly
    then, autovacuum's analyses keep up, and planning each of its statements cost the supervisors'
    notices 2 to 3 ms at the median under the notification bench.
    """
    if backlog:
        conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def _relax_commit(conn: Conn, signalled: bool) -> None:
    """Commit without waiting for the WAL flush, unless the batch signalled somebody.

    Read-model rows are derived: if the server crashed before flushing, the rows and their tracking
    position go back together and are made again from the log. A notice, once pushed to a browser,
    must not vanish and come back under another id: a batch that told somebody waits for the flush.
    (Most of the inbox's batches tell nobody: a visit is no notice. Fewer flushes, shorter waits for
    the ones that do.)
    """
    if not signalled:
        conn.execute("SET LOCAL synchronous_commit = off")  # read at commit: may come after the writes


def _move(conn: Conn, schema: str, names: Sequence[str], position: int) -> None:
    """Set the projections' tracking positions (their rows already locked by this transaction)."""
    conn.execute(SQL("UPDATE {}.projection_tracking SET position = %s WHERE projection = ANY(%s)")
                 .format(Identifier(schema)), [position, list(names)])


def _forget_stale(memo: dict[str, dict[str, Any]], stand: dict[str, int]) -> None:
    """Drop what a writer remembers of rows another process wrote since (its position is not where it stands)."""
    for name, position in stand.items():
        remembered = memo.get(name)
        if remembered is not None and remembered.get(_AT) != position:
            memo.pop(name)


def _remember_at(memo: dict[str, dict[str, Any]], names: Sequence[str], reached: int) -> None:
    """What the writers of these projections remember now holds at `reached` (their batch committed)."""
    for name in names:
        if name in memo:
            memo[name][_AT] = reached


def _claim(conn: Conn, schema: str, names: Sequence[str], position: int, reached: int) -> None:
    """Move the projections from `position` to `reached` in this transaction, or make the transaction fail.

    Sent without waiting for an answer: the tracking rows are locked in name order (the order every
    process takes them in) and moved only where they still stand at `position`; a projection standing
    elsewhere (moved by another process, or with no tracking row yet) fails the statement with
    `ClaimLost`, so nothing written after it in the transaction can commit.
    """
    ordered = sorted(names)
    conn.execute(_locking(schema), [ordered])
    conn.execute(SQL("WITH moved AS (UPDATE {}.projection_tracking SET position = %s WHERE projection = ANY(%s)"
                     " AND position = %s RETURNING 1) SELECT platform.expect_claimed(count(*), %s) FROM moved")
                 .format(Identifier(schema)), [reached, ordered, position, len(ordered)])


ClaimLost = psycopg.errors.AssertFailure  # what platform.expect_claimed raises


def _claimed(infra: Infrastructure, tenant: str, group: Sequence[ProjectionSpec], position: int, reached: int,
             decoded: dict[str, list[tuple[int, Any]]], memo: dict[str, dict[str, Any]], backlog: bool) -> bool:
    """Commit the batch in one round trip, if every projection of the group still stands at `position`.

    The usual case: BEGIN, the claim of the tracking rows, the rows and the COMMIT go in one pipeline,
    with no answer awaited in between unless a writer reads something. False if the claim failed (the
    transaction rolled back whole, and what the writers remembered is dropped): the caller then takes
    the general way, which looks at where each projection stands first.
    """
    schema = schema_for(tenant)
    names = [spec.name for spec in group]
    _forget_stale(memo, dict.fromkeys(names, position))
    with infra.datastore.get_connection() as conn:
        try:
            with conn.pipeline(), conn.transaction():
                _plan_for_now(conn, backlog)
                _claim(conn, schema, names, position, reached)
                _relax_commit(conn, _apply(Batch(conn, tenant, schema, infra, memo), group, decoded))
        except (ClaimLost, psycopg.errors.PipelineAborted):
            for name in names:
                memo.pop(name, None)  # the writers may have changed it for rows that were rolled back
            return False
    _remember_at(memo, names, reached)
    return True


Read = tuple[list[tuple[int, SealedStoredEvent]], dict[str, list[tuple[int, Any]]]]  # a batch's events, decoded


def _fetch(infra: Infrastructure, tenant: str, group: Sequence[ProjectionSpec], position: int, limit: int) -> Read:
    """Up to `limit` events after `position`, and each projection of the group's share of them decoded."""
    stored = _read(infra, tenant, position, limit, _personal(group))
    return stored, _decode(infra, tenant, group, stored)


def _step(infra: Infrastructure, tenant: str, group: Sequence[ProjectionSpec], position: int, limit: int,
          memo: dict[str, dict[str, Any]], read: Read | None = None) -> tuple[dict[str, int], bool]:
    """One batch after `position` for the projections standing there (those another process moved are left).

    Returns where each projection of the group stands after it, and whether the read was short of `limit`
    (it reached the log's head as it then stood). `memo` carries row writers' state from one
    batch to the next: it is only true while every change to a projection's rows since the last batch was
    that batch's own, so it is dropped when it was not. `read` is the batch already fetched (read ahead).
    """
    stored, decoded = read if read is not None else _fetch(infra, tenant, group, position, limit)
    short = len(stored) < limit
    if not stored:
        return {spec.name: position for spec in group}, short
    schema = schema_for(tenant)
    reached = stored[-1][0]
    if _claimed(infra, tenant, group, position, reached, decoded, memo, not short):
        return {spec.name: reached for spec in group}, short
    # The general way: see where each projection stands, and leave out those another process moved.
    with infra.datastore.get_connection() as conn, conn.pipeline(), conn.transaction():
        _plan_for_now(conn, not short)
        locked = _lock(conn, schema, [spec.name for spec in group])
        _forget_stale(memo, locked)
        # A projection another process moved meanwhile is left out: this batch must not count twice for it.
        live = [spec for spec in group if locked[spec.name] == position]
        signalled = _apply(Batch(conn, tenant, schema, infra, memo), live, decoded)
        _move(conn, schema, [spec.name for spec in live], reached)
        _relax_commit(conn, signalled)
    _remember_at(memo, [spec.name for spec in live], reached)
    return {spec.name: reached if spec in live else locked[spec.name] for spec in group}, short


def _refresh(infra: Infrastructure, tenant: str, projections: Sequence[ProjectionSpec]) -> None:
    """Bring rows derived from settings up to date (a cheap check first; the work with the tracking row locked)."""
    schema = schema_for(tenant)
    for spec in projections:
        if spec.refresh is None or spec.stale is None:
            continue
        with infra.datastore.get_connection() as conn:
            if spec.stale(conn, tenant):
                with conn.transaction():
                    _lock(conn, schema, [spec.name])
                    spec.refresh(conn, tenant, schema)


class _ReadAhead:
    """Reads and decodes the next batch in a thread of its own while the current one is written.

    Only a backlog is read ahead (a batch read full): the database works through a batch's statements
    and commit while Python decodes the next one, instead of each waiting for the other. A batch read
    ahead is used only by the same projections starting where it starts; otherwise it is dropped.
    """

    def __init__(self, infra: Infrastructure, tenant: str, limit: int) -> None:
        self._infra, self._tenant, self._limit = infra, tenant, limit
        self._pool: ThreadPoolExecutor | None = None
        self._next: tuple[tuple[str, ...], int, Future[Read]] | None = None

    def start(self, group: Sequence[ProjectionSpec], position: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="projection-read-ahead")
        future = self._pool.submit(_fetch, self._infra, self._tenant, group, position, self._limit)
        self._next = (tuple(spec.name for spec in group), position, future)

    def take(self, group: Sequence[ProjectionSpec], position: int) -> Read:
        """The batch of `group` after `position`: the one read ahead if it is that one, else read now."""
        ahead, self._next = self._next, None
        if ahead is not None:
            if ahead[:2] == (tuple(spec.name for spec in group), position):
                return ahead[2].result()
            ahead[2].cancel()
        return _fetch(self._infra, self._tenant, group, position, self._limit)

    def close(self) -> None:
        """Drop what was read ahead and not used, after the thread is done with its connection."""
        self._next = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def advance(infra: Infrastructure, tenant: str, *, projections: Sequence[ProjectionSpec] = PROJECTIONS,
            batch: int = BATCH, max_batches: int | None = None, stood: dict[str, int] | None = None
            ) -> tuple[int, bool]:
    """Process up to `max_batches` batches; return the lowest position the projections reached, and if more remain.

    It goes as far as the log's head when it starts (or, given `stood`, as far as its first short read): what
    is recorded later wakes the runner again. `stood` is where the caller last left these projections: given
    for every one of them, it spares the look at the tracking rows and the log's head (a round trip per wake),
    and it is updated in place. A stale one costs nothing but a failed claim: the batch then looks.
    """
    schema = schema_for(tenant)
    _refresh(infra, tenant, projections)
    done = 0
    memo: dict[str, dict[str, Any]] = {}  # lives for this call only: a failed batch takes it away with it
    positions = {spec.name: (stood or {}).get(spec.name, -1) for spec in projections}
    head: float = math.inf
    if min(positions.values(), default=0) < 0:
        tracked, head = _peek(infra, schema)
        positions = {spec.name: tracked.get(spec.name, 0) for spec in projections}
    ahead = _ReadAhead(infra, tenant, batch)
    try:
        while True:
            behind = [spec for spec in projections if positions[spec.name] < head]
            if not behind or (max_batches is not None and done >= max_batches):
                return min(positions.values(), default=0), bool(behind)
            start = min(positions[spec.name] for spec in behind)
            group = [spec for spec in behind if positions[spec.name] == start]
            read = ahead.take(group, start)
            if len(read[0]) == batch and (max_batches is None or done + 1 < max_batches):
                ahead.start(group, read[0][-1][0])  # a backlog: read on while this batch is written
            after, short = _step(infra, tenant, group, start, batch, memo, read)
            if all(after[spec.name] == start for spec in group):
                return min(positions.values(), default=0), False  # nothing after `start` to read
            positions.update(after)
            if short and head == math.inf:
                head = max(after.values())  # a read shorter than a batch ended at the head, as it then stood
            done += 1
    finally:
        ahead.close()
        if stood is not None:
            stood.update(positions)


def catch_up(infra: Infrastructure, tenant: str, *, projections: Sequence[ProjectionSpec] = PROJECTIONS,
             batch: int = BATCH) -> int:
    """Process everything recorded so far for a tenant, now; return the position its read models reached."""
    return advance(infra, tenant, projections=projections, batch=batch)[0]


def rebuild(infra: Infrastructure, tenant: str, *, projections: Sequence[ProjectionSpec] = PROJECTIONS,
            batch: int = BATCH, progress: Progress | None = None) -> int:
    """Empty read models and replay the tenant's log from 0 in one transaction; readers see the old rows until then."""
    schema = schema_for(tenant)
    position = 0
    with infra.datastore.get_connection() as conn, conn.transaction():
        _plan_for_now(conn, backlog=True)
        _lock(conn, schema, [spec.name for spec in projections])  # runners wait for the rebuild, then see it done
        head = _peek(infra, schema)[1]
        for spec in projections:
            spec.reset(conn, tenant, schema)
            if spec.refresh is not None:
                spec.refresh(conn, tenant, schema)
        batch_of = Batch(conn, tenant, schema, infra)
        signalled = False
        while (read := _fetch(infra, tenant, projections, position, batch))[0]:
            stored, decoded = read
            with conn.pipeline():
                signalled |= _apply(batch_of, projections, decoded)
            position = stored[-1][0]
            if progress is not None:
                progress(position, head)
        _move(conn, schema, [spec.name for spec in projections], position)
        _relax_commit(conn, signalled)
    return position
