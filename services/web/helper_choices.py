"""The helpers a pairing form offers: enrolled, not left, in the caller's scope.

A stopgap until a helper read model exists: one query over the tenant log's enrolment events,
decoded through the case log's own mapper (so a forgotten helper reads as erased here too).
Whether a pairing is allowed (capacity, already paired) stays the use case's decision.
"""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Identifier

from infra.mapper import SealedStoredEvent
from infra.migrations import schema_for
from services.app.context import Context

_ENROLLED = SQL(
    "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.subject_id, k.wrapped_key"
    " FROM {0}.events e LEFT JOIN {0}.subject_keys k ON k.subject_id = e.subject_id"
    " WHERE e.topic = 'shouwang:helper:enrolled' AND NOT EXISTS (SELECT 1 FROM {0}.events l"
    " WHERE l.originator_id = e.originator_id AND l.topic = 'shouwang:helper:left')"
    " ORDER BY e.notification_id")


def helper_choices(ctx: Context) -> list[dict[str, Any]]:
    """(id, name, kind, unit) of every active helper whose unit is within the caller's scope."""
    log: Any = ctx.case_log
    with log.recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(_ENROLLED.format(Identifier(schema_for(log.tenant))))
        rows = curs.fetchall()
    choices = []
    for row in rows:
        event: Any = log.mapper.to_domain_event(SealedStoredEvent(
            row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]),
            row["subject_id"], bytes(row["wrapped_key"]) if row["wrapped_key"] is not None else None))
        if ctx.in_scope(event.unit):
            choices.append({"id": row["originator_id"], "name": event.name, "kind": event.kind, "unit": event.unit})
    return choices
