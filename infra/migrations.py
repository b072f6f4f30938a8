"""Schema migrations: the platform schema, then one schema per tenant. Safe to run twice.

Each scope (`platform`, or a tenant code) has an ordered list of steps; `schema_migrations`
records which have run. A transaction-level advisory lock keeps two migrators apart.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from infra.chain import chain_step_sql
from infra.projection_schema import ROLLUP_STEP, counters_and_queue_step_sql
from infra import notice_schema
from infra.exports import exports_step_sql

PLATFORM_STEPS: list[str] = [
    # 1: tenants, the unit tree, users, settings.
    """
    CREATE TABLE IF NOT EXISTS platform.units (
        code text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$|^[0-9]{9}$|^[0-9]{12,15}$'),
        name text NOT NULL,
        level text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
        parent text REFERENCES platform.units (code),
        tenant text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((level = 'district') = (parent IS NULL)),
        CHECK (parent IS NULL OR starts_with(code, parent))
    );
    CREATE INDEX IF NOT EXISTS units_parent_idx ON platform.units (parent);
    CREATE TABLE IF NOT EXISTS platform.tenants (
        code text PRIMARY KEY REFERENCES platform.units (code) CHECK (code ~ '^[0-9]{9}$'),
        name text NOT NULL,
        district_code text NOT NULL REFERENCES platform.units (code),
        schema_name text NOT NULL UNIQUE,
        settings bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS platform.users (
        id uuid PRIMARY KEY,
        username text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        display_name text NOT NULL,
        role text NOT NULL CHECK (role IN ('platform_admin', 'tenant_admin', 'supervisor', 'grid_worker',
                                           'helper', 'district_officer', 'auditor')),
        tenant text REFERENCES platform.tenants (code),
        scope_unit text REFERENCES platform.units (code),
        helper_id uuid,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    """,
    # 2: signed anchors of each tenant's chain head, kept outside the tenant's schema.
    """
    CREATE TABLE IF NOT EXISTS platform.anchors (
        tenant text NOT NULL REFERENCES platform.tenants (code),
        position bigint NOT NULL,
        hash bytea NOT NULL,
        signed_at_us bigint NOT NULL,
        signature bytea NOT NULL,
        public_key bytea NOT NULL,
        PRIMARY KEY (tenant, position, signed_at_us)
    );
    """,
    # 3: the shared roll-up read models (dashboards above a tenant); see infra/projection_schema.py.
    ROLLUP_STEP,
    # 4: district officers' inboxes and the reports of each unit; see infra/notice_schema.py.
    notice_schema.PLATFORM_STEP,
    # 5: Idempotency-Keys of platform writes (tenants, units, users), each stored with the first answer in
    # the write's own transaction (infra.directory.RequestClaim); tenant commands keep theirs in the tenant.
    """
    CREATE TABLE IF NOT EXISTS platform.request_claims (
        actor uuid NOT NULL,
        key text NOT NULL,
        request_hash bytea NOT NULL,
        status int NOT NULL,
        body bytea NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (actor, key)
    );
    """,
    # 6: a projection batch's claim of its tracking rows, checked inside the batch's own pipeline
    # (infra.projection_batches._claim): when a row stood elsewhere, the whole transaction fails.
    """
    CREATE OR REPLACE FUNCTION platform.expect_claimed(moved bigint, wanted int) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF moved <> wanted THEN
            RAISE EXCEPTION 'projection batch lost its claim: % of % tracking rows stood where it started',
                moved, wanted USING ERRCODE = 'assert_failure';
        END IF;
    END
    $$;
    """,
]


def tenant_steps(schema: str) -> list[str]:
    """The migration steps of one tenant schema (`schema` is validated by the caller)."""
    return [
        # 1: the event log, the subject keys kept apart from it, and the one-round-trip write.
        f"""
        CREATE TABLE IF NOT EXISTS {schema}.events (
            originator_id uuid NOT NULL,
            originator_version bigint NOT NULL,
            topic text NOT NULL,
            state bytea NOT NULL,
            notification_id bigserial NOT NULL,
            subject_id uuid,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (originator_id, originator_version)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS events_notification_id_idx ON {schema}.events (notification_id);
        CREATE INDEX IF NOT EXISTS events_subject_idx ON {schema}.events (subject_id, notification_id)
            WHERE subject_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS {schema}.subject_keys (
            subject_id uuid PRIMARY KEY,
            wrapped_key bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE OR REPLACE FUNCTION {schema}.record_events(
            ids uuid[], versions bigint[], topics text[], states bytea[], subjects uuid[],
            key_ids uuid[], wrapped_keys bytea[], forget uuid[]
        ) RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
        BEGIN
            -- Serialise this tenant's writers so that commit order equals notification-id order.
            LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
            INSERT INTO {schema}.subject_keys (subject_id, wrapped_key) SELECT * FROM unnest(key_ids, wrapped_keys);
            DELETE FROM {schema}.subject_keys WHERE subject_id = ANY (forget);
            PERFORM pg_notify('{schema}_events', '');
            RETURN QUERY
                INSERT INTO {schema}.events (originator_id, originator_version, topic, state, subject_id)
                SELECT * FROM unnest(ids, versions, topics, states, subjects)
                RETURNING notification_id;
        END
        $body$;
        """,
        # 2: idempotency claims, written in the same transaction as the events they produced,
        # so a retried command either finds its first answer or records nothing.
        f"""
        CREATE TABLE IF NOT EXISTS {schema}.idempotency (
            user_id uuid NOT NULL,
            key text NOT NULL,
            request_hash bytea NOT NULL,
            status int NOT NULL,
            result_id uuid NOT NULL,
            result_version bigint NOT NULL,
            position bigint NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT idempotency_pkey PRIMARY KEY (user_id, key)
        );
        DROP FUNCTION IF EXISTS {schema}.record_events(uuid[], bigint[], text[], bytea[], uuid[], uuid[], bytea[], uuid[]);
        CREATE FUNCTION {schema}.record_events(
            ids uuid[], versions bigint[], topics text[], states bytea[], subjects uuid[],
            key_ids uuid[], wrapped_keys bytea[], forget uuid[],
            claim_user uuid DEFAULT NULL, claim_key text DEFAULT NULL, claim_hash bytea DEFAULT NULL,
            claim_status int DEFAULT NULL, claim_id uuid DEFAULT NULL, claim_version bigint DEFAULT NULL
        ) RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
        DECLARE
            positions bigint[];
        BEGIN
            -- Serialise this tenant's writers so that commit order equals notification-id order.
            LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
            INSERT INTO {schema}.subject_keys (subject_id, wrapped_key) SELECT * FROM unnest(key_ids, wrapped_keys);
            DELETE FROM {schema}.subject_keys WHERE subject_id = ANY (forget);
            WITH inserted AS (
                INSERT INTO {schema}.events (originator_id, originator_version, topic, state, subject_id)
                SELECT * FROM unnest(ids, versions, topics, states, subjects)
                RETURNING notification_id
            ) SELECT array_agg(notification_id ORDER BY notification_id) INTO positions FROM inserted;
            IF claim_key IS NOT NULL THEN
                INSERT INTO {schema}.idempotency
                    (user_id, key, request_hash, status, result_id, result_version, position)
                VALUES (claim_user, claim_key, claim_hash, claim_status, claim_id, claim_version,
                        positions[array_length(positions, 1)]);
            END IF;
            PERFORM pg_notify('{schema}_events', '');
            RETURN QUERY SELECT unnest(positions);
        END
        $body$;
        """,
        # 3: projection tracking, and the child register (one row per child) with what it derives from.
        # `grid` sorts bytewise (COLLATE "C") so a unit's subtree is one index range. The register
        # keeps a blind index of the ID number, never the number itself.
        f"""
        CREATE TABLE IF NOT EXISTS {schema}.projection_tracking (
            projection text PRIMARY KEY,
            position bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {schema}.child_register (
            child_id uuid PRIMARY KEY,
            grid text COLLATE "C" NOT NULL,
            community text COLLATE "C" NOT NULL,
            status text NOT NULL,
            name text,
            address text,
            id_number_index bytea,
            gender text NOT NULL,
            birth_date date NOT NULL,
            school text,
            class_name text,
            reason text NOT NULL,
            helper_ids uuid[] NOT NULL DEFAULT '{{}}',
            last_contact_on date,
            registered_on date NOT NULL,
            registered_position bigint NOT NULL,
            erased boolean NOT NULL DEFAULT false,
            version bigint NOT NULL,
            position bigint NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS child_register_order_idx ON {schema}.child_register (registered_position);
        CREATE INDEX IF NOT EXISTS child_register_grid_idx
            ON {schema}.child_register (grid, status, registered_position);
        CREATE INDEX IF NOT EXISTS child_register_community_idx
            ON {schema}.child_register (community, status, registered_position);
        CREATE INDEX IF NOT EXISTS child_register_id_index_idx ON {schema}.child_register (id_number_index)
            WHERE id_number_index IS NOT NULL;
        CREATE INDEX IF NOT EXISTS child_register_helpers_idx ON {schema}.child_register USING gin (helper_ids);
        CREATE TABLE IF NOT EXISTS {schema}.child_register_contacts (
            visit_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            occurred_on date NOT NULL
        );
        CREATE INDEX IF NOT EXISTS child_register_contacts_child_idx
            ON {schema}.child_register_contacts (child_id, occurred_on);
        CREATE TABLE IF NOT EXISTS {schema}.child_register_pairs (
            pair_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            helper_id uuid NOT NULL,
            formed_position bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS child_register_pairs_child_idx ON {schema}.child_register_pairs (child_id);
        """,
        # 4: the hash chain (a trigger computes each row's digest and hash) and append-only events.
        chain_step_sql(schema),
        # 5: who read which child's personal data, when, through what; append-only too.
        f"""
        CREATE TABLE IF NOT EXISTS {schema}.access_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            user_id uuid NOT NULL,
            role text NOT NULL,
            child_id uuid NOT NULL,
            via text NOT NULL
        );
        CREATE INDEX IF NOT EXISTS access_log_child_idx ON {schema}.access_log (child_id, id);
        DROP TRIGGER IF EXISTS refuse_change ON {schema}.access_log;
        CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.access_log
            FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change();
        """,
        # 6: the unit counters' per-child state and the concern queue; see infra/projection_schema.py.
        counters_and_queue_step_sql(schema),
        # 7: room on each page for the rows projections update at every contact, so an update can stay on
        # its page without touching the indexes (a HOT update): catching up on a long log writes far less.
        f"""
        ALTER TABLE {schema}.child_register SET (fillfactor = 70);
        ALTER TABLE {schema}.dash_contacts SET (fillfactor = 70);
        """,
        # 8: the notification inbox of the tenant's users and its rules' state; see infra/notice_schema.py.
        notice_schema.tenant_step_sql(schema),
        # 9: record_events without its NOTIFY: inside the writing transaction it held PostgreSQL's
        # server-wide notify lock until the commit was flushed, serialising every tenant's writers.
        # infra.recorder.Notifier now sends the wake-up just after the commit.
        f"""
        CREATE OR REPLACE FUNCTION {schema}.record_events(
            ids uuid[], versions bigint[], topics text[], states bytea[], subjects uuid[],
            key_ids uuid[], wrapped_keys bytea[], forget uuid[],
            claim_user uuid DEFAULT NULL, claim_key text DEFAULT NULL, claim_hash bytea DEFAULT NULL,
            claim_status int DEFAULT NULL, claim_id uuid DEFAULT NULL, claim_version bigint DEFAULT NULL
        ) RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
        DECLARE
            positions bigint[];
        BEGIN
            -- Serialise this tenant's writers so that commit order equals notification-id order.
            LOCK TABLE {schema}.events IN EXCLUSIVE MODE;
            INSERT INTO {schema}.subject_keys (subject_id, wrapped_key) SELECT * FROM unnest(key_ids, wrapped_keys);
            DELETE FROM {schema}.subject_keys WHERE subject_id = ANY (forget);
            WITH inserted AS (
                INSERT INTO {schema}.events (originator_id, originator_version, topic, state, subject_id)
                SELECT * FROM unnest(ids, versions, topics, states, subjects)
                RETURNING notification_id
            ) SELECT array_agg(notification_id ORDER BY notification_id) INTO positions FROM inserted;
            IF claim_key IS NOT NULL THEN
                INSERT INTO {schema}.idempotency
                    (user_id, key, request_hash, status, result_id, result_version, position)
                VALUES (claim_user, claim_key, claim_hash, claim_status, claim_id, claim_version,
                        positions[array_length(positions, 1)]);
            END IF;
            RETURN QUERY SELECT unnest(positions);
        END
        $body$;
        """,
        # 10: whole-tenant audit exports, made by a worker and kept sealed; see infra/exports.py.
        exports_step_sql(schema),
    ]


def schema_for(tenant: str) -> str:
    """The schema of a tenant (a 9-digit street code): `t_<code>`."""
    if len(tenant) != 9 or not tenant.isdigit():
        raise ValueError(f"not a tenant code: {tenant!r}")
    return f"t_{tenant}"


def _apply(conn: psycopg.Connection, scope: str, create_schema: str, steps: list[str]) -> int:
    """Run the steps of one scope that have not run yet; return how many ran."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('shouwang-migrate:' || %s))", [scope])
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {create_schema}")
        done = {r[0] for r in conn.execute(
            "SELECT version FROM platform.schema_migrations WHERE scope = %s", [scope])}
        ran = 0
        for version, step in enumerate(steps, start=1):
            if version in done:
                continue
            conn.execute(step)
            conn.execute("INSERT INTO platform.schema_migrations (scope, version) VALUES (%s, %s)", [scope, version])
            ran += 1
        return ran


def migrate_platform(conn: psycopg.Connection) -> int:
    """Create or upgrade the platform schema."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('shouwang-migrate:platform'))")
        conn.execute("CREATE SCHEMA IF NOT EXISTS platform")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS platform.schema_migrations (scope text NOT NULL, version int NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, version))"
        )
    return _apply(conn, "platform", "platform", PLATFORM_STEPS)


def migrate_tenant(conn: psycopg.Connection, tenant: str) -> int:
    """Create or upgrade one tenant's schema."""
    schema = schema_for(tenant)
    return _apply(conn, tenant, schema, tenant_steps(schema))


def migrate_all(conninfo: str, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Migrate the platform schema and every tenant schema; return steps run per scope."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        ran = {"platform": migrate_platform(conn)}
        for (tenant,) in conn.execute("SELECT code FROM platform.tenants ORDER BY code").fetchall():
            ran[tenant] = migrate_tenant(conn, tenant)
            if progress:
                progress(tenant, ran[tenant])
        return ran
