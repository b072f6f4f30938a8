"""The notification inbox: which events make notices (rules in `domain.notifications`), and the little
state those rules need that no event carries (a concern's severity, a child's active pairs).

It writes through `NoticeRows`: infra resolves each notice's audiences to users, writes one inbox row
per user and signals them (`pg_notify`) in the batch's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol
from uuid import UUID

from domain import notifications as rules
from domain.child import Child
from domain.concern import Concern
from domain.deadlines import ContactLapse
from domain.helper import Pair

NAME = "notifications"


class NoticeRows(Protocol):
    """The inbox's row changes within a batch's transaction (infra: `infra.notice_rows`)."""

    def tell(self, notice: rules.Notice, position: int) -> None:
        """Put a notice in the inbox of every user of its audiences (once per user, event and kind)."""
        ...

    def remember_concern(self, concern_id: UUID, severity: str) -> None: ...

    def severity(self, concern_id: UUID) -> str | None: ...

    def pair_formed(self, pair_id: UUID, child_id: UUID, helper_id: UUID, grid: str, position: int) -> None: ...

    def pair_ended(self, pair_id: UUID) -> tuple[str, bool] | None:
        """Forget an active pair; return its child's grid and whether the file is open (None if unknown)."""
        ...

    def helpers_of(self, child_id: UUID) -> list[UUID]:
        """The helpers of a child's active pairs, earliest pair first."""
        ...

    def lapse_noticed(self, child_id: UUID, since: date) -> None:
        """Remember a lapse of contact was told, so the scheduler need not look at it again."""
        ...

    def child_changed(self, child_id: UUID, changes: dict[str, Any]) -> None:
        """Keep the grid and file status stored with a child's active pairs current."""
        ...


def _raised(e: Concern.Raised, position: int, rows: NoticeRows) -> None:
    rows.remember_concern(e.originator_id, e.severity)
    notice = rules.concern_raised(e.originator_id, e.child_id, e.grid, e.severity, e.timestamp)
    if notice is not None:
        rows.tell(notice, position)


def _escalated(e: Concern.Escalated, position: int, rows: NoticeRows) -> None:
    rows.tell(rules.concern_escalated(e.originator_id, e.child_id, e.unit, e.to_level,
                                      rows.severity(e.originator_id), e.timestamp), position)


def _lapse(e: ContactLapse.Noticed, position: int, rows: NoticeRows) -> None:
    rows.lapse_noticed(e.child_id, e.since)
    rows.tell(rules.contact_overdue(e.child_id, e.grid, rows.helpers_of(e.child_id), e.timestamp), position)


def _pair_ended(e: Pair.Ended, position: int, rows: NoticeRows) -> None:
    known = rows.pair_ended(e.originator_id)
    if known is None:
        return  # formed before this projection existed and never seen: nothing to judge by
    grid, file_open = known
    notice = rules.child_without_helper(e.child_id, grid, len(rows.helpers_of(e.child_id)), file_open, e.timestamp)
    if notice is not None:
        rows.tell(notice, position)


_CHILD_CHANGES = {
    Child.Moved: lambda e: {"grid": e.to_grid},
    Child.FileClosed: lambda e: {"file_open": False},
    Child.Reopened: lambda e: {"file_open": True},
}

TOPICS: frozenset[str] = frozenset(cls.TOPIC for cls in (
    Concern.Raised, Concern.Escalated, ContactLapse.Noticed, Pair.Formed, Pair.Ended, *_CHILD_CHANGES))
PERSONAL_TOPICS: frozenset[str] = frozenset()  # notices carry ids, never what a person wrote


def apply(event: Any, position: int, rows: NoticeRows) -> None:
    """Make the inbox's row changes for one event found at `position` in the tenant log."""
    kind = type(event)
    if kind is Concern.Raised:
        _raised(event, position, rows)
    elif kind is Concern.Escalated:
        _escalated(event, position, rows)
    elif kind is ContactLapse.Noticed:
        _lapse(event, position, rows)
    elif kind is Pair.Formed:
        rows.pair_formed(event.originator_id, event.child_id, event.helper_id, event.unit, position)
    elif kind is Pair.Ended:
        _pair_ended(event, position, rows)
    elif kind in _CHILD_CHANGES:
        rows.child_changed(event.originator_id, _CHILD_CHANGES[kind](event))
