"""Scheduled work run by a real Celery worker over a real broker: deadlines, reports, anchors.

Time is injected (`now=`): a deadline hours or weeks away is reached without waiting for it.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
from psycopg.rows import dict_row

from domain.concern import Concern
from infra.projection_runner import catch_up
from services.app import concerns, helpers
from services.worker.tasks import anchor_chains, check_deadlines
from tests.conftest import NOW, make_street
from tests.integration.test_notifications import add_user, register
from tests.worker_fixtures import celery_worker  # noqa: F401  (the fixture)

WAIT = 60  # seconds a task may take to come back through the broker, at most


def run_twice_at_once(tenant: str, now) -> list[dict]:
    """Send the same check twice before either runs, as a retried or duplicated delivery would."""
    sent = [check_deadlines.delay(tenant, now.isoformat()) for _ in range(2)]
    return [result.get(timeout=WAIT) for result in sent]


def inbox(database_url: str, tenant: str, user) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(f"SELECT * FROM t_{tenant}.notifications WHERE user_id = %s ORDER BY id",
                            [user]).fetchall()


def test_an_unacknowledged_urgent_concern_escalates_after_its_deadline_exactly_once(
        infra, database_url, celery_worker):
    street = make_street(infra)
    street_supervisor = add_user(infra, street, "supervisor", street.code)
    child = register(street)
    concern = concerns.raise_concern(child, "abuse", "urgent", "身上有伤", ctx=street.ctx("grid_worker")).id
    catch_up(infra, street.code)
    hours = infra.directory.settings(street.code).urgent_ack_hours

    early = run_twice_at_once(street.code, NOW + timedelta(hours=hours) - timedelta(minutes=1))
    due = run_twice_at_once(street.code, NOW + timedelta(hours=hours, minutes=1))

    assert [r["escalated"] for r in early] == [[], []]
    assert sorted(len(r["escalated"]) for r in due) == [0, 1]
    escalations = [e for e in infra.logs[street.code].about(child) if e["type"] == Concern.Escalated.TOPIC]
    assert [(e["actor"], e["data"]["to_level"]) for e in escalations] == [("system", "street")]
    catch_up(infra, street.code)
    told = inbox(database_url, street.code, street_supervisor)
    assert [(n["kind"], n["unit"], n["level"], n["concern_id"]) for n in told] == [
        ("concern_raised", street.community, "community", concern),
        ("concern_escalated", street.code, "street", concern)]


def test_an_acknowledged_urgent_concern_does_not_escalate(infra, celery_worker):
    street = make_street(infra)
    concern = concerns.raise_concern(register(street), "abuse", "urgent", "身上有伤", ctx=street.ctx("grid_worker")).id
    concerns.acknowledge_concern(concern, None, ctx=street.ctx("supervisor"))
    catch_up(infra, street.code)

    assert [r["escalated"] for r in run_twice_at_once(street.code, NOW + timedelta(days=2))] == [[], []]


def test_a_child_without_contact_is_noticed_once_and_its_helper_and_grid_worker_told(
        infra, database_url, celery_worker):
    street = make_street(infra)
    helper = helpers.enrol_helper("刘爱华", "caring_mother", None, street.community, ctx=street.ctx()).id
    helper_user = add_user(infra, street, "helper", street.community, helper_id=helper)
    worker = add_user(infra, street, "grid_worker", street.grid)
    child = register(street)
    helpers.form_pair(child, helper, NOW.date(), ctx=street.ctx())
    catch_up(infra, street.code)
    days = infra.directory.settings(street.code).max_days_without_contact

    assert [r["reminded"] for r in run_twice_at_once(street.code, NOW + timedelta(days=days - 1))] == [[], []]
    due = run_twice_at_once(street.code, NOW + timedelta(days=days))
    catch_up(infra, street.code)
    again = run_twice_at_once(street.code, NOW + timedelta(days=days + 1))

    assert sorted(r["reminded"] for r in due) == [[], [str(child)]]
    assert [r["reminded"] for r in again] == [[], []]
    for user in (helper_user, worker):
        assert [(n["kind"], n["child_id"]) for n in inbox(database_url, street.code, user)] == [
            ("contact_overdue", child)]


def test_the_daily_anchor_signs_each_moved_chain_head_once(infra, celery_worker):
    street = make_street(infra)
    register(street)

    first = anchor_chains.delay().get(timeout=WAIT)
    second = anchor_chains.delay().get(timeout=WAIT)

    assert first >= 1 and second == 0
