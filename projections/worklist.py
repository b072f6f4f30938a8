"""The worklist of a unit: open children still missing contacts in a semester, what each misses, and who helps.

It reads the unit counters' per-child rows (`unit_counters`: each child's grid, status, pairs and
contacts per kind per semester) against the tenant's quota as it stands when read, so a changed
quota shows on worklists at once. Names come from the child register and the helpers the counters
keep, and only for roles that work on children's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.access import may
from projections.unit_counters import CONTACT_KINDS


def shows_names(role: str) -> bool:
    """Whether a role sees children's and helpers' names on a worklist (those who work on the files)."""
    return may(role, "update_child")


def missing(counts: Sequence[int] | None, quota: Sequence[int]) -> dict[str, int]:
    """Kind → contacts still needed this semester (kinds already met are left out)."""
    have = counts or (0,) * len(CONTACT_KINDS)
    return {kind: q - n for kind, n, q in zip(CONTACT_KINDS, have, quota, strict=True) if n < q}


def item(child_id: UUID, unit: str, counts: Sequence[int] | None, quota: Sequence[int], helper_id: UUID | None,
         *, name: str | None = None, helper_name: str | None = None, names: bool = False) -> dict[str, Any] | None:
    """A child's worklist entry, or None when it misses nothing."""
    needed = missing(counts, quota)
    if not needed:
        return None
    entry: dict[str, Any] = {"child_id": child_id, "unit": unit, "missing": needed, "helper_id": helper_id}
    if names:
        entry["name"] = name
        entry["helper_name"] = helper_name
    return entry
