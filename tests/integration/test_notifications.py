"""Who is told: the notification projection against a real PostgreSQL, users resolved when it runs."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from domain.child import ChildDetails, Guardian, Parent
from infra.bootstrap import Infrastructure
from infra.notice_rows import channel_for
from infra.projection_runner import catch_up, rebuild
from services.app import children, concerns, helpers, platform
from tests.conftest import NOW, Street, make_street, platform_ctx

_names = itertools.count(1)


def add_user(infra: Infrastructure, street: Street | None, role: str, scope: str,
             helper_id: UUID | None = None) -> UUID:
    """A user of `street` (or a regional one) with this role and scope; returns its id."""
    ctx = street.ctx("platform_admin") if street else platform_ctx(infra)
    user = platform.create_user(f"notice-{role}-{next(_names)}", "correct horse battery", role, role, scope,
                                tenant=street.code if street else None, helper_id=helper_id, ctx=ctx)
    return user.id


def register(street: Street, grid: str | None = None) -> UUID:
    details = ChildDetails(name="张小花", gender="F", birth_date=date(2017, 5, 12), grid=grid or street.grid,
                           reason="both_parents_away", guardian=Guardian(name="张奶奶", relation="paternal_grandparent"),
                           parents=(Parent(relation="father"),))
    return children.register_child(details, ctx=street.ctx()).id


def inbox(database_url: str, tenant: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(f"SELECT * FROM t_{tenant}.notifications ORDER BY id").fetchall()


def district_inbox(database_url: str, district: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM rollup.district_inbox WHERE district = %s ORDER BY id", [district]).fetchall()


def told(rows: list[dict], user: UUID) -> list[tuple[str, str]]:
    return [(r["kind"], r["unit"]) for r in rows if r["user_id"] == user]


@pytest.fixture
def people(infra: Infrastructure) -> dict:
    """A street of a district of its own, staffed at every level, and a street of another district."""
    street, far = make_street(infra, "150971"), make_street(infra, "150972")
    helper = helpers.enrol_helper("刘爱华", "caring_mother", None, street.community, ctx=street.ctx()).id
    return {
        "street": street, "far": far, "helper_id": helper,
        "street_sup": add_user(infra, street, "supervisor", street.code),
        "community_sup": add_user(infra, street, "supervisor", street.community),
        "other_community_sup": add_user(infra, street, "supervisor", street.code + "002"),
        "worker": add_user(infra, street, "grid_worker", street.grid),
        "helper": add_user(infra, street, "helper", street.community, helper_id=helper),
        "admin": add_user(infra, street, "tenant_admin", street.code),
        "officer": add_user(infra, None, "district_officer", "150971"),
        "far_officer": add_user(infra, None, "district_officer", "150972"),
        "far_sup": add_user(infra, far, "supervisor", far.code),
    }


def test_an_urgent_concern_tells_the_supervisors_of_the_childs_community_and_street_only(infra, database_url, people):
    street = people["street"]
    child = register(street)
    concern = concerns.raise_concern(child, "abuse", "urgent", "身上有伤", ctx=street.ctx("grid_worker")).id
    concerns.raise_concern(child, "academic", "low", "成绩下滑", ctx=street.ctx("grid_worker"))
    catch_up(infra, street.code)

    rows = inbox(database_url, street.code)
    assert sorted(told(rows, people["community_sup"]) + told(rows, people["street_sup"])) == [
        ("concern_raised", street.community), ("concern_raised", street.community)]
    assert {r["user_id"] for r in rows} == {people["community_sup"], people["street_sup"]}
    assert all((r["concern_id"], r["child_id"], r["severity"], r["level"]) == (concern, child, "urgent", "community")
               for r in rows)
    assert inbox(database_url, people["far"].code) == []


def test_an_escalation_tells_the_level_it_reached_and_district_officers_of_that_district_only(
        infra, database_url, people):
    street = people["street"]
    child = register(street)
    concern = concerns.raise_concern(child, "safety", "medium", "独自在家", ctx=street.ctx("grid_worker")).id
    concerns.escalate_concern(concern, "社区无法处理", ctx=street.ctx("supervisor"))
    catch_up(infra, street.code)
    rows = inbox(database_url, street.code)
    assert told(rows, people["street_sup"]) == [("concern_escalated", street.code)]
    assert told(rows, people["community_sup"]) == []

    concerns.escalate_concern(concern, "街道无法处理", ctx=street.ctx("supervisor"))
    catch_up(infra, street.code)
    # Earlier tests' officers of the same district are told too: keep to this test's people.
    ours = [r for r in district_inbox(database_url, "150971") if r["concern_id"] == concern]
    assert [(r["kind"], r["tenant"], r["severity"], r["level"]) for r in ours if r["user_id"] == people["officer"]] == [
        ("concern_escalated", street.code, "medium", "district")]
    assert [r for r in district_inbox(database_url, "150972") if r["concern_id"] == concern] == []


def test_a_lapse_of_contact_tells_the_childs_helper_and_grid_worker(infra, database_url, people):
    from services.app.deadlines import notice_contact_lapse

    street = people["street"]
    child = register(street)
    helpers.form_pair(child, people["helper_id"], NOW.date() - timedelta(days=1), ctx=street.ctx())
    later = street.ctx("system", now=NOW + timedelta(days=90))
    assert notice_contact_lapse(child, ctx=later) is not None
    assert notice_contact_lapse(child, ctx=later) is None  # the same lapse is noticed once
    catch_up(infra, street.code)

    rows = [r for r in inbox(database_url, street.code) if r["kind"] == "contact_overdue"]
    assert sorted(str(r["user_id"]) for r in rows) == sorted(str(u) for u in (people["helper"], people["worker"]))
    assert all(r["child_id"] == child and r["unit"] == street.grid for r in rows)


def test_ending_a_childs_last_pair_tells_its_community_supervisor(infra, database_url, people):
    street = people["street"]
    child = register(street)
    second = helpers.enrol_helper("王老师", "teacher", None, street.community, ctx=street.ctx()).id
    first_pair = helpers.form_pair(child, people["helper_id"], NOW.date(), ctx=street.ctx()).id
    second_pair = helpers.form_pair(child, second, NOW.date(), ctx=street.ctx()).id
    helpers.end_pair(first_pair, "调离", NOW.date(), ctx=street.ctx())
    catch_up(infra, street.code)
    assert [r for r in inbox(database_url, street.code) if r["kind"] == "child_without_helper"] == []

    helpers.end_pair(second_pair, "调离", NOW.date(), ctx=street.ctx())
    catch_up(infra, street.code)
    rows = [r for r in inbox(database_url, street.code) if r["kind"] == "child_without_helper"]
    assert [(r["user_id"], r["unit"], r["child_id"]) for r in rows] == [
        (people["community_sup"], street.community, child)]


def test_a_helper_leaving_tells_the_community_supervisor_of_each_child_it_leaves_without_a_helper(
        infra, database_url, people):
    street = people["street"]
    alone, still_helped = register(street), register(street)
    teacher = helpers.enrol_helper("王老师", "teacher", None, street.community, ctx=street.ctx()).id
    for child in (alone, still_helped):
        helpers.form_pair(child, people["helper_id"], NOW.date(), ctx=street.ctx())
    helpers.form_pair(still_helped, teacher, NOW.date(), ctx=street.ctx())

    helpers.helper_left(people["helper_id"], "搬家", ctx=street.ctx("supervisor"))
    catch_up(infra, street.code)

    rows = [r for r in inbox(database_url, street.code) if r["kind"] == "child_without_helper"]
    assert [(r["user_id"], r["unit"], r["child_id"]) for r in rows] == [
        (people["community_sup"], street.community, alone)]


def test_a_closed_file_whose_pairs_ended_with_it_tells_nobody(infra, database_url, people):
    street = people["street"]
    child = register(street)
    helpers.form_pair(child, people["helper_id"], NOW.date(), ctx=street.ctx())

    children.close_child(child, "parent_returned", None, ctx=street.ctx())
    catch_up(infra, street.code)

    assert [r for r in inbox(database_url, street.code) if r["kind"] == "child_without_helper"] == []


def test_each_inbox_row_is_signalled_on_its_users_channel_in_the_same_transaction(infra, database_url, people):
    street = people["street"]
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {channel_for(people['street_sup'])}")
        listener.execute(f"LISTEN {channel_for(people['far_sup'])}")
        concerns.raise_concern(register(street), "abuse", "high", "身上有伤", ctx=street.ctx("grid_worker"))
        catch_up(infra, street.code)
        heard = [(n.channel, n.payload) for n in listener.notifies(timeout=2, stop_after=1)]
    rows = [r for r in inbox(database_url, street.code) if r["user_id"] == people["street_sup"]]
    assert heard == [(channel_for(people["street_sup"]), str(rows[-1]["id"]))]


def heads(database_url: str, district: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT last_id FROM rollup.district_inbox_heads WHERE district = %s",
                            [district]).fetchone()[0]


def test_a_rebuild_tells_nobody_again_and_keeps_what_was_read(infra, database_url, people):
    street = people["street"]
    concern = concerns.raise_concern(register(street), "abuse", "urgent", "身上有伤", ctx=street.ctx("grid_worker")).id
    for _ in range(2):
        concerns.escalate_concern(concern, "无法处理", ctx=street.ctx("supervisor"))
    catch_up(infra, street.code)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"UPDATE t_{street.code}.notifications SET read = true")
    before = (inbox(database_url, street.code), district_inbox(database_url, "150971"), heads(database_url, "150971"))

    rebuild(infra, street.code)

    assert (inbox(database_url, street.code), district_inbox(database_url, "150971"),
            heads(database_url, "150971")) == before
