"""A tenant's case log: the eventsourcing Application over that tenant's schema.

Every tenant's application shares one connection pool (`SchemaView`) and holds no thread or
connection of its own, so `CaseLogs` can create them lazily and evict them freely: a process
serving 1,000 tenants costs the same pool as one serving one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from threading import Lock
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic

from domain.errors import Conflict, NotFound, RuleViolation
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra import audit
from infra import exports
from infra.bundle import export_bundle, write_bundle
from infra.crypto import KeyWrapper
from infra.mapper import KeyCache, SealedStoredEvent, SealingMapper, SubjectErased
from infra.migrations import schema_for
from infra.recorder import Claim, Notifier, SchemaView, TenantRecorder, find_claim

A = TypeVar("A", bound=Aggregate)

# The library reads these from the process environment too; pin what the case log relies on.
_ENV = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",  # only for the EventStore factory: no storage of its own
    "AGGREGATE_CACHE_MAXSIZE": "",  # no aggregate cache: it would hold decrypted state past a forget
    "IS_SNAPSHOTTING_ENABLED": "no",  # streams are short (20-100 events a year); snapshots would hold plaintext
}


class CaseLog(Application[UUID]):
    """One tenant's append-only, totally ordered log of case events."""

    name = "caselog"

    def __init__(self, tenant: str, shared: PostgresDatastore, wrapper: KeyWrapper, keys: KeyCache,
                 anchor_key: Ed25519PrivateKey, notifier: Notifier | None = None) -> None:
        self.tenant = tenant
        self._notifier = notifier
        self._anchor_key = anchor_key
        self._view = SchemaView(shared, schema_for(tenant))
        self._wrapper = wrapper
        self._keys = keys
        super().__init__(env=_ENV)

    def construct_recorder(self) -> TenantRecorder:
        return TenantRecorder(self._view, self._notifier)

    def construct_mapper(self) -> Mapper[UUID]:
        return SealingMapper(self.tenant, self._wrapper, self._keys,
                             lambda subject: self.recorder.fetch_wrapped_key(subject))

    recorder: TenantRecorder
    mapper: SealingMapper

    def load(self, kind: type[A], aggregate_id: UUID, *, version: int | None = None) -> A:
        """The aggregate as it stands (or stood at `version`); NotFound if absent or of another kind."""
        try:
            aggregate = self.repository.get(aggregate_id, version=version, projector_func=_fold)
        except AggregateNotFoundError:
            raise NotFound(f"{kind.__name__} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind) or (version is not None and aggregate.version != version):
            raise NotFound(f"{kind.__name__} {aggregate_id} not found")
        return aggregate

    def record(self, *aggregates: Aggregate, forget_subjects: Sequence[UUID] = (),
               result_id: UUID | None = None, claim: Claim | None = None) -> int:
        """Save the aggregates' new events in one transaction; return the tenant log position.

        With a `claim`, the idempotency key is stored in the same transaction: a second request
        with that key raises `AlreadyRecorded` and records nothing. `result_id` names what the
        command created when that is not a stream (a visit, an aid record) for the claim's answer.
        """
        try:
            recordings = self.save(*aggregates, forget_subjects=forget_subjects, claim=claim)
        except IntegrityError as e:
            if "idempotency_pkey" in str(e):
                raise AlreadyRecorded(claim) from None
            raise Conflict("该记录已被他人修改，请刷新后重试") from None
        except SubjectErased:
            raise RuleViolation("该儿童的个人信息已被删除，不能再记录与其相关的内容") from None
        for subject in forget_subjects:
            self._keys.drop(self.tenant, subject)
        return max((r.notification.id for r in recordings), default=0)

    def version_at(self, aggregate_id: UUID, moment: datetime) -> int | None:
        """The stream's version as recorded by `moment`, or None if it did not exist yet."""
        return self.recorder.version_recorded_by(aggregate_id, moment)

    def about(self, subject_id: UUID) -> list[dict[str, Any]]:
        """Every event about a subject, across its streams, in tenant log order."""
        return [self._entry(position, recorded_at, stored, chain_hash)
                for position, recorded_at, stored, chain_hash in self.recorder.select_subject_events(subject_id)]

    def streams_about(self, subject_id: UUID, topic: str) -> list[UUID]:
        """The streams with an event of `topic` about a subject (every pair formed with a child...), in log order."""
        return self.recorder.select_subject_streams(subject_id, topic)

    def _entry(self, position: int, recorded_at: datetime, stored: Any, chain_hash: bytes | None) -> dict[str, Any]:
        event = self.mapper.to_domain_event(stored)
        return {
            "position": position, "version": event.originator_version, "stream": event.originator_id,
            "type": get_topic(type(event)), "occurred_on": event.occurred_on, "recorded_at": recorded_at,
            "actor": event.actor, "unit": event.unit, "hash": chain_hash.hex() if chain_hash else None,
            "data": {k: v for k, v in vars(event).items() if k not in _ENVELOPE},
        }

    def record_access(self, user_id: UUID, role: str, child_id: UUID, via: str) -> None:
        """Note a read of a child's personal data in the tenant's append-only access log."""
        audit.record_access(self._view, self.tenant, user_id, role, child_id, via)

    def access_log(self, child_id: UUID | None) -> list[dict[str, Any]]:
        return audit.access_log(self._view, self.tenant, child_id)

    def verify(self) -> dict[str, Any]:
        """Recompute this tenant's hash chain and check its signed anchors."""
        return audit.verify(self._view, self.tenant, audit.public_key_bytes(self._anchor_key))

    def anchor(self) -> dict[str, Any] | None:
        """Sign the chain's head now."""
        return audit.anchor(self._view, self.tenant, self._anchor_key)

    def export(self, child_id: UUID | None) -> dict[str, Any]:
        """An audit bundle of one child's events (or the whole log) that verifies offline."""
        return export_bundle(self._view, self.tenant, self._anchor_key, child_id=child_id, describe=self._describer())

    def _describer(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """How a bundle shows an event row to people: decoded, personal fields opened with the subject's key."""
        wrapped: dict[UUID, bytes | None] = {}

        def describe(row: dict[str, Any]) -> dict[str, Any]:
            subject = row["subject_id"]
            if subject is not None and subject not in wrapped:
                if len(wrapped) >= 4096:  # a whole tenant has tens of thousands of subjects: stay bounded
                    wrapped.clear()
                wrapped[subject] = self.recorder.fetch_wrapped_key(subject)
            stored = SealedStoredEvent(row["originator_id"], row["originator_version"], row["topic"],
                                       bytes(row["state"]), subject, wrapped.get(subject))
            entry = self._entry(row["notification_id"], row["recorded_at"], stored, bytes(row["hash"]))
            return {k: entry[k] for k in ("type", "occurred_on", "actor", "unit", "data")}

        return describe

    def request_export(self, user_id: UUID, role: str, key: str | None) -> tuple[dict[str, Any], bool]:
        """The whole-log export job of this user at the log's head (or under `key`), and whether it is new."""
        return exports.request(self._view, self._view.schema, user_id, role, key)

    def abandon_export(self, export_id: UUID) -> None:
        exports.abandon(self._view, self._view.schema, export_id)

    def export_job(self, export_id: UUID) -> dict[str, Any] | None:
        return exports.find(self._view, self._view.schema, export_id)

    def build_export(self, export_id: UUID) -> dict[str, Any]:
        """Write a whole-log export job's bundle, sealed, chunk by chunk (idempotent)."""
        def write(out: Callable[[bytes], None]) -> dict[str, int]:
            return write_bundle(out, self._view, self.tenant, self._anchor_key, child_id=None,
                                describe=self._describer())

        return exports.build(self._view, self.tenant, self._view.schema, export_id, self._wrapper, write)

    def export_content(self, job: dict[str, Any]) -> Iterator[bytes]:
        """A done export's bundle, opened chunk by chunk."""
        return exports.content(self._view, self.tenant, self._view.schema, job, self._wrapper)

    def record_export_access(self, job: dict[str, Any], user_id: UUID, role: str, via: str) -> int:
        """Note a read of every child in the export (the access log's row per child)."""
        return exports.record_access(self._view, self._view.schema, job, user_id, role, via)

    def claimed(self, user_id: UUID, key: str) -> dict[str, Any] | None:
        """The answer recorded under an idempotency key: request_hash, status, result_id, result_version, position."""
        return find_claim(self._view, self._view.schema, user_id, key)

    def position(self) -> int:
        """The tenant log's current head position (0 when empty)."""
        return self.recorder.max_notification_id() or 0


class AlreadyRecorded(Exception):
    """A command with this idempotency key was recorded before."""

    def __init__(self, claim: Claim | None) -> None:
        super().__init__("idempotency key already used")
        self.claim = claim


class ClaimingLog:
    """A tenant's case log that records the request's idempotency claim with the command's events.

    The API wraps the log with this for one POST; use cases record through it unchanged.
    """

    def __init__(self, log: CaseLog, user_id: UUID, key: str, request_hash: bytes, status: int = 201) -> None:
        self._log = log
        self._claim = (user_id, key, request_hash, status)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)

    def record(self, *aggregates: Aggregate, forget_subjects: Sequence[UUID] = (),
               result_id: UUID | None = None) -> int:
        # Use cases save the stream they report first (the pair before its helper).
        first = aggregates[0]
        claim = Claim(*self._claim, result_id or first.id, first.version)
        return self._log.record(*aggregates, forget_subjects=forget_subjects, claim=claim)


def _fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's fold without its per-event `isinstance(..., Protocol)` assert (~20 µs an event)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "actor",
                       "occurred_on", "unit"})


class CaseLogs:
    """The case logs of all tenants: created on first use, least recently used evicted."""

    def __init__(self, shared: PostgresDatastore, wrapper: KeyWrapper, anchor_key: Ed25519PrivateKey, *,
                 maxsize: int = 256) -> None:
        self._shared = shared
        self._wrapper = wrapper
        self._anchor_key = anchor_key
        self._keys = KeyCache()
        self._notifier = Notifier(shared)
        self._logs: OrderedDict[str, CaseLog] = OrderedDict()
        self._maxsize = maxsize
        self._lock = Lock()

    def __getitem__(self, tenant: str) -> CaseLog:
        with self._lock:
            log = self._logs.get(tenant)
            if log is None:
                log = self._logs[tenant] = CaseLog(tenant, self._shared, self._wrapper, self._keys,
                                                   self._anchor_key, self._notifier)
            self._logs.move_to_end(tenant)
            while len(self._logs) > self._maxsize:
                self._logs.popitem(last=False)
            return log

    def __len__(self) -> int:
        return len(self._logs)

    def close(self) -> None:
        """Send the last wake-ups; before the shared pool closes."""
        self._notifier.close()
