"""Audit on real PostgreSQL: an append-only hash-chained log, anchors, bundles, the access log."""

from __future__ import annotations

import base64
import json
from datetime import date
import psycopg
import pytest

from domain.errors import Forbidden
from infra.bundle import dumps, verify_bundle
from infra.chain import GENESIS, link
from services.app import activities, audit, children, concerns, helpers
from services.app.reads import child_file, child_history
from tests.builders import child_details


def _story(street):
    ctx = street.ctx()
    child_id = children.register_child(child_details(street.grid), ctx=ctx).id
    other_id = children.register_child(child_details(street.grid), ctx=ctx).id
    children.log_visit(child_id, "home_visit", date(2026, 10, 1), None, "家访", ctx=ctx)
    children.log_visit(other_id, "talk", date(2026, 10, 2), None, None, ctx=ctx)
    concerns.raise_concern(child_id, "safety", "urgent", "独自在家", ctx=ctx)
    return ctx, child_id, other_id


def _superuser(street):
    conn = psycopg.connect(street.infra.database_url, autocommit=True)
    return conn, f"t_{street.code}.events"


def test_updates_and_deletes_of_events_are_refused(street):
    _story(street)
    conn, table = _superuser(street)
    with conn:
        for statement in (f"UPDATE {table} SET topic = topic", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_changed_byte_is_caught_at_exactly_its_position(street):
    ctx, child_id, _ = _story(street)
    assert audit.verify_chain(ctx=ctx)["ok"] is True
    conn, table = _superuser(street)
    with conn:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(f"UPDATE {table} SET state = set_byte(state, 3, get_byte(state, 3) # 1)"
                     " WHERE notification_id = 3")
        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    report = audit.verify_chain(ctx=ctx)
    assert report["ok"] is False and report["first_bad_position"] == 3 and report["events_checked"] == 5


def test_a_rewritten_chain_is_caught_by_the_signed_anchor(street):
    ctx, child_id, _ = _story(street)
    anchored = ctx.case_log.anchor()
    conn, table = _superuser(street)
    with conn:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(f"UPDATE {table} SET topic = 'shouwang:child:visit-corrected' WHERE notification_id = 3")
        # Recompute every digest and hash, as a careful forger with superuser rights would.
        rows = conn.execute(f"SELECT notification_id, originator_id, originator_version, topic, state, subject_id,"
                            f" recorded_at FROM {table} ORDER BY notification_id").fetchall()
        from infra.chain import digest, micros

        previous = GENESIS
        for n, oid, version, topic, state, subject, recorded_at in rows:
            d = digest(n, oid, version, topic, bytes(state), subject, micros(recorded_at))
            previous = link(previous, d)
            conn.execute(f"UPDATE {table} SET digest = %s, hash = %s WHERE notification_id = %s", [d, previous, n])
        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    report = audit.verify_chain(ctx=ctx)
    assert report["ok"] is False and report["first_bad_position"] == anchored["position"]


def test_a_childs_bundle_verifies_offline_and_one_changed_byte_fails_it(street, tmp_path):
    ctx, child_id, other_id = _story(street)
    bundle = audit.export_bundle(child_id, ctx=ctx)
    path = tmp_path / "bundle.json"
    path.write_bytes(dumps(bundle))

    loaded = json.loads(path.read_text())
    result = verify_bundle(loaded)
    assert result["ok"], result["problems"]
    assert result["events"] == 3 and result["links"] == 5  # the other child's events travel as digests only
    assert all(str(other_id) not in json.dumps(link_) for link_ in loaded["links"] if "digest" in link_)

    tampered = json.loads(path.read_text())
    event = next(i["event"] for i in tampered["links"] if "event" in i)
    state = bytearray(base64.b64decode(event["state"]))
    state[5] ^= 1
    event["state"] = base64.b64encode(bytes(state)).decode()
    assert verify_bundle(tampered)["ok"] is False

    forged_digest = json.loads(path.read_text())
    next(i for i in forged_digest["links"] if "digest" in i)["digest"] = "00" * 32
    assert verify_bundle(forged_digest)["ok"] is False
    assert verify_bundle(loaded, public_key=bytes(32))["ok"] is False  # another platform's key


def test_a_forgotten_childs_bundle_still_verifies_and_shows_it_erased(street):
    ctx, child_id, _ = _story(street)
    children.forget_child(child_id, "依法删除", ctx=ctx)
    bundle = audit.export_bundle(child_id, ctx=ctx)
    assert verify_bundle(json.loads(dumps(bundle)))["ok"]
    shown = [i["event"]["shown"] for i in bundle["links"] if "event" in i]
    assert shown[0]["data"]["name"] is None and shown[0]["data"]["gender"] == "F"
    assert shown[-1]["type"] == "shouwang:child:forgotten"
    assert audit.verify_chain(ctx=ctx)["ok"]


def test_each_read_of_personal_data_appears_in_the_access_log_once(street):
    ctx, child_id, _ = _story(street)
    reader = street.ctx("supervisor", street.code)
    auditor = street.ctx("auditor", street.code[:6])
    child_file(child_id, ctx=reader)
    child_history(child_id, ctx=auditor)
    child_file(child_id, ctx=street.ctx("platform_admin"))  # sees no personal data: not an access

    log = audit.read_access_log(child_id, ctx=auditor)
    assert [(e["role"], e["user_id"]) for e in log] == [("auditor", auditor.actor), ("supervisor", reader.actor)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with psycopg.connect(street.infra.database_url, autocommit=True) as conn:
            conn.execute(f"DELETE FROM t_{street.code}.access_log")


def test_an_auditor_cannot_write_anything(street):
    ctx, child_id, _ = _story(street)
    auditor = street.ctx("auditor", street.code[:6])
    helper_id = helpers.enrol_helper("钱芳", "teacher", None, street.community, ctx=ctx).id
    concern_id = concerns.raise_concern(child_id, "health", "low", "感冒", ctx=ctx).id
    commands = [
        lambda: children.register_child(child_details(street.grid), ctx=auditor),
        lambda: children.correct_child(child_id, {"school": "x"}, None, ctx=auditor),
        lambda: children.log_visit(child_id, "talk", date(2026, 11, 1), None, None, ctx=auditor),
        lambda: children.grant_aid(child_id, "cash", 100, "x", date(2026, 11, 1), ctx=auditor),
        lambda: children.close_child(child_id, "other", None, ctx=auditor),
        lambda: children.forget_child(child_id, "x", ctx=auditor),
        lambda: helpers.enrol_helper("x", "teacher", None, street.community, ctx=auditor),
        lambda: helpers.form_pair(child_id, helper_id, date(2026, 11, 1), ctx=auditor),
        lambda: concerns.raise_concern(child_id, "health", "low", "x", ctx=auditor),
        lambda: concerns.escalate_concern(concern_id, "x", ctx=auditor),
        lambda: concerns.resolve_concern(concern_id, "x", ctx=auditor),
        lambda: activities.hold_activity(street.community, "x", "x", date(2026, 11, 1), [], ctx=auditor),
    ]
    position = ctx.case_log.position()
    for command in commands:
        with pytest.raises(Forbidden):
            command()
    assert ctx.case_log.position() == position


def test_the_command_line_verifies_a_bundle_offline_and_a_tenant_online(street, tmp_path):
    import os
    import subprocess
    import sys

    ctx, child_id, _ = _story(street)
    path = tmp_path / "bundle.json"
    path.write_bytes(dumps(audit.export_bundle(child_id, ctx=ctx)))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # offline: no database at all
    ok = subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify-bundle", str(path)],
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0 and "intact" in ok.stdout
    path.write_text(path.read_text().replace('"version": 1', '"version": 7', 1))
    bad = subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify-bundle", str(path)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "first bad position" in bad.stdout
