"""Helpers (caring mothers, substitute parents, teachers...) and the children they take on.

A helper's stream counts its active pairs, so two pairings racing for a helper's last
place conflict on that stream instead of both succeeding. A child's stream notes each pair
formed with it, so a pairing racing the file's closing conflicts there (domain/child.py).
A pair ends by hand, when the child's file closes, or when the helper leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import Conflict, InvalidValue, RuleViolation
from domain.events import CaseEventFields, Stamp, stamped

if TYPE_CHECKING:
    from domain.child import Child

HelperKind = Literal[
    "caring_mother", "substitute_parent", "teacher", "student", "party_member", "retired_cadre", "social_worker"
]
DEFAULT_CAPACITY = 2
# The `why` of a pair that ended because of something else that happened (sealed like any `why`).
WHY_FILE_CLOSED = "儿童档案已关闭"
WHY_HELPER_LEFT = "帮扶人已退出"


class Helper(Aggregate):
    TOPIC = "shouwang:helper"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:helper:event"
        SUBJECT = "originator_id"

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:helper:created"

    class Enrolled(Created):
        TOPIC = "shouwang:helper:enrolled"
        PERSONAL = ("name", "phone")
        name: str | None
        kind: str
        phone: str | None

        def apply(self, helper: Helper) -> None:
            helper.name, helper.kind, helper.phone = self.name, self.kind, self.phone
            helper.home_unit = self.unit
            helper.active = True
            helper.pairs = {}

    class Left(Event):
        TOPIC = "shouwang:helper:left"
        PERSONAL = ("why",)
        why: str | None

        def apply(self, helper: Helper) -> None:
            helper.active = False

    class ChildTaken(Event):
        TOPIC = "shouwang:helper:child-taken"
        pair_id: UUID
        child_id: UUID

        def apply(self, helper: Helper) -> None:
            helper.pairs[self.pair_id] = self.child_id

    class ChildReleased(Event):
        TOPIC = "shouwang:helper:child-released"
        pair_id: UUID

        def apply(self, helper: Helper) -> None:
            helper.pairs.pop(self.pair_id, None)

    @classmethod
    def enrol(cls, helper_id: UUID, name: str, kind: HelperKind, phone: str | None, unit: str,
              *, stamp: Stamp) -> Helper:
        """Enrol a helper in a community or grid."""
        return cls._create(cls.Enrolled, id=helper_id, **stamped(stamp, unit, name=name, kind=kind, phone=phone))

    def leave(self, why: str | None, pairs: Sequence[Pair] = (), *, stamp: Stamp) -> None:
        """The helper stops helping; each of its active pairs (all given) ends with it, freeing its child."""
        if not self.active:
            raise RuleViolation("该帮扶人已退出")
        given = {pair.id: pair for pair in pairs}
        if given.keys() != self.pairs.keys():
            raise ValueError("a helper leaving needs exactly its active pairs")
        if any(not pair.active for pair in given.values()):
            # The helper was read before that pair's end was recorded: read both again and decide again.
            raise Conflict("该帮扶人的结对刚被他人修改，请重试")
        for pair in given.values():
            pair.end(WHY_HELPER_LEFT, self, stamp=stamp)
        self.trigger_event(self.Left, **stamped(stamp, self.home_unit, why=why))

    def take_child(self, pair_id: UUID, child_id: UUID, capacity: int, unit: str, *, stamp: Stamp) -> None:
        """Take on one more child, within the tenant's capacity per helper."""
        if not self.active:
            raise RuleViolation("该帮扶人已退出，不能结对", field="helper_id")
        if child_id in self.pairs.values():
            raise RuleViolation("该帮扶人已与这名儿童结对", field="child_id")
        if len(self.pairs) >= capacity:
            raise RuleViolation(f"每名帮扶人最多结对{capacity}名儿童", field="helper_id")
        self.trigger_event(self.ChildTaken, **stamped(stamp, unit, pair_id=pair_id, child_id=child_id))

    def release(self, pair_id: UUID, unit: str, *, stamp: Stamp) -> None:
        """Free the place a pair took."""
        self.trigger_event(self.ChildReleased, **stamped(stamp, unit, pair_id=pair_id))

    @property
    def children(self) -> list[UUID]:
        return list(self.pairs.values())


class Pair(Aggregate):
    """One helper paired with one child (结对帮扶), from a signed pairing card until it ends."""

    TOPIC = "shouwang:pair"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:pair:event"
        SUBJECT = "child_id"
        child_id: UUID

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:pair:created"

    class Formed(Created):
        TOPIC = "shouwang:pair:formed"
        helper_id: UUID

        def apply(self, pair: Pair) -> None:
            pair.child_id, pair.helper_id, pair.unit = self.child_id, self.helper_id, self.unit
            pair.started_on, pair.ended_on = self.occurred_on, None

    class Ended(Event):
        TOPIC = "shouwang:pair:ended"
        PERSONAL = ("why",)
        why: str | None

        def apply(self, pair: Pair) -> None:
            pair.ended_on = self.occurred_on

    @classmethod
    def form(cls, pair_id: UUID, child: Child, helper: Helper, capacity: int, *, stamp: Stamp) -> Pair:
        """Pair a helper with an open child in its grid; the helper's stream records the place taken,
        the child's stream the pair."""
        if stamp.on > stamp.today:
            raise InvalidValue("结对日期不能晚于今天", field="started_on")
        child.check_pairable()
        helper.take_child(pair_id, child.id, capacity, child.grid, stamp=stamp)
        child.note_pair(pair_id, helper.id, stamp=stamp)
        return cls._create(cls.Formed, id=pair_id,
                           **stamped(stamp, child.grid, child_id=child.id, helper_id=helper.id))

    def end(self, why: str | None, helper: Helper, *, stamp: Stamp) -> None:
        """End the pair and free the helper's place (by hand, or as the file closes or the helper leaves)."""
        if self.ended_on is not None:
            raise RuleViolation("该结对已结束")
        if helper.id != self.helper_id:
            # Another helper's stream would record the release and this pair's helper keep the place.
            raise InvalidValue("该帮扶人不是这个结对的帮扶人", field="helper_id")
        if stamp.on < self.started_on:
            raise InvalidValue("结束日期不能早于结对日期", field="ended_on")
        if stamp.on > stamp.today:
            raise InvalidValue("结束日期不能晚于今天", field="ended_on")
        self.trigger_event(self.Ended, **stamped(stamp, self.unit, child_id=self.child_id, why=why))
        helper.release(self.id, self.unit, stamp=stamp)

    @property
    def active(self) -> bool:
        return self.ended_on is None


