"""A tenant's settings: quotas and deadlines differ by place, so they are data, not constants."""

from __future__ import annotations

import msgspec

from domain.helper import DEFAULT_CAPACITY


class ContactQuota(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Contacts each open child should have per semester (the "five ones" by default)."""

    home_visit: int = 1
    talk: int = 1
    teacher_contact: int = 1
    guardian_contact: int = 1
    letter: int = 1
    parent_call: int = 0
    parent_letter: int = 0


class TenantSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    contact_quota: ContactQuota = ContactQuota()
    helper_capacity: int = DEFAULT_CAPACITY
    urgent_ack_hours: int = 4
    max_days_without_contact: int = 60
