"""Keeps every tenant's read models current: one process, a fixed number of threads and connections.

One LISTEN connection hears every served tenant's `t_<code>_events` channel; a periodic sweep
catches missed notifications, new tenants and changed settings. A fixed pool of worker threads takes
woken lanes (a tenant's urgent projections, or its others; never one lane in two threads at once) and
advances those projections of the tenant (`infra.projection_batches`): events read once per batch,
rows and tracking positions written in the same transaction with the tracking rows locked, so a
batch commits exactly once and a crash resumes where the last commit left.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

import psycopg

from infra.bootstrap import Infrastructure
from infra.directory import TENANTS_CHANNEL
from infra.migrations import schema_for
from infra.projection_batches import BATCH, advance, catch_up, rebuild, relax_gc
from infra.projection_specs import CHILD_REGISTER, CONCERN_QUEUE, PROJECTIONS, UNIT_COUNTERS, ProjectionSpec, named
from infra.recorder import channel_name

__all__ = ["BATCH", "CHILD_REGISTER", "CONCERN_QUEUE", "PROJECTIONS", "UNIT_COUNTERS", "ProjectionSpec", "Runner",
           "RunnerSettings", "advance", "catch_up", "parse_shard", "rebuild", "relax_gc", "run_forever", "serves"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSettings:
    workers: int = 4
    sweep_seconds: float = 10.0
    batch: int = BATCH
    shard: tuple[int, int] = (0, 1)
    # The projections this process keeps (None: all of them). Giving the notification inbox a process of its
    # own keeps a supervisor's notice from sharing a GIL with the dashboards' counters (docs/notifications.md).
    projections: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.projections:
            named(list(self.projections))  # an unknown name is refused when the process starts, not when a tenant wakes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RunnerSettings:
        """From SHOUWANG_PROJECTION_WORKERS, _PROJECTION_SWEEP_SECONDS, _SHARD (i/n) and _PROJECTIONS (a,b)."""
        names = tuple(n.strip() for n in environ.get("SHOUWANG_PROJECTIONS", "").split(",") if n.strip())
        return cls(workers=int(environ.get("SHOUWANG_PROJECTION_WORKERS", "4")),
                   sweep_seconds=float(environ.get("SHOUWANG_PROJECTION_SWEEP_SECONDS", "10")),
                   shard=parse_shard(environ.get("SHOUWANG_SHARD", "0/1")), projections=names or None)


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n`: this process serves the tenants whose stable hash modulo n is i."""
    index, _, count = text.partition("/")
    i, n = int(index), int(count)
    if not 0 <= i < n:
        raise ValueError(f"SHOUWANG_SHARD must be i/n with 0 <= i < n, not {text!r}")
    return i, n


def serves(tenant: str, shard: tuple[int, int]) -> bool:
    """Whether a shard serves a tenant (crc32: stable across processes and Python versions)."""
    return zlib.crc32(tenant.encode()) % shard[1] == shard[0]


Lane = tuple[str, int]  # a tenant and a group of its projections (0: the urgent ones, if any)


class _Queue:
    """Woken lanes, each queued at most once and never handed to two workers at once."""

    def __init__(self) -> None:
        self._ready: deque[Lane] = deque()
        self._queued: set[Lane] = set()
        self._busy: set[Lane] = set()
        self._again: set[Lane] = set()
        self._cond = threading.Condition()

    def wake(self, lane: Lane) -> None:
        with self._cond:
            if lane in self._busy:
                self._again.add(lane)  # woken while being processed: go round once more after
            elif lane not in self._queued:
                self._queued.add(lane)
                self._ready.append(lane)
                self._cond.notify()

    def take(self, timeout: float) -> Lane | None:
        with self._cond:
            if not self._ready and not self._cond.wait_for(lambda: bool(self._ready), timeout):
                return None
            lane = self._ready.popleft()
            self._queued.discard(lane)
            self._busy.add(lane)
            return lane

    def done(self, lane: Lane, *, again: bool = False) -> None:
        with self._cond:
            self._busy.discard(lane)
            if again or lane in self._again:
                self._again.discard(lane)
                self.wake(lane)


class Runner:
    """The projection process: one listener (the calling thread) and `settings.workers` worker threads."""

    TICK = 0.5  # how soon the threads notice a stop

    def __init__(self, infra: Infrastructure, settings: RunnerSettings,
                 projections: Sequence[ProjectionSpec] = PROJECTIONS) -> None:
        self._infra = infra
        self._settings = settings
        # Urgent projections form a lane of their own in every tenant: their batches are taken by any free
        # worker and commit without waiting for the other projections of the tenant (their tracking rows,
        # and so their locks, are disjoint).
        urgent = tuple(spec for spec in projections if spec.urgent)
        self._groups = [group for group in (urgent, tuple(s for s in projections if not s.urgent)) if group]
        self._queue = _Queue()
        # Where each lane's projections stood after its last batches here: a woken lane reads on from there
        # without first looking at its tracking rows. Forgotten at every sweep, and when a lane fails.
        self._stood: dict[Lane, dict[str, int]] = {}

    def _wake(self, tenant: str, payload: str = "") -> None:
        """Queue the tenant's lanes; an urgent lane only if the commit recorded a topic it takes.

        `payload` names the topics a commit recorded (`infra.recorder.topics_payload`; empty: any, as a sweep).
        Most of a tenant's commits are visits, which the inbox does not take: not waking it for them keeps
        its lane free for the concern that follows. It passes over them when next woken (or at the sweep),
        so its position may lag behind events it does not take by up to a sweep; nothing waits on it.
        """
        topics = set(payload.split(",")) if payload else None
        for lane, group in enumerate(self._groups):
            if topics is None:
                self._stood.pop((tenant, lane), None)  # a sweep looks again (say, at positions a reset moved back)
            if topics is not None and all(spec.urgent for spec in group) and \
                    not any(topics & spec.topics for spec in group):
                continue
            self._queue.wake((tenant, lane))

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set."""
        halt = threading.Event()
        workers = [threading.Thread(target=self._work, args=(stop, halt), name=f"projection-worker-{i}", daemon=True)
                   for i in range(self._settings.workers)]
        for worker in workers:
            worker.start()
        try:
            while not stop.is_set():
                try:
                    with psycopg.connect(self._infra.database_url, autocommit=True,
                                         application_name="shouwang-projections") as conn:
                        self._listen(conn, stop)
                except psycopg.OperationalError:
                    log.exception("projection listener lost its connection; reconnecting")
                    stop.wait(1.0)
        finally:
            halt.set()
            for worker in workers:
                worker.join()

    def _listen(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        channels: dict[str, str] = {}
        next_sweep = 0.0
        conn.execute(f"LISTEN {TENANTS_CHANNEL}")
        while not stop.is_set():
            if monotonic() >= next_sweep:
                tenants = [code for (code,) in conn.execute("SELECT code FROM platform.tenants").fetchall()
                           if serves(code, self._settings.shard)]
                new = [t for t in tenants if channel_name(schema_for(t)) not in channels]
                for start in range(0, len(new), 500):
                    conn.execute("; ".join(f"LISTEN {channel_name(schema_for(t))}" for t in new[start:start + 500]))
                channels.update((channel_name(schema_for(t)), t) for t in new)
                # Listening before waking: nothing recorded after this sweep can be missed.
                for tenant in tenants:
                    self._wake(tenant)
                next_sweep = monotonic() + self._settings.sweep_seconds
            for note in conn.notifies(timeout=min(self.TICK, max(0.0, next_sweep - monotonic()))):
                if note.channel == TENANTS_CHANNEL:
                    next_sweep = 0.0  # a new tenant: sweep now, so its first events are not left for the next sweep
                    break
                tenant = channels.get(note.channel)
                if tenant is not None:
                    self._wake(tenant, note.payload)

    def _work(self, stop: threading.Event, halt: threading.Event) -> None:
        while not (stop.is_set() or halt.is_set()):
            lane = self._queue.take(self.TICK)
            if lane is None:
                continue
            tenant, group = lane
            more = False
            try:
                # A few batches at a time, then back of the queue: one big backlog cannot starve the rest.
                _, more = advance(self._infra, tenant, projections=self._groups[group], batch=self._settings.batch,
                                  max_batches=4, stood=self._stood.setdefault(lane, {}))
            except Exception:
                self._stood.pop(lane, None)
                log.exception("projections of tenant %s failed; retried at the next sweep", tenant)
            finally:
                self._queue.done(lane, again=more)


def run_forever(infra: Infrastructure, stop_event: threading.Event, settings: RunnerSettings | None = None) -> None:
    """Keep the served tenants' read models (the settings' projections) current until `stop_event` is set."""
    settings = settings or RunnerSettings.from_env()
    projections = named(list(settings.projections)) if settings.projections else PROJECTIONS
    relax_gc()
    Runner(infra, settings, projections).run(stop_event)
