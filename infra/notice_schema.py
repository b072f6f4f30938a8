"""The tables of notifications and reports: the migration steps that create them, and nothing else.

Kept apart from `infra.migrations` (which lists every step in order). Like every migration step,
their text never changes once released: a change is a new step.
"""

from __future__ import annotations

# Platform step: what lives above a tenant. A district officer's inbox (`rollup.district_inbox`) holds
# the notices of the district's concerns, from every tenant of the district; a notice there names the
# concern and the unit, never the child. Ids are per district and given out under the district's
# `district_inbox_heads` row lock, held until the writing batch commits: so within a district, a
# larger id is always committed later, and "everything after id N" misses nothing.
# Quarterly and on-demand reports (`rollup.reports`) hold a unit's counters only, as .xlsx.
PLATFORM_STEP = """
CREATE TABLE IF NOT EXISTS rollup.district_inbox_heads (
    district text PRIMARY KEY,
    last_id bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rollup.district_inbox (
    district text NOT NULL,
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    tenant text NOT NULL,
    unit text NOT NULL,
    concern_id uuid,
    severity text,
    level text,
    created_at timestamptz NOT NULL,
    read boolean NOT NULL DEFAULT false,
    source_position bigint NOT NULL,
    PRIMARY KEY (district, id),
    UNIQUE (user_id, tenant, source_position, kind)
);
CREATE INDEX IF NOT EXISTS district_inbox_user_idx ON rollup.district_inbox (user_id, id);
CREATE TABLE IF NOT EXISTS rollup.reports (
    unit text COLLATE "C" NOT NULL,
    period text NOT NULL,
    semester text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    content bytea NOT NULL,
    PRIMARY KEY (unit, period)
);
"""


def tenant_step_sql(schema: str) -> str:
    """Tenant step: the inbox of the tenant's users, and the state the notification rules need."""
    # Ids come from the tenant's own sequence and only the notifications projection inserts, under its
    # tracking row lock: a larger id is always committed later, so "after id N" misses nothing.
    return f"""
    CREATE TABLE IF NOT EXISTS {schema}.notifications (
        id bigserial PRIMARY KEY,
        user_id uuid NOT NULL,
        kind text NOT NULL,
        unit text NOT NULL,
        concern_id uuid,
        child_id uuid,
        severity text,
        level text,
        created_at timestamptz NOT NULL,
        read boolean NOT NULL DEFAULT false,
        source_position bigint NOT NULL,
        UNIQUE (user_id, source_position, kind)
    );
    CREATE INDEX IF NOT EXISTS notifications_user_idx ON {schema}.notifications (user_id, id);
    CREATE TABLE IF NOT EXISTS {schema}.notice_concerns (
        concern_id uuid PRIMARY KEY,
        severity text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.notice_pairs (
        pair_id uuid PRIMARY KEY,
        child_id uuid NOT NULL,
        helper_id uuid NOT NULL,
        grid text NOT NULL,
        file_open boolean NOT NULL DEFAULT true,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notice_pairs_child_idx ON {schema}.notice_pairs (child_id, position);
    -- Lapses of contact already noticed, so the scheduler looks only at children not yet reminded.
    CREATE TABLE IF NOT EXISTS {schema}.notice_lapses (
        child_id uuid NOT NULL,
        since date NOT NULL,
        PRIMARY KEY (child_id, since)
    );
    """
