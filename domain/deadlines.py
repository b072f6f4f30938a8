"""Deadlines that enforce themselves: an urgent concern left unacknowledged, a child left without contact.

Pure rules (time is passed in). The scheduler asks them about each candidate and records what
follows through the use cases: an overdue concern escalates one level; a lapse of contact is
recorded once as a `ContactLapse`, whose id is derived from the child and the last contact, so
noticing the same lapse twice writes the same stream twice and the second write is refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.concern import NEXT_LEVEL
from domain.events import CaseEventFields, Stamp, stamped

# Fixed forever: lapse ids derived from it are stored.
_LAPSES = UUID("6f1c2a52-3a8e-5c43-9a35-2f1f4c7e0b11")


def acknowledgement_overdue(concern: Any, now: datetime, ack_hours: int) -> bool:
    """An open urgent concern not acknowledged by the level holding it within `ack_hours` of reaching it."""
    return (concern.status == "open" and concern.severity == "urgent" and not concern.acknowledged
            and concern.level in NEXT_LEVEL  # at the district there is no level above to hand it to
            and now >= concern.received_at + timedelta(hours=ack_hours))


def last_contact(child: Any) -> date:
    """The date of a child's latest contact, or of its registration if it has had none."""
    return max((visit["occurred_on"] for visit in child.visits.values()), default=child.registered_on)


def contact_lapsed_since(child: Any, today: date, max_days: int) -> date | None:
    """The last contact of an open child left `max_days` or more without one; None if it is not lapsed."""
    if child.status != "open" or child.erased:
        return None
    since = last_contact(child)
    return since if (today - since).days >= max_days else None


def lapse_id(child_id: UUID, since: date) -> UUID:
    """The one stream of a child's lapse of contact that began at `since`."""
    return uuid5(_LAPSES, f"{child_id}/{since.isoformat()}")


class ContactLapse(Aggregate):
    """A child went too long without contact: noticed once per lapse, its helpers and grid workers reminded."""

    TOPIC = "shouwang:contact-lapse"

    class Event(Aggregate.Event, CaseEventFields):
        TOPIC = "shouwang:contact-lapse:event"
        SUBJECT = "child_id"  # part of the child's history
        child_id: UUID

    class Created(Event, Aggregate.Created):
        TOPIC = "shouwang:contact-lapse:created"

    class Noticed(Created):
        TOPIC = "shouwang:contact-lapse:noticed"
        grid: str
        since: date
        days: int

        def apply(self, lapse: ContactLapse) -> None:
            lapse.child_id, lapse.grid, lapse.since, lapse.days = self.child_id, self.grid, self.since, self.days

    @classmethod
    def notice(cls, child_id: UUID, grid: str, since: date, days: int, *, stamp: Stamp) -> ContactLapse:
        """Record that a child in `grid` has had no contact since `since` (`days` days by `stamp`)."""
        return cls._create(cls.Noticed, id=lapse_id(child_id, since),
                           **stamped(stamp, grid, child_id=child_id, grid=grid, since=since, days=days))
