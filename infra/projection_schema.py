"""The tables of the dashboard read models: the migration steps that create them, and nothing else.

Kept apart from `infra.migrations` (which lists every step in order) because they are long. Like
every migration step, their text never changes once released: a change is a new step.
"""

from __future__ import annotations

# Platform step 3: the shared roll-up read models, keyed by unit code, across tenants. They hold counters and
# concern states only: no name, ID number, phone, free text, not even a child's id. Each tenant's
# projections write only rows under their own code, with their tracking position (tenant schema)
# in the same transaction. Codes sort bytewise (COLLATE "C") so a unit's subtree is one range.
# Counters are written as deltas with INSERT ... ON CONFLICT, whose proposed row may be negative:
# a CHECK (x >= 0) would refuse it before the conflict is seen, so there is none.
ROLLUP_STEP = """
CREATE SCHEMA IF NOT EXISTS rollup;
CREATE TABLE IF NOT EXISTS rollup.grid_children (
    grid text COLLATE "C" PRIMARY KEY,
    tenant text NOT NULL,
    children_open int NOT NULL DEFAULT 0,
    children_closed int NOT NULL DEFAULT 0,
    paired int NOT NULL DEFAULT 0,
    reason_both_parents_away int NOT NULL DEFAULT 0,
    reason_one_parent_away_other_unable int NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS grid_children_tenant_idx ON rollup.grid_children (tenant);
CREATE TABLE IF NOT EXISTS rollup.grid_semester (
    grid text COLLATE "C" NOT NULL,
    semester text NOT NULL,
    tenant text NOT NULL,
    met_home_visit int NOT NULL DEFAULT 0,
    met_talk int NOT NULL DEFAULT 0,
    met_teacher_contact int NOT NULL DEFAULT 0,
    met_guardian_contact int NOT NULL DEFAULT 0,
    met_letter int NOT NULL DEFAULT 0,
    met_parent_call int NOT NULL DEFAULT 0,
    met_parent_letter int NOT NULL DEFAULT 0,
    all_met int NOT NULL DEFAULT 0,
    aid_fen bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (semester, grid)
);
CREATE INDEX IF NOT EXISTS grid_semester_tenant_idx ON rollup.grid_semester (tenant);
-- The quota each tenant's "met" counters were computed with (recomputed when the settings change).
CREATE TABLE IF NOT EXISTS rollup.quotas (
    tenant text PRIMARY KEY,
    home_visit int NOT NULL,
    talk int NOT NULL,
    teacher_contact int NOT NULL,
    guardian_contact int NOT NULL,
    letter int NOT NULL,
    parent_call int NOT NULL,
    parent_letter int NOT NULL
);
-- Where each concern sits, for counts and overdue checks above the tenant; the tenant's own
-- queue (with the child) is `t_<code>.concern_queue`.
CREATE TABLE IF NOT EXISTS rollup.concerns (
    concern_id uuid PRIMARY KEY,
    tenant text NOT NULL,
    grid text COLLATE "C" NOT NULL,
    level text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    acknowledged boolean NOT NULL,
    waiting_since timestamptz
);
CREATE INDEX IF NOT EXISTS concerns_open_grid_idx ON rollup.concerns (grid) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS concerns_tenant_idx ON rollup.concerns (tenant);
"""


def counters_and_queue_step_sql(schema: str) -> str:
    """Tenant step 6: the unit counters' per-child state and the concern queue of one tenant schema."""
    # The unit counters' per-child state (the grid counters themselves are shared: rollup.*), which
    # worklists read too, and the concern queue. Contact counts have one column per kind, in
    # projections.unit_counters.CONTACT_KINDS order. Only helpers' names are personal here.
    return f"""
    CREATE TABLE IF NOT EXISTS {schema}.dash_children (
        child_id uuid PRIMARY KEY,
        grid text COLLATE "C" NOT NULL,
        status text NOT NULL,
        reason text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dash_children_grid_idx ON {schema}.dash_children (grid, status);
    CREATE TABLE IF NOT EXISTS {schema}.dash_pairs (
        pair_id uuid PRIMARY KEY,
        child_id uuid NOT NULL,
        helper_id uuid NOT NULL,
        formed_position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dash_pairs_child_idx ON {schema}.dash_pairs (child_id, formed_position);
    CREATE TABLE IF NOT EXISTS {schema}.dash_contacts (
        child_id uuid NOT NULL,
        semester text NOT NULL,
        home_visit int NOT NULL,
        talk int NOT NULL,
        teacher_contact int NOT NULL,
        guardian_contact int NOT NULL,
        letter int NOT NULL,
        parent_call int NOT NULL,
        parent_letter int NOT NULL,
        PRIMARY KEY (child_id, semester)
    );
    CREATE TABLE IF NOT EXISTS {schema}.dash_visits (
        visit_id uuid PRIMARY KEY,
        child_id uuid NOT NULL,
        kind text NOT NULL,
        semester text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.dash_helpers (
        helper_id uuid PRIMARY KEY,
        name text
    );
    CREATE TABLE IF NOT EXISTS {schema}.concern_queue (
        concern_id uuid PRIMARY KEY,
        child_id uuid NOT NULL,
        grid text COLLATE "C" NOT NULL,
        level text NOT NULL,
        level_unit text COLLATE "C" NOT NULL,
        category text NOT NULL,
        severity text NOT NULL,
        status text NOT NULL,
        acknowledged boolean NOT NULL,
        raised_at timestamptz NOT NULL,
        waiting_since timestamptz,
        resolved_at timestamptz,
        version bigint NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS concern_queue_child_idx ON {schema}.concern_queue (child_id);
    CREATE INDEX IF NOT EXISTS concern_queue_grid_idx ON {schema}.concern_queue (status, grid);
    """
