"""The hash chain of a tenant's log, in plain Python: the same rule the database trigger applies.

Each event row has a digest of its own content and a hash linking it to the row before:

    digest = sha256(int8 position | uuid originator_id | int8 version | int4 len | topic utf-8
                    | int4 len | state | uuid subject_id or 16 zero bytes | int8 recorded_at µs since epoch)
    hash   = sha256(previous hash (32 zero bytes for the first row) | digest)

Splitting digest from link lets an export prove one child's events inside the whole chain while
carrying only the digests, not the contents, of other children's events. This module needs only
the standard library, so a bundle can be checked offline.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from uuid import UUID

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def digest(position: int, originator_id: UUID, version: int, topic: str, state: bytes,
           subject_id: UUID | None, recorded_at_us: int) -> bytes:
    """The digest of one event row's content."""
    topic_bytes = topic.encode()
    return hashlib.sha256(b"".join((
        struct.pack(">q", position), originator_id.bytes, struct.pack(">q", version),
        struct.pack(">i", len(topic_bytes)), topic_bytes, struct.pack(">i", len(state)), state,
        subject_id.bytes if subject_id else bytes(16), struct.pack(">q", recorded_at_us),
    ))).digest()


def link(previous: bytes, row_digest: bytes) -> bytes:
    """The hash of a row, given the hash of the row before it."""
    return hashlib.sha256(previous + row_digest).digest()


def anchor_message(tenant: str, position: int, head: bytes, signed_at_us: int) -> bytes:
    """What an anchor's Ed25519 signature covers."""
    return b"shouwang-anchor/1|" + tenant.encode() + b"|" + struct.pack(">qq", position, signed_at_us) + head


def chain_step_sql(schema: str) -> str:
    """The migration step that hash-chains `schema.events` and makes it append-only."""
    return f"""
    ALTER TABLE {schema}.events ADD COLUMN IF NOT EXISTS digest bytea;
    ALTER TABLE {schema}.events ADD COLUMN IF NOT EXISTS hash bytea;
    CREATE OR REPLACE FUNCTION {schema}.chain_event() RETURNS trigger LANGUAGE plpgsql AS $body$
    DECLARE
        previous bytea;
    BEGIN
        -- Writers hold the table's EXCLUSIVE lock (record_events), so "the row before" is stable;
        -- a BEFORE ROW trigger also sees earlier rows of the same multi-row insert.
        SELECT e.hash INTO previous FROM {schema}.events e ORDER BY e.notification_id DESC LIMIT 1;
        NEW.digest := sha256(
            int8send(NEW.notification_id) || uuid_send(NEW.originator_id) || int8send(NEW.originator_version)
            || int4send(octet_length(convert_to(NEW.topic, 'UTF8'))) || convert_to(NEW.topic, 'UTF8')
            || int4send(octet_length(NEW.state)) || NEW.state
            || coalesce(uuid_send(NEW.subject_id), '\\x00000000000000000000000000000000'::bytea)
            || int8send((extract(epoch FROM NEW.recorded_at) * 1000000)::bigint));
        NEW.hash := sha256(coalesce(previous, '\\x{'00' * 32}'::bytea) || NEW.digest);
        RETURN NEW;
    END
    $body$;
    CREATE OR REPLACE FUNCTION {schema}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
        RAISE EXCEPTION 'append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $body$;
    -- Chain the rows written before this step, in log order (nothing refuses updates yet).
    DO $backfill$
    DECLARE
        r record;
        previous bytea := '\\x{'00' * 32}'::bytea;
        d bytea;
    BEGIN
        FOR r IN SELECT * FROM {schema}.events WHERE hash IS NULL ORDER BY notification_id LOOP
            d := sha256(
                int8send(r.notification_id) || uuid_send(r.originator_id) || int8send(r.originator_version)
                || int4send(octet_length(convert_to(r.topic, 'UTF8'))) || convert_to(r.topic, 'UTF8')
                || int4send(octet_length(r.state)) || r.state
                || coalesce(uuid_send(r.subject_id), '\\x00000000000000000000000000000000'::bytea)
                || int8send((extract(epoch FROM r.recorded_at) * 1000000)::bigint));
            previous := sha256(previous || d);
            UPDATE {schema}.events SET digest = d, hash = previous
                WHERE originator_id = r.originator_id AND originator_version = r.originator_version;
        END LOOP;
    END
    $backfill$;
    DROP TRIGGER IF EXISTS chain_event ON {schema}.events;
    CREATE TRIGGER chain_event BEFORE INSERT ON {schema}.events FOR EACH ROW EXECUTE FUNCTION {schema}.chain_event();
    DROP TRIGGER IF EXISTS refuse_change ON {schema}.events;
    CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change();
    DROP TRIGGER IF EXISTS refuse_truncate ON {schema}.events;
    CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_change();
    """
