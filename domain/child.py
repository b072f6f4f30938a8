"""A left-behind child's file: registration, corrections, guardian, grid, closure, contacts, aid.

Contacts (visits) and aid live on the child's own stream, so the rules that depend on the
file's state ("a closed file accepts no contacts") hold atomically under concurrency. For
the same reason the stream notes each pair formed with the child: a pairing and a closing
racing each other conflict here, and closing ends every pair the file knows of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue, RuleViolation
from domain.events import CaseEventFields, Stamp, stamped
from domain.helper import WHY_FILE_CLOSED
from domain.identity import validate_id_number

if TYPE_CHECKING:
    from domain.helper import Helper, Pair

Gender = Literal["F", "M"]
Reason = Literal["both_parents_away", "one_parent_away_other_unable"]
GuardianRelation = Literal["paternal_grandparent", "maternal_grandparent", "parent", "relative", "other"]
CloseReason = Literal["parent_returned", "turned_16", "moved_away", "other"]
ContactKind = Literal[
    "home_visit", "talk", "teacher_contact", "guardian_contact", "letter", "parent_call", "parent_letter"
]
AidKind = Literal["tuition", "supplies", "material", "cash", "minimum_allowance", "spring_bud"]

CHILD_PERSONAL = ("name", "id_number", "address")
GUARDIAN_PERSONAL = ("guardian.name", "guardian.phone", "guardian.health")
PARENTS_PERSONAL = ("parents[].name", "parents[].work_place", "parents[].phone")
CORRECTABLE = frozenset(
    {"name", "gender", "birth_date", "id_number", "school", "class_name", "address", "reason", "parents"}
)


class Parent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    relation: Literal["father", "mother"]
    name: str | None = None
    work_place: str | None = None
    phone: str | None = None


class Guardian(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    relation: GuardianRelation
    phone: str | None = None
    birth_year: int | None = None
    health: str | None = None


class ChildDetails(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a grid worker records at registration."""

    name: str
    gender: Gender
    birth_date: date
    grid: str
    reason: Reason
    guardian: Guardian
    parents: tuple[Parent, ...] = ()
    id_number: str | None = None
    school: str | None = None
    class_name: str | None = None
    address: str | None = None


def turns_16_on(birth_date: date) -> date:
    """The child's 16th birthday (29 February counts as 1 March in common years)."""
    try:
        return birth_date.replace(year=birth_date.year + 16)
    except ValueError:
        return date(birth_date.year + 16, 3, 1)


def _check_age(birth_date: date, on: date, field: str = "birth_date") -> None:
    if birth_date > on:
        raise InvalidValue("出生日期不能晚于登记日期", field=field)
    if turns_16_on(birth_date) <= on:
        raise InvalidValue("登记时儿童须未满16周岁", field=field)


def _as_data(value: Any) -> Any:
    """Value objects become plain data in events: events are a stored contract."""
    if isinstance(value, msgspec.Struct | tuple | list):
        return msgspec.to_builtins(value, builtin_types=(date,))
    return value


class Child(Aggregate):
    TOPIC = "shouwang:child"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:child:event"
        SUBJECT = "originator_id"

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:child:created"

    class Registered(Created):
        TOPIC = "shouwang:child:registered"
        PERSONAL = CHILD_PERSONAL + GUARDIAN_PERSONAL + PARENTS_PERSONAL
        name: str | None
        gender: str
        birth_date: date
        id_number: str | None
        grid: str
        school: str | None
        class_name: str | None
        address: str | None
        reason: str
        parents: list[dict[str, Any]]
        guardian: dict[str, Any]

        def apply(self, child: Child) -> None:
            child.status = "open"
            child.erased = False
            child.visits = {}
            child.aid = {}
            child.closed_reason = None
            child.registered_on = self.occurred_on
            # Every pair formed with the child, ended ones too (a pair's own stream says whether it is active).
            # Logs written before `Paired` existed name older pairs only in their pair streams.
            child.pair_ids = []
            for key in ("name", "gender", "birth_date", "id_number", "grid", "school", "class_name",
                        "address", "reason", "parents", "guardian"):
                setattr(child, key, getattr(self, key))

    class ProfileCorrected(Event):
        TOPIC = "shouwang:child:profile-corrected"
        PERSONAL = ("changes.name", "changes.id_number", "changes.address", "why",
                    "changes.parents[].name", "changes.parents[].work_place", "changes.parents[].phone")
        changes: dict[str, Any]
        why: str | None

        def apply(self, child: Child) -> None:
            for key, value in self.changes.items():
                setattr(child, key, value)

    class GuardianChanged(Event):
        TOPIC = "shouwang:child:guardian-changed"
        PERSONAL = GUARDIAN_PERSONAL
        guardian: dict[str, Any]

        def apply(self, child: Child) -> None:
            child.guardian = self.guardian

    class Moved(Event):
        TOPIC = "shouwang:child:moved"
        from_grid: str
        to_grid: str

        def apply(self, child: Child) -> None:
            child.grid = self.to_grid

    class FileClosed(Event):
        TOPIC = "shouwang:child:file-closed"
        PERSONAL = ("note",)
        reason: str
        note: str | None

        def apply(self, child: Child) -> None:
            child.status = "closed"
            child.closed_reason = self.reason

    class Paired(Event):
        """A pair was formed with the child (its `Pair.Formed` is in the same transaction)."""

        TOPIC = "shouwang:child:paired"
        pair_id: UUID
        helper_id: UUID

        def apply(self, child: Child) -> None:
            child.pair_ids.append(self.pair_id)

    class Reopened(Event):
        TOPIC = "shouwang:child:reopened"
        PERSONAL = ("note",)
        note: str | None

        def apply(self, child: Child) -> None:
            child.status = "open"
            child.closed_reason = None

    class VisitLogged(Event):
        TOPIC = "shouwang:child:visit-logged"
        PERSONAL = ("notes",)
        visit_id: UUID
        kind: str
        helper_id: UUID | None
        notes: str | None

        def apply(self, child: Child) -> None:
            child.visits[self.visit_id] = {
                "kind": self.kind, "occurred_on": self.occurred_on, "helper_id": self.helper_id, "notes": self.notes,
            }

    class VisitCorrected(Event):
        TOPIC = "shouwang:child:visit-corrected"
        PERSONAL = ("notes", "why")
        visit_id: UUID
        kind: str
        visit_on: date
        notes: str | None
        why: str | None

        def apply(self, child: Child) -> None:
            child.visits[self.visit_id] = {
                **child.visits[self.visit_id], "kind": self.kind, "occurred_on": self.visit_on, "notes": self.notes,
            }

    class AidGranted(Event):
        TOPIC = "shouwang:child:aid-granted"
        aid_id: UUID
        kind: str
        amount_fen: int
        source: str

        def apply(self, child: Child) -> None:
            child.aid[self.aid_id] = {
                "kind": self.kind, "amount_fen": self.amount_fen, "source": self.source, "occurred_on": self.occurred_on,
            }

    class Forgotten(Event):
        """The child's key was destroyed: personal fields of every event about it now read as None.

        `why` is the legal ground for erasure and is kept readable on purpose (who, when, why).
        """

        TOPIC = "shouwang:child:forgotten"
        why: str

        def apply(self, child: Child) -> None:
            child.erased = True
            for key in ("name", "id_number", "address"):
                setattr(child, key, None)
            child.guardian = {**child.guardian, "name": None, "phone": None, "health": None}
            child.parents = [{**p, "name": None, "work_place": None, "phone": None} for p in child.parents]

    @classmethod
    def register(cls, child_id: UUID, details: ChildDetails, *, stamp: Stamp) -> Child:
        """Open a new file, refusing a child who is 16 or older or whose ID number disagrees."""
        _check_age(details.birth_date, stamp.on)
        id_number = details.id_number and validate_id_number(
            details.id_number, birth_date=details.birth_date, gender=details.gender
        )
        data = _as_data(details)
        del data["grid"]
        data["id_number"] = id_number
        data["parents"] = list(data["parents"])
        return cls._create(cls.Registered, id=child_id, **stamped(stamp, details.grid, grid=details.grid, **data))

    def _record(self, event_class: type[Child.Event], stamp: Stamp, **fields: Any) -> None:
        if self.erased:
            raise RuleViolation("该儿童的个人信息已被删除，档案不再接受变更")
        self.trigger_event(event_class, **stamped(stamp, self.grid, **fields))

    def _require_open(self, what: str) -> None:
        if self.status != "open":
            raise RuleViolation(f"档案已关闭，重新开启前不能{what}")

    def correct_profile(self, changes: dict[str, Any], why: str | None, *, stamp: Stamp) -> None:
        """Correct registered facts; the ID number must still agree with birth date and gender."""
        if not changes:
            raise InvalidValue("没有需要更正的内容", field="changes")
        for key in changes:
            if key not in CORRECTABLE:
                raise InvalidValue(f"字段 {key} 不能通过更正修改", field=f"changes.{key}")
        changes = {k: _as_data(v) for k, v in changes.items()}
        if "parents" in changes:
            changes["parents"] = list(changes["parents"])
        after = {k: changes.get(k, getattr(self, k)) for k in ("birth_date", "gender", "id_number")}
        if "birth_date" in changes:
            # Age is judged on the day the file was opened, not today.
            _check_age(after["birth_date"], self.registered_on, field="changes.birth_date")
        if after["id_number"] and {"id_number", "birth_date", "gender"} & changes.keys():
            normalised = validate_id_number(
                after["id_number"], birth_date=after["birth_date"], gender=after["gender"], field="changes.id_number"
            )
            if "id_number" in changes:
                changes["id_number"] = normalised
        self._record(self.ProfileCorrected, stamp, changes=changes, why=why)

    def change_guardian(self, guardian: Guardian, *, stamp: Stamp) -> None:
        """Record a new guardian (or new details of the same one)."""
        self._record(self.GuardianChanged, stamp, guardian=_as_data(guardian))

    def move(self, to_grid: str, *, stamp: Stamp) -> None:
        """Move the child's file to another grid of the same street."""
        if to_grid == self.grid:
            raise RuleViolation("儿童已在该网格", field="grid")
        self._record(self.Moved, stamp, from_grid=self.grid, to_grid=to_grid)
        # The event is stamped with the grid it left; the new grid is in `to_grid`.

    def close(self, reason: CloseReason, note: str | None, pairs: Sequence[Pair] = (),
              helpers: Sequence[Helper] = (), *, stamp: Stamp) -> None:
        """Close the file (it is never deleted); each of its pairs still active ends with it.

        `pairs` are the child's pairs (at least every one the file knows of), `helpers` the helpers
        of the active ones: their places are freed as when a pair is ended by hand.
        """
        if self.status == "closed":
            raise RuleViolation("档案已关闭")
        ending = self._pairs_to_end(pairs, helpers)
        self._record(self.FileClosed, stamp, reason=reason, note=note)
        for pair, helper in ending:
            pair.end(WHY_FILE_CLOSED, helper, stamp=stamp)

    def _pairs_to_end(self, pairs: Sequence[Pair], helpers: Sequence[Helper]) -> list[tuple[Pair, Helper]]:
        given = {pair.id: pair for pair in pairs}
        if missing := set(self.pair_ids) - given.keys():
            raise ValueError(f"closing the file needs every pair of the child; not given: {sorted(missing)}")
        if any(pair.child_id != self.id for pair in given.values()):
            raise ValueError("a pair of another child was given")
        helper_of = {helper.id: helper for helper in helpers}
        active = [pair for pair in given.values() if pair.active]
        if any(pair.helper_id not in helper_of for pair in active):
            raise ValueError("closing the file needs the helper of every active pair")
        return [(pair, helper_of[pair.helper_id]) for pair in active]

    def check_pairable(self) -> None:
        """Refuse a pairing of a closed or erased file (checked before any stream records the pairing)."""
        if self.erased:
            raise RuleViolation("该儿童的个人信息已被删除，档案不再接受变更")
        if self.status != "open":
            raise RuleViolation("档案已关闭，不能结对", field="child_id")

    def note_pair(self, pair_id: UUID, helper_id: UUID, *, stamp: Stamp) -> None:
        """Note on the file a pair formed with the child (`Pair.form` does this)."""
        self.check_pairable()
        self._record(self.Paired, stamp, pair_id=pair_id, helper_id=helper_id)

    def reopen(self, note: str | None, *, stamp: Stamp) -> None:
        """Reopen a closed file."""
        if self.status == "open":
            raise RuleViolation("档案未关闭，无需重新开启")
        self._record(self.Reopened, stamp, note=note)

    def log_visit(self, visit_id: UUID, kind: ContactKind, helper_id: UUID | None, notes: str | None,
                  *, stamp: Stamp) -> None:
        """Log a contact with or about the child on `stamp.on`."""
        self._require_open("记录走访")
        self._check_contact_date(stamp)
        self._record(self.VisitLogged, stamp, visit_id=visit_id, kind=kind, helper_id=helper_id, notes=notes)

    def correct_visit(self, visit_id: UUID, *, kind: ContactKind | None, visit_on: date | None,
                      notes: str | None, why: str | None, stamp: Stamp) -> None:
        """Correct a logged contact; the original stays in the history."""
        visit = self.visits.get(visit_id)
        if visit is None:
            raise InvalidValue("没有这条走访记录", field="visit_id")
        new_on = visit_on or visit["occurred_on"]
        self._check_contact_date(stamp.describing(new_on))
        self._record(self.VisitCorrected, stamp, visit_id=visit_id, kind=kind or visit["kind"], visit_on=new_on,
                     notes=notes if notes is not None else visit["notes"], why=why)

    def _check_contact_date(self, stamp: Stamp) -> None:
        if stamp.on > stamp.today:
            raise InvalidValue("走访日期不能晚于今天", field="occurred_on")
        if stamp.on < self.birth_date:
            raise InvalidValue("走访日期不能早于儿童出生日期", field="occurred_on")

    def grant_aid(self, aid_id: UUID, kind: AidKind, amount_fen: int, source: str, *, stamp: Stamp) -> None:
        """Record aid given to the child, in fen."""
        if amount_fen <= 0:
            raise InvalidValue("金额必须为正整数（分）", field="amount_fen")
        if stamp.on > stamp.today:
            raise InvalidValue("帮扶日期不能晚于今天", field="occurred_on")
        self._require_open("登记帮扶")
        self._record(self.AidGranted, stamp, aid_id=aid_id, kind=kind, amount_fen=amount_fen, source=source)

    def forget(self, why: str, *, stamp: Stamp) -> None:
        """Erase the child's personal data (infra destroys its key in the same transaction)."""
        self._record(self.Forgotten, stamp, why=why)
