"""What every case event carries, and how an event declares its personal data.

Every event records who did it (`actor`), the business date it describes (`occurred_on`)
and the unit it happened in (`unit`); the store adds the recording time.

`SUBJECT` names the attribute holding the id of the person the event is about (a child or a
helper). `PERSONAL` lists the paths of the fields that are that person's personal data:
``"name"``, ``"guardian.phone"`` (a key of a dict field) or ``"parents[].phone"`` (a key of
each dict in a list field). Infra encrypts exactly those paths with the subject's own key,
so forgetting the subject erases them and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import ClassVar


@dataclass(frozen=True)
class Stamp:
    """Who acts, when the platform records it, today's date where the work happens, and the
    business date the event describes (today unless the command says otherwise)."""

    actor: str
    at: datetime
    today: date
    on: date

    @classmethod
    def of(cls, actor: str, at: datetime, today: date) -> Stamp:
        """A stamp describing today."""
        return cls(actor, at, today, today)

    def describing(self, on: date | None) -> Stamp:
        """The same stamp for an event that describes the business date `on`."""
        return self if on is None else replace(self, on=on)


@dataclass(frozen=True)
class CaseEventFields:
    """Fields common to every case event (mixed into each aggregate's events)."""

    actor: str
    occurred_on: date
    unit: str

    SUBJECT: ClassVar[str | None] = None
    PERSONAL: ClassVar[tuple[str, ...]] = ()
    # The stored shape's version: bump it and add `upcast_v1_v2(state)` when the shape changes.
    class_version: ClassVar[int] = 1


def stamped(stamp: Stamp, unit: str, **fields: object) -> dict[str, object]:
    """Keyword arguments for triggering an event stamped by `stamp` in `unit`."""
    return {"timestamp": stamp.at, "actor": stamp.actor, "occurred_on": stamp.on, "unit": unit, **fields}
