"""Candidates for the deadline checks, read from a tenant's read models (the use cases decide again).

A candidate the read models show too early or too late costs nothing: the use case loads the
aggregate and records only what is due, once. The read models only keep the scheduler from
loading every concern and child of a tenant at every sweep.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from infra.migrations import schema_for


def overdue_concerns(datastore: PostgresDatastore, tenant: str, now: datetime, ack_hours: int) -> list[UUID]:
    """Open urgent concerns not acknowledged by the level holding them within `ack_hours` of reaching it."""
    with datastore.get_connection() as conn:
        rows = conn.execute(
            f"SELECT concern_id FROM {schema_for(tenant)}.concern_queue WHERE status = 'open' AND severity = 'urgent'"
            f" AND NOT acknowledged AND level <> 'district' AND waiting_since <= %s ORDER BY waiting_since",
            [now - timedelta(hours=ack_hours)]).fetchall()
    return [r["concern_id"] for r in rows]


def lapsed_children(datastore: PostgresDatastore, tenant: str, today: date, max_days: int) -> list[UUID]:
    """Open children whose last contact (or registration) is `max_days` or more ago, that lapse not yet noticed."""
    schema = schema_for(tenant)
    with datastore.get_connection() as conn:
        rows = conn.execute(
            f"SELECT r.child_id FROM {schema}.child_register r WHERE r.status = 'open' AND NOT r.erased"
            f" AND coalesce(r.last_contact_on, r.registered_on) <= %s AND NOT EXISTS (SELECT 1 FROM"
            f" {schema}.notice_lapses l WHERE l.child_id = r.child_id"
            f" AND l.since = coalesce(r.last_contact_on, r.registered_on)) ORDER BY r.registered_position",
            [today - timedelta(days=max_days)]).fetchall()
    return [r["child_id"] for r in rows]
