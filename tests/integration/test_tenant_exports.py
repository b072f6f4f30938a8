"""Whole-tenant exports below HTTP: chunked and sealed, the same links as the in-memory bundle, a redelivered
task taking a job over, and a forget during a build voiding it."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from domain.access import SYSTEM
from domain.errors import Conflict
from infra import exports
from infra.bundle import dumps, verify_bundle
from infra.migrations import schema_for
from services.app import audit, children
from tests.builders import child_details


@pytest.fixture
def story(street):
    """A street with five children; its admin (one actor throughout) has asked for the whole export."""
    admin = street.ctx("tenant_admin", actor=uuid4())
    kids = [children.register_child(child_details(street.grid), ctx=admin).id for _ in range(5)]
    job, new = audit.request_tenant_export(ctx=admin)
    assert new
    return street, admin, kids, job["id"]


def bundle_of(admin, export_id) -> dict:
    job, content = audit.read_tenant_export(export_id, ctx=admin)
    return json.loads(b"".join(content))


def chunk_runs(street, export_id) -> set:
    with street.infra.datastore.get_connection() as conn:
        rows = conn.execute(f"SELECT DISTINCT run FROM {schema_for(street.code)}.export_chunks WHERE export_id = %s",
                            [export_id]).fetchall()
    return {r["run"] for r in rows}


def test_a_bundle_written_in_many_sealed_chunks_has_the_links_of_the_in_memory_one(story, monkeypatch):
    street, admin, _, export_id = story
    monkeypatch.setattr(exports, "CHUNK", 2048)
    built = audit.build_tenant_export(export_id, ctx=street.ctx(SYSTEM))
    assert built["status"] == "done" and built["bytes"] > 3 * 2048
    assert street.infra.logs[street.code].export_job(export_id)["chunks"] == -(-built["bytes"] // 2048)

    streamed = bundle_of(admin, export_id)
    assert verify_bundle(streamed)["ok"]
    assert streamed["links"] == json.loads(dumps(admin.case_log.export(None)))["links"]
    assert audit.build_tenant_export(export_id, ctx=street.ctx(SYSTEM))["status"] == "done"  # twice: no-op
    assert bundle_of(admin, export_id)["links"] == streamed["links"]


def test_a_redelivered_task_takes_the_job_over_and_the_older_run_drops_its_chunks(story):
    street, admin, _, export_id = story
    log = street.infra.logs[street.code]

    def older_run(write):
        write(b'{"half": ')
        assert log.build_export(export_id)["status"] == "done"  # the redelivery, while this run still writes
        write(b"a stale run}")
        return {"links": 0, "events": 0, "end_position": 0}

    outcome = exports.build(street.infra.datastore, street.code, schema_for(street.code), export_id,
                            street.infra.wrapper, older_run)
    assert outcome["status"] == "done"
    assert chunk_runs(street, export_id) == {log.export_job(export_id)["run"]}
    assert verify_bundle(bundle_of(admin, export_id))["ok"]


def test_a_forget_while_the_export_is_built_voids_it(story):
    street, admin, kids, export_id = story
    log = street.infra.logs[street.code]

    def run_meeting_a_forget(write):
        write(b'{"links": [')
        children.forget_child(kids[0], "监护人申请", ctx=admin)
        write(b"]}")
        return {"links": 0, "events": 0, "end_position": 0}

    outcome = exports.build(street.infra.datastore, street.code, schema_for(street.code), export_id,
                            street.infra.wrapper, run_meeting_a_forget)
    assert outcome["status"] == "erased"
    assert chunk_runs(street, export_id) == set() and log.export_job(export_id)["wrapped_key"] is None
    with pytest.raises(Conflict):
        audit.read_tenant_export(export_id, ctx=admin)
