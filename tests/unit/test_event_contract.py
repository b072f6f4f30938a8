"""Stored events are a contract: every event class has a stable topic, every event says who, when and where."""

import importlib
import pkgutil
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate

import domain
from domain.activity import Activity
from domain.child import Child, ChildDetails, Guardian, Parent
from domain.concern import Concern
from domain.deadlines import ContactLapse
from domain.events import CaseEventFields, Stamp
from domain.helper import Helper, Pair
from domain.units import level_of

TODAY = date(2026, 11, 29)
STAMP = Stamp.of("grid-worker-1", datetime(2026, 11, 29, 9, 30, tzinfo=timezone(timedelta(hours=8))), TODAY)
GRID, OTHER_GRID, COMMUNITY = "150902001001001", "150902001001002", "150902001001"


def domain_classes() -> list[type]:
    found = []
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{module_info.name}")
        pending = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
        while pending:
            cls = pending.pop()
            found.append(cls)
            pending.extend(v for v in vars(cls).values() if isinstance(v, type) and v.__module__ == module.__name__)
    return found


AGGREGATES = [cls for cls in domain_classes() if issubclass(cls, Aggregate)]
EVENT_CLASSES = [cls for cls in domain_classes() if issubclass(cls, CanMutateAggregate)]
CONCRETE_EVENT_CLASSES = {cls for cls in EVENT_CLASSES if not any(
    other is not cls and issubclass(other, cls) for other in EVENT_CLASSES)}


def a_short_story() -> list:
    """Register, correct, pair, visit, aid, escalate, resolve, close (ending the pair), reopen, forget."""
    child = Child.register(uuid4(), ChildDetails(
        name="王小明", gender="M", birth_date=date(2015, 3, 4), grid=GRID, reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"), parents=(Parent(relation="father"),),
    ), stamp=STAMP)
    child.correct_profile({"school": "三河小学"}, None, stamp=STAMP)
    child.change_guardian(Guardian(name="王爷爷", relation="paternal_grandparent"), stamp=STAMP)
    visit_id = uuid4()
    child.log_visit(visit_id, "home_visit", None, "一切正常", stamp=STAMP.describing(date(2026, 11, 20)))
    child.correct_visit(visit_id, kind="talk", visit_on=None, notes=None, why="记错了", stamp=STAMP)
    child.grant_aid(uuid4(), "supplies", 20_000, "区妇联", stamp=STAMP)
    child.move(OTHER_GRID, stamp=STAMP)

    helper = Helper.enrol(uuid4(), "李爱华", "caring_mother", None, COMMUNITY, stamp=STAMP)
    pair = Pair.form(uuid4(), child, helper, 2, stamp=STAMP)

    concern = Concern.raise_(uuid4(), child.id, OTHER_GRID, "guardianship", "high", "爷爷住院", stamp=STAMP)
    concern.acknowledge(None, stamp=STAMP)
    concern.escalate("社区无法安排临时监护", stamp=STAMP)
    concern.record_action("联系姑姑临时照看", stamp=STAMP)
    concern.resolve("姑姑接回照看", stamp=STAMP)
    concern.reopen("姑姑外出", stamp=STAMP)

    child.close("parent_returned", None, [pair], [helper], stamp=STAMP)  # the pair ends with the file
    helper.leave(None, stamp=STAMP)
    child.reopen(None, stamp=STAMP)
    child.forget("监护人依法申请删除", stamp=STAMP)

    activity = Activity.hold(uuid4(), COMMUNITY, "法治安全讲座", "lecture", [child.id], stamp=STAMP)
    lapse = ContactLapse.notice(child.id, OTHER_GRID, date(2026, 9, 1), 89, stamp=STAMP)

    return [event for aggregate in (child, helper, pair, concern, activity, lapse)
            for event in aggregate.collect_events()]


STORY = a_short_story()


def test_the_domain_defines_the_expected_aggregates():
    assert {cls.__name__ for cls in AGGREGATES} == {"Child", "Helper", "Pair", "Concern", "Activity", "ContactLapse"}


@pytest.mark.parametrize("cls", AGGREGATES + EVENT_CLASSES, ids=lambda cls: cls.__qualname__)
def test_every_aggregate_and_event_class_declares_its_own_shouwang_topic(cls):
    topic = vars(cls).get("TOPIC")

    assert isinstance(topic, str), f"{cls.__qualname__} inherits or lacks its topic"
    assert topic.startswith("shouwang:")


def test_no_two_classes_share_a_topic():
    topics = [vars(cls)["TOPIC"] for cls in AGGREGATES + EVENT_CLASSES]

    assert len(topics) == len(set(topics))


def test_every_event_class_carries_who_when_and_where():
    for cls in EVENT_CLASSES:
        assert issubclass(cls, CaseEventFields), cls.__qualname__


def test_the_story_records_every_kind_of_event_the_domain_defines():
    assert {type(event) for event in STORY} == CONCRETE_EVENT_CLASSES


@pytest.mark.parametrize("event", STORY, ids=lambda event: type(event).__qualname__)
def test_every_recorded_event_says_who_did_it_what_day_it_describes_and_in_which_unit(event):
    assert event.actor == "grid-worker-1"
    assert isinstance(event.occurred_on, date) and not isinstance(event.occurred_on, datetime)
    assert level_of(event.unit) in {"community", "street", "grid"}
    assert event.timestamp == STAMP.at


def test_personal_data_is_declared_only_on_fields_the_event_has():
    for event in STORY:
        for path in type(event).PERSONAL:
            top = path.split(".")[0].removesuffix("[]")
            assert hasattr(event, top), f"{type(event).__qualname__} declares {path} but has no {top}"


def test_every_event_about_a_person_names_where_to_find_the_person():
    for event in STORY:
        subject = type(event).SUBJECT
        if type(event).PERSONAL:
            assert subject is not None, type(event).__qualname__
        if subject is not None:
            assert getattr(event, subject) is not None
