"""Turns domain events into stored events, sealing each person's data with that person's key.

An event class names its subject (`SUBJECT`) and its personal fields (`PERSONAL`). Those
fields are taken out of the payload, encrypted together with the subject's data key, and
stored as `_sealed`; the rest of the payload stays readable. Reading an event whose subject's
key is gone (forgotten) gives `None` in every personal field and leaves the rest intact.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from threading import Lock
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from infra.crypto import KeyWrapper, decrypt, encrypt, new_data_key
from infra.transcoder import MsgpackTranscoder


class SealedStoredEvent(NamedTuple):
    """A stored event with the subject it is about and that subject's wrapped data key.

    `wrapped_key` is set when writing the first event of a new subject (the recorder stores
    it in the same transaction) and when reading (joined from `subject_keys`).
    """

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    subject_id: UUID | None = None
    wrapped_key: bytes | None = None
    new_key: bool = False


class SubjectErased(Exception):
    """The subject's key no longer exists: nothing new can be sealed for it."""


class KeyCache:
    """Unwrapped data keys of recently written subjects, for sealing new events only.

    Reads never use it: they decrypt with the key joined from the database, so a key
    deleted by another process is gone for every reader at once.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._keys: OrderedDict[tuple[str, UUID], bytes] = OrderedDict()
        self._maxsize = maxsize
        self._lock = Lock()

    def get(self, tenant: str, subject: UUID) -> bytes | None:
        with self._lock:
            key = self._keys.get((tenant, subject))
            if key is not None:
                self._keys.move_to_end((tenant, subject))
            return key

    def put(self, tenant: str, subject: UUID, key: bytes) -> None:
        with self._lock:
            self._keys[(tenant, subject)] = key
            self._keys.move_to_end((tenant, subject))
            while len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)

    def drop(self, tenant: str, subject: UUID) -> None:
        with self._lock:
            self._keys.pop((tenant, subject), None)


def _take(container: Any, path: str) -> Any:
    """Remove and return the value at `path` ("a", "a.b", "a[].b"), leaving None in its place."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(container, dict) or container.get(key) is None:
        return None
    if not rest:
        value, container[key] = container[key], None
        return value
    if many:
        return [_take(item, rest) for item in container[key]]
    return _take(container[key], rest)


def _put(container: Any, path: str, value: Any) -> None:
    """Put back what `_take` removed."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if value is None or not isinstance(container, dict) or key not in container:
        return
    if not rest:
        container[key] = value
    elif many:
        for item, item_value in zip(container[key] or (), value, strict=False):
            _put(item, rest, item_value)
    else:
        _put(container[key], rest, value)


def _aad(originator_id: UUID, version: int) -> bytes:
    # Binds the sealed blob to its place in the log: it cannot be moved to another event.
    return originator_id.bytes + version.to_bytes(8, "big")


class SealingMapper(Mapper[UUID]):
    """A Mapper that encrypts each event's personal fields with its subject's key."""

    def __init__(self, tenant: str, wrapper: KeyWrapper, keys: KeyCache,
                 fetch_wrapped_key: Any) -> None:
        super().__init__(transcoder=MsgpackTranscoder())
        self.tenant = tenant
        self._wrapper = wrapper
        self._keys = keys
        self._fetch_wrapped_key = fetch_wrapped_key
        self._unwrapped: dict[bytes, bytes] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> SealedStoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        version = state.pop("originator_version")
        if (class_version := getattr(cls, "class_version", 1)) > 1:
            state["class_version"] = class_version
        subject_attr = getattr(cls, "SUBJECT", None)
        subject = state.get(subject_attr) if subject_attr and subject_attr != "originator_id" else (
            originator_id if subject_attr else None)
        new_key = False
        wrapped = None
        personal_paths = getattr(cls, "PERSONAL", ())
        if subject is not None and personal_paths:
            # Copy the nested values we blank out: they are shared with the live aggregate.
            for top in {p.partition(".")[0].removesuffix("[]") for p in personal_paths if "." in p}:
                state[top] = copy.deepcopy(state.get(top))
            personal = {p: v for p in personal_paths if (v := _take(state, p)) is not None}
            if personal:
                new_key = version == 1 and subject == originator_id
                data_key = self._data_key(subject, create=new_key)
                if new_key:
                    wrapped = self._wrapper.wrap(self.tenant, subject, data_key)
                state["_sealed"] = encrypt(data_key, self.transcoder.encode(personal), _aad(originator_id, version))
        return SealedStoredEvent(originator_id, version, get_topic(cls), self.transcoder.encode(state),
                                 subject, wrapped, new_key)

    def _data_key(self, subject: UUID, *, create: bool) -> bytes:
        if create:
            key = new_data_key()
        else:
            key = self._keys.get(self.tenant, subject)
            if key is not None:
                return key
            wrapped = self._fetch_wrapped_key(subject)
            if wrapped is None:
                raise SubjectErased(str(subject))
            key = self._wrapper.unwrap(self.tenant, subject, wrapped)
        self._keys.put(self.tenant, subject, key)
        return key

    def _unwrap(self, subject: UUID, wrapped: bytes) -> bytes:
        # Keyed by the wrapped bytes just read from the database: once the key row is deleted,
        # no read brings those bytes back, so this cache cannot outlive a forget.
        key = self._unwrapped.get(wrapped)
        if key is None:
            key = self._wrapper.unwrap(self.tenant, subject, wrapped)
            if len(self._unwrapped) >= 4096:
                self._unwrapped.clear()
            self._unwrapped[wrapped] = key
        return key

    def to_domain_event(self, stored_event: StoredEvent | SealedStoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        sealed = state.pop("_sealed", None)
        wrapped = getattr(stored_event, "wrapped_key", None)
        if sealed is not None and wrapped is not None:
            data_key = self._unwrap(stored_event.subject_id, wrapped)
            personal = self.transcoder.decode(
                decrypt(data_key, sealed, _aad(stored_event.originator_id, stored_event.originator_version)))
            for path, value in personal.items():
                _put(state, path, value)
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event
