"""The notification projection with a fake port: which events tell whom, and the state it keeps."""

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.child import Child, ChildDetails, Guardian, Parent
from domain.concern import Concern
from domain.deadlines import ContactLapse
from domain.events import Stamp
from domain.helper import Helper, Pair
from domain.notifications import Notice
from projections import notifications
from services.worker.app import app

STAMP = Stamp.of("supervisor-1", datetime(2026, 11, 29, 2, 0, tzinfo=UTC), date(2026, 11, 29))
GRID, OTHER_GRID = "150902001001003", "150902001002001"


class FakeRows:
    def __init__(self) -> None:
        self.told: list[Notice] = []
        self.severities: dict[UUID, str] = {}
        self.pairs: dict[UUID, dict[str, Any]] = {}
        self.lapses: list[tuple[UUID, date]] = []

    def tell(self, notice: Notice, position: int) -> None:
        self.told.append(notice)

    def remember_concern(self, concern_id: UUID, severity: str) -> None:
        self.severities[concern_id] = severity

    def severity(self, concern_id: UUID) -> str | None:
        return self.severities.get(concern_id)

    def pair_formed(self, pair_id: UUID, child_id: UUID, helper_id: UUID, grid: str, position: int) -> None:
        self.pairs[pair_id] = {"child_id": child_id, "helper_id": helper_id, "grid": grid, "file_open": True}

    def pair_ended(self, pair_id: UUID) -> tuple[str, bool] | None:
        pair = self.pairs.pop(pair_id, None)
        return (pair["grid"], pair["file_open"]) if pair else None

    def helpers_of(self, child_id: UUID) -> list[UUID]:
        return [p["helper_id"] for p in self.pairs.values() if p["child_id"] == child_id]

    def lapse_noticed(self, child_id: UUID, since: date) -> None:
        self.lapses.append((child_id, since))

    def child_changed(self, child_id: UUID, changes: dict[str, Any]) -> None:
        for pair in self.pairs.values():
            if pair["child_id"] == child_id:
                pair.update(changes)


class Log:
    """Events in the order the story records them, as a tenant log would hold them."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, *aggregates: Any) -> None:
        self.events.extend(e for aggregate in aggregates for e in aggregate.collect_events())

    def play(self) -> FakeRows:
        rows = FakeRows()
        for position, event in enumerate(self.events, start=1):
            if type(event).TOPIC in notifications.TOPICS:
                notifications.apply(event, position, rows)
        return rows


def a_child() -> Child:
    return Child.register(uuid4(), ChildDetails(
        name="王小明", gender="M", birth_date=date(2015, 3, 4), grid=GRID, reason="both_parents_away",
        guardian=Guardian(name="王奶奶", relation="paternal_grandparent"), parents=(Parent(relation="father"),),
    ), stamp=STAMP)


def test_an_escalation_carries_the_severity_the_concern_was_raised_with():
    log = Log()
    concern = Concern.raise_(uuid4(), uuid4(), GRID, "safety", "medium", "独自在家", stamp=STAMP)
    concern.escalate("社区无法处理", stamp=STAMP)
    log(concern)
    rows = log.play()

    assert [(n.kind, n.unit, n.severity, n.level) for n in rows.told] == [
        ("concern_escalated", "150902001", "medium", "street")]


def paired() -> tuple[Log, Child, Helper, Pair]:
    log, child = Log(), a_child()
    helper = Helper.enrol(uuid4(), "刘爱华", "caring_mother", None, "150902001001", stamp=STAMP)
    pair = Pair.form(uuid4(), child, helper, 2, stamp=STAMP)
    log(child, helper, pair)
    return log, child, helper, pair


def test_a_moved_child_whose_closing_file_ends_its_last_pair_tells_nobody():
    log, child, helper, pair = paired()
    child.move(OTHER_GRID, stamp=STAMP)
    child.close("parent_returned", None, [pair], [helper], stamp=STAMP)
    log(child, pair, helper)  # one transaction, the file's closing first

    assert log.play().told == []


def test_a_moved_childs_last_pair_ending_tells_its_new_community():
    log, child, helper, pair = paired()
    child.move(OTHER_GRID, stamp=STAMP)
    log(child)
    pair.end("调离", helper, stamp=STAMP)
    log(pair, helper)

    assert [(n.kind, n.unit) for n in log.play().told] == [("child_without_helper", "150902001002")]


def test_a_lapse_names_the_childs_helpers_and_is_remembered():
    log, child, helper, _ = paired()
    log(ContactLapse.notice(child.id, GRID, date(2026, 9, 1), 89, stamp=STAMP))
    rows = log.play()

    (notice,) = rows.told
    assert [a.helper_id for a in notice.audiences if a.role == "helper"] == [helper.id]
    assert rows.lapses == [(child.id, date(2026, 9, 1))]


def test_every_scheduled_task_is_a_registered_task():
    import services.worker.tasks  # noqa: F401  (registers the tasks)

    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= set(app.tasks)
