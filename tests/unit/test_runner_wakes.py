"""Which of a tenant's lanes a commit wakes: the inbox's only for the events it takes."""

from __future__ import annotations

from domain.child import Child
from domain.concern import Concern
from infra.projection_runner import PROJECTIONS, Runner, RunnerSettings

URGENT, OTHERS = 0, 1  # the runner's lanes: the inbox first, then the register, counters and queue


def woken(payload: str) -> list[int]:
    runner = Runner(None, RunnerSettings(), PROJECTIONS)  # type: ignore[arg-type]  (no I/O until it runs)
    runner._wake("150902001", payload)
    return sorted(lane for _, lane in runner._queue._ready)


def test_a_commit_of_visits_wakes_the_dashboards_lane_but_not_the_inbox():
    assert woken(Child.VisitLogged.TOPIC) == [OTHERS]


def test_a_raised_concern_wakes_both_lanes():
    assert woken(f"{Child.VisitLogged.TOPIC},{Concern.Raised.TOPIC}") == [URGENT, OTHERS]


def test_a_wake_up_that_names_no_topics_wakes_every_lane_as_a_sweep_does():
    assert woken("") == [URGENT, OTHERS]
