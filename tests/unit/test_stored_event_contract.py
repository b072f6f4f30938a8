"""The stored-event contract, without a database: sealing, erasure, msgpack types, upcasting."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.child import Child
from domain.events import CaseEventFields, Stamp
from infra.crypto import KeyWrapper
from infra.mapper import KeyCache, SealedStoredEvent, SealingMapper
from infra.transcoder import MsgpackTranscoder
from tests.builders import child_details

STAMP = Stamp.of("actor-1", datetime(2026, 11, 29, 2, tzinfo=UTC), date(2026, 11, 29))


def mapper(wrapped_keys: dict[UUID, bytes] | None = None) -> SealingMapper:
    keys = wrapped_keys if wrapped_keys is not None else {}
    return SealingMapper("150902001", KeyWrapper(secrets.token_bytes(32)), KeyCache(), keys.get)


def test_msgpack_keeps_uuids_dates_and_aware_datetimes():
    transcoder = MsgpackTranscoder()
    value = {"id": uuid4(), "on": date(2026, 9, 1), "at": datetime(2026, 9, 1, 8, tzinfo=UTC), "n": [1, "二"]}
    assert transcoder.decode(transcoder.encode(value)) == value


def test_personal_fields_are_sealed_and_the_rest_stays_readable():
    m = mapper()
    details = child_details("150902001001001")
    child = Child.register(uuid4(), details, stamp=STAMP)
    stored = m.to_stored_event(child.pending_events[0])

    assert stored.new_key and stored.subject_id == child.id and stored.wrapped_key
    for plaintext in (details.name, details.id_number, details.guardian.phone, details.parents[0].phone,
                      details.address):
        assert plaintext.encode() not in stored.state
    assert details.school.encode() in stored.state  # not personal: stays readable for projections
    readable = MsgpackTranscoder().decode(stored.state)
    assert readable["name"] is None and readable["guardian"]["relation"] == "paternal_grandparent"


def test_an_event_reads_back_whole_with_its_key_and_erased_without_it():
    m = mapper()
    details = child_details("150902001001001")
    child = Child.register(uuid4(), details, stamp=STAMP)
    stored = m.to_stored_event(child.pending_events[0])

    restored = m.to_domain_event(stored)
    assert restored.name == details.name and restored.guardian["phone"] == details.guardian.phone
    assert restored.parents[1]["work_place"] == details.parents[1].work_place

    erased = m.to_domain_event(stored._replace(wrapped_key=None))
    assert erased.name is None and erased.id_number is None and erased.guardian["phone"] is None
    assert erased.parents[0]["relation"] == "father" and erased.school == details.school


def test_a_sealed_payload_cannot_be_moved_to_another_event():
    m = mapper()
    child = Child.register(uuid4(), child_details("150902001001001"), stamp=STAMP)
    stored = m.to_stored_event(child.pending_events[0])
    moved = stored._replace(originator_version=2)
    try:
        m.to_domain_event(moved)
    except Exception as e:  # AES-GCM refuses: the associated data (stream, version) differs
        assert type(e).__name__ == "InvalidTag"
    else:
        raise AssertionError("a sealed payload opened under another version")


class Note(Aggregate):
    """A throwaway aggregate whose event changed shape: v1 had `text`, v2 has `body` and `lang`."""

    TOPIC = "tests:note"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "tests:note:event"

    class Created(Event, Aggregate.Created):
        TOPIC = "tests:note:created"

    class Written(Created):
        TOPIC = "tests:note:written"
        class_version = 2
        body: str
        lang: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["body"] = state.pop("text")
            state["lang"] = "zh"


def test_an_event_stored_in_an_old_shape_is_upcast_when_read():
    m = mapper()
    note_id = uuid4()
    v1_state = {"actor": "a", "occurred_on": date(2026, 1, 1), "unit": "150902", "timestamp": STAMP.at,
                "originator_topic": "tests:note", "text": "旧格式"}
    stored = SealedStoredEvent(note_id, 1, "tests:note:written", MsgpackTranscoder().encode(v1_state))

    event = m.to_domain_event(stored)
    assert (event.body, event.lang) == ("旧格式", "zh")
    assert m.to_stored_event(event).topic == "tests:note:written"
    assert MsgpackTranscoder().decode(m.to_stored_event(event).state)["class_version"] == 2
