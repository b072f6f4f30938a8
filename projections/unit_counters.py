"""Unit counters: what every dashboard counts, kept per grid and summed upward by code prefix.

Per child it keeps the facts the counters depend on (grid, open or closed, reason, active pairs)
and how many contacts of each kind the child had in each semester. Per grid it keeps counters
that hold no personal data: children open and closed, open children by reason and paired, and,
per semester, how many open children met the quota of each kind, met every quota, and how much
aid was given there. The quota is the tenant's, handed in by infra (`CounterRows.quota`).

Every change to a child takes its contribution out, changes it, and puts it back, so moves,
closures, reopenings and corrections move the counts without special cases. A contact counts in
the semester of its `occurred_on`; aid stays with the grid it was given in. A forgotten child
keeps counting: nothing here is personal except a helper's name, kept for worklists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, get_args
from uuid import UUID

from domain.child import Child, ContactKind, Reason
from domain.helper import Helper, Pair
from domain.semester import semester_key

NAME = "unit_counters"
# Stored columns follow this order: append new kinds at the end, never reorder.
CONTACT_KINDS: tuple[str, ...] = get_args(ContactKind)
REASONS: tuple[str, ...] = get_args(Reason)
_KIND = {kind: i for i, kind in enumerate(CONTACT_KINDS)}
MET_COLUMNS = tuple(f"met_{kind}" for kind in CONTACT_KINDS)
STATUS_COLUMNS = ("children_open", "children_closed", "paired", *(f"reason_{r}" for r in REASONS))
SEMESTER_COLUMNS = (*MET_COLUMNS, "all_met", "aid_fen")


@dataclass
class ChildFacts:
    """What the counters need to know about one child."""

    child_id: UUID
    grid: str
    status: str
    reason: str
    # Active pairs: pair id → (helper id, log position the pair was formed at).
    pairs: dict[UUID, tuple[UUID, int]] = field(default_factory=dict)


class CounterRows(Protocol):
    """State and counters of one tenant within a batch's transaction (infra: `infra.counter_rows`)."""

    quota: tuple[int, ...]  # contacts required per semester, in CONTACT_KINDS order

    def child(self, child_id: UUID) -> ChildFacts | None: ...

    def put_child(self, facts: ChildFacts) -> None: ...

    def contacts(self, child_id: UUID) -> dict[str, list[int]]:
        """Semester → contacts per kind, for every semester the child has contacts in."""
        ...

    def put_contacts(self, child_id: UUID, semester: str, counts: list[int]) -> None: ...

    def visit(self, visit_id: UUID) -> tuple[str, str] | None:
        """The kind and semester a contact was last counted under."""
        ...

    def put_visit(self, visit_id: UUID, child_id: UUID, kind: str, semester: str) -> None: ...

    def put_helper(self, helper_id: UUID, name: str | None) -> None: ...

    def add(self, grid: str, semester: str | None, column: str, delta: int) -> None:
        """Move a grid counter (`semester` None: the counters that do not depend on a semester)."""
        ...


def met(counts: Sequence[int], quota: Sequence[int]) -> tuple[list[bool], bool]:
    """Which kinds' quotas the counts meet, and whether they meet every quota there is."""
    flags = [q > 0 and n >= q for n, q in zip(counts, quota, strict=True)]
    return flags, any(quota) and all(n >= q for n, q in zip(counts, quota, strict=True))


def _semester_part(facts: ChildFacts, semester: str, counts: Sequence[int], sign: int, rows: CounterRows) -> None:
    if facts.status != "open":
        return  # contacts of closed children count nowhere
    flags, every = met(counts, rows.quota)
    for column, flag in zip(MET_COLUMNS, flags, strict=True):
        if flag:
            rows.add(facts.grid, semester, column, sign)
    if every:
        rows.add(facts.grid, semester, "all_met", sign)


def _status_part(facts: ChildFacts, sign: int, rows: CounterRows) -> None:
    if facts.status == "open":
        rows.add(facts.grid, None, "children_open", sign)
        rows.add(facts.grid, None, f"reason_{facts.reason}", sign)
        if facts.pairs:
            rows.add(facts.grid, None, "paired", sign)
    else:
        rows.add(facts.grid, None, "children_closed", sign)


def _change(rows: CounterRows, child_id: UUID, change: Callable[[ChildFacts], None], *, semesters: bool) -> None:
    """Take the child's contribution out, change it, put it back."""
    facts = rows.child(child_id)
    if facts is None:
        return
    contacts = rows.contacts(child_id) if semesters else {}
    _status_part(facts, -1, rows)
    for semester, counts in contacts.items():
        _semester_part(facts, semester, counts, -1, rows)
    change(facts)
    _status_part(facts, +1, rows)
    for semester, counts in contacts.items():
        _semester_part(facts, semester, counts, +1, rows)
    rows.put_child(facts)


def _count_contact(rows: CounterRows, child_id: UUID, kind: str, semester: str, step: int) -> None:
    counts = rows.contacts(child_id).get(semester)
    after = list(counts) if counts else [0] * len(CONTACT_KINDS)
    i = _KIND[kind]
    after[i] += step
    rows.put_contacts(child_id, semester, after)
    quota = rows.quota
    required = quota[i]
    if not required or (after[i] - step >= required) == (after[i] >= required):
        return  # this kind's quota is not crossed, so neither is "every quota": no counter moves
    facts = rows.child(child_id)
    if facts is None or facts.status != "open":
        return  # contacts of closed children count nowhere
    sign = 1 if after[i] >= required else -1
    rows.add(facts.grid, semester, MET_COLUMNS[i], sign)
    if all(n >= q for j, (n, q) in enumerate(zip(after, quota, strict=True)) if j != i):
        rows.add(facts.grid, semester, "all_met", sign)


def _registered(e: Child.Registered, position: int, rows: CounterRows) -> None:
    facts = ChildFacts(e.originator_id, e.grid, "open", e.reason)
    rows.put_child(facts)
    _status_part(facts, +1, rows)


def _visit_logged(e: Child.VisitLogged, position: int, rows: CounterRows) -> None:
    semester = semester_key(e.occurred_on)
    rows.put_visit(e.visit_id, e.originator_id, e.kind, semester)
    _count_contact(rows, e.originator_id, e.kind, semester, +1)


def _visit_corrected(e: Child.VisitCorrected, position: int, rows: CounterRows) -> None:
    was, now = rows.visit(e.visit_id), (e.kind, semester_key(e.visit_on))
    if was == now:
        return  # only the notes changed
    if was is not None:
        _count_contact(rows, e.originator_id, *was, -1)
    _count_contact(rows, e.originator_id, *now, +1)
    rows.put_visit(e.visit_id, e.originator_id, *now)


def _set(**values: Any) -> Callable[[ChildFacts], None]:
    return lambda facts: facts.__dict__.update(values)


def _pair_formed(e: Pair.Formed, position: int, rows: CounterRows) -> None:
    _change(rows, e.child_id, lambda f: f.pairs.__setitem__(e.originator_id, (e.helper_id, position)),
            semesters=False)


def _pair_ended(e: Pair.Ended, position: int, rows: CounterRows) -> None:
    _change(rows, e.child_id, lambda f: f.pairs.pop(e.originator_id, None), semesters=False)


def _corrected(e: Child.ProfileCorrected, position: int, rows: CounterRows) -> None:
    if "reason" in e.changes:
        _change(rows, e.originator_id, _set(reason=e.changes["reason"]), semesters=False)


_HANDLERS: dict[type, Callable[[Any, int, CounterRows], None]] = {
    Child.Registered: _registered,
    Child.ProfileCorrected: _corrected,
    Child.Moved: lambda e, _, rows: _change(rows, e.originator_id, _set(grid=e.to_grid), semesters=True),
    Child.FileClosed: lambda e, _, rows: _change(rows, e.originator_id, _set(status="closed"), semesters=True),
    Child.Reopened: lambda e, _, rows: _change(rows, e.originator_id, _set(status="open"), semesters=True),
    Child.VisitLogged: _visit_logged,
    Child.VisitCorrected: _visit_corrected,
    Child.AidGranted: lambda e, _, rows: rows.add(e.unit, semester_key(e.occurred_on), "aid_fen", e.amount_fen),
    Pair.Formed: _pair_formed,
    Pair.Ended: _pair_ended,
    Helper.Enrolled: lambda e, _, rows: rows.put_helper(e.originator_id, e.name),
}

TOPICS: frozenset[str] = frozenset(cls.TOPIC for cls in _HANDLERS)
# Only a helper's name is read from sealed fields; every other event is decoded without decrypting.
PERSONAL_TOPICS: frozenset[str] = frozenset({Helper.Enrolled.TOPIC})


def touches(event: Any) -> tuple[UUID | None, UUID | None]:
    """The child and the contact whose stored state `apply` reads for this event (infra loads them first)."""
    kind = type(event)
    if kind is Pair.Formed or kind is Pair.Ended:
        return event.child_id, None
    if kind is Child.VisitCorrected:
        return event.originator_id, event.visit_id
    if kind is Helper.Enrolled or kind is Child.AidGranted or kind is Child.Registered:
        return None, None
    return event.originator_id, None


def apply(event: Any, position: int, rows: CounterRows) -> None:
    """Move the counters for one event found at `position` in the tenant log."""
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(event, position, rows)
