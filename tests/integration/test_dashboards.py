"""Dashboards, worklists and concern queues at every level, against counts kept by hand from the same story."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from infra.bootstrap import Infrastructure
from infra.dashboard_reads import concern_queue, dashboard, worklist
from infra.projection_runner import catch_up, rebuild
from services.app import platform
from tests.conftest import NOW, Street, make_street, platform_ctx
from tests.integration.dashboard_story import FIVE_ONES, Story, observed
from tests.integration.db_search import tables_containing

DISTRICT, OTHER_DISTRICT = "150996", "150995"
PRIVATE = ("dash_children", "dash_pairs", "dash_contacts", "dash_visits", "dash_helpers", "concern_queue",
           "child_register", "child_register_contacts", "child_register_pairs")
SHARED = {"grid_children": "grid", "grid_semester": "semester, grid", "quotas": "tenant", "concerns": "concern_id"}


def projection_state(database_url: str, tenant: str) -> dict[str, Any]:
    """Every read-model row of a tenant, private and shared, and its tracking positions."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        # Whole rows in order: a table keyed by two columns (dash_contacts: child, semester) has several rows
        # with the same first column, which ORDER BY 1 returns in any order.
        state = {t: sorted(conn.execute(f"SELECT * FROM t_{tenant}.{t}").fetchall(), key=repr)
                 for t in PRIVATE}
        state.update({f"rollup.{t}": conn.execute(f"SELECT * FROM rollup.{t} WHERE tenant = %s ORDER BY {order}",
                                                  [tenant]).fetchall() for t, order in SHARED.items()})
        state["tracking"] = conn.execute(f"SELECT * FROM t_{tenant}.projection_tracking ORDER BY 1").fetchall()
    return state


class District:
    """Two streets of one district and one street of another, with a story told in them."""

    def __init__(self, infra: Infrastructure) -> None:
        self.s1, self.s2 = make_street(infra, DISTRICT), make_street(infra, DISTRICT)
        self.far = make_street(infra, OTHER_DISTRICT)
        self.second_grid = self.s1.community + "02"
        platform.add_unit(self.s1.code, self.second_grid, "001社区2号网格", "grid", self.s1.community,
                          ctx=platform_ctx(infra))
        self.story = Story()
        self.tell()

    @property
    def streets(self) -> tuple[Street, ...]:
        return self.s1, self.s2, self.far

    def tell(self) -> None:
        story, s1, s2, far = self.story, self.s1, self.s2, self.far
        self.h1, h2, h3 = story.helper(s1, "看板帮扶人甲"), story.helper(s1, "看板帮扶人乙"), story.helper(s2, "看板帮扶人丙")
        a, b = story.register(s1, s1.grid), story.register(s1, s1.grid, "one_parent_away_other_unable")
        c, d = story.register(s1, self.second_grid), story.register(s1, s1.other_grid)
        e, f, x = story.register(s2, s2.grid), story.register(s2, s2.other_grid), story.register(far, far.grid)
        self.a, self.b, self.c, self.d, self.e = a, b, c, d, e
        story.pair(a, self.h1)
        ended = story.pair(b, self.h1)
        story.pair(c, h2)
        story.pair(e, h3)
        story.end_pair(b, ended)
        for n, kind in enumerate(FIVE_ONES):
            story.visit(a, kind, date(2026, 10, 1 + n))  # a meets every quota of the autumn
            story.visit(c, kind, date(2026, 4, 1 + n))  # c met every quota of the spring
            story.visit(f, kind, date(2026, 11, 1 + n))
            story.visit(x, kind, date(2026, 11, 1 + n))
        story.visit(b, "home_visit", date(2026, 10, 5))
        story.visit(b, "talk", date(2026, 3, 10))
        late = story.visit(d, "talk", date(2026, 8, 31))
        story.correct_visit(d, late, on=date(2026, 9, 1))  # from the spring into the autumn
        wrong = story.visit(e, "home_visit", date(2026, 10, 10))
        story.correct_visit(e, wrong, kind="letter")
        story.grant(c, 10_000, date(2026, 4, 1))
        story.grant(a, 40_000, date(2026, 11, 1))
        story.grant(e, 5_000, date(2026, 10, 1))
        story.grant(x, 999, date(2026, 10, 1))
        self.urgent = story.worry(a, "urgent")  # nobody acknowledges it: overdue after 4 hours
        story.escalate(story.worry(b, "high"))  # at the street
        self.at_district = story.worry(e, "medium")
        story.escalate(self.at_district)
        story.escalate(self.at_district)
        story.acknowledge(story.worry(c, "low"))
        story.acknowledge(story.worry(d, "urgent"))
        story.resolve(story.worry(a, "high"))
        story.worry(x, "urgent")
        story.move(c, s1.grid)  # its spring contacts and its concern follow it; its aid stays where given
        story.close(f)
        story.close(d)
        story.reopen(d)
        story.forget(a)  # a forgotten child keeps counting
        story.now = NOW + timedelta(hours=5)


@pytest.fixture(scope="module")
def district(infra: Infrastructure) -> District:
    told = District(infra)
    for street in told.streets:
        catch_up(infra, street.code, batch=7)  # many batch boundaries
    return told


def units_of(d: District) -> list[tuple[str, str]]:
    return [(d.s1.grid, "grid"), (d.second_grid, "grid"), (d.s1.other_grid, "grid"), (d.s1.community, "community"),
            (d.s1.code + "002", "community"), (d.s1.code, "street"), (d.s2.code, "street"), (d.s2.grid, "grid"),
            (DISTRICT, "district"), (OTHER_DISTRICT, "district")]


@pytest.mark.parametrize("semester", ["2026-spring", "2026-autumn"])
async def test_every_level_shows_what_the_story_did(district, read_pool, semester):
    for code, level in units_of(district):
        board = await dashboard(read_pool, code, level, semester, now=district.story.now)

        assert (board["unit"], board["level"], board["semester"]) == (code, level, semester)
        assert observed(board) == district.story.expected(code, semester), (code, semester)


async def test_a_district_sums_its_own_streets_only_with_shares_in_percent(district, read_pool):
    board = await dashboard(read_pool, DISTRICT, "district", "2026-autumn", now=district.story.now)
    s1 = await dashboard(read_pool, district.s1.code, "street", "2026-autumn", now=district.story.now)
    s2 = await dashboard(read_pool, district.s2.code, "street", "2026-autumn", now=district.story.now)

    assert [p["unit"] for p in board["children_by_child_unit"]] == [district.s1.code, district.s2.code]
    assert board["children_open"] == s1["children_open"] + s2["children_open"] == 5
    assert board["aid_fen"] == 45_000 and board["concerns_open"]["urgent"] == 2
    assert board["paired"] == {"count": 3, "pct": 60.0}
    assert board["contacts"]["home_visit"] == {"done": 2, "pct": 40.0}  # a and b
    assert board["contacts"]["all_done_pct"] == 20.0
    first = board["children_by_child_unit"][0]
    assert (first["children_open"], first["paired"], first["concerns_overdue"]) == (4, {"count": 2, "pct": 50.0}, 1)
    assert [p["unit"] for p in s1["children_by_child_unit"]] == [district.s1.community, district.s1.code + "002"]


def test_no_shared_table_holds_a_name_an_id_number_a_phone_or_free_text(district, database_url):
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'rollup'"
                              ).fetchall()
    assert set(SHARED) <= {t["table_name"] for t in tables}  # and whatever else is shared: all are searched
    b = district.story.kids[district.b].details
    personal = (b.name, b.id_number, b.address, b.guardian.name, b.guardian.phone, b.parents[0].phone,
                b.parents[1].name, "看板帮扶人", "情绪低落", "走访记录", "区妇联", "已妥善处理", b.school, str(district.b))
    for value in personal:
        assert [t for t in tables_containing(database_url, value) if t.startswith("rollup.")] == [], value


@pytest.mark.parametrize("names", [True, False])
async def test_a_worklist_lists_open_children_missing_contacts_with_their_helper(district, read_pool, names):
    s1 = district.s1
    page = await worklist(read_pool, s1.community, "2026-autumn", [s1.code], names=names)

    items = {i["child_id"]: i for i in page["items"]}
    assert set(items) == {district.b, district.c}  # a met every quota; d is in the other community
    assert items[district.b]["missing"] == {"talk": 1, "teacher_contact": 1, "guardian_contact": 1, "letter": 1}
    assert items[district.c]["missing"] == dict(FIVE_ONES) and items[district.c]["unit"] == s1.grid
    assert items[district.b]["helper_id"] is None and items[district.c]["helper_id"] is not None
    if names:
        assert items[district.c]["name"].startswith("看板童") and items[district.c]["helper_name"] == "看板帮扶人乙"
    else:
        assert "name" not in items[district.c] and "helper_name" not in items[district.c]
    spring = await worklist(read_pool, s1.community, "2026-spring", [s1.code], names=False)
    assert district.c not in {i["child_id"] for i in spring["items"]}


async def test_a_district_worklist_pages_through_its_tenants_in_grid_order(district, read_pool):
    tenants = [district.s1.code, district.s2.code]
    whole = await worklist(read_pool, DISTRICT, "2026-autumn", tenants, names=False)
    seen, cursor = [], None
    while True:
        page = await worklist(read_pool, DISTRICT, "2026-autumn", tenants, names=False, limit=2, cursor=cursor)
        seen += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == whole["items"] and len(seen) == 4  # b, c, d and e; a met everything, f is closed
    assert [i["unit"] for i in seen] == sorted(i["unit"] for i in seen)


async def test_each_level_has_its_queue_with_age_severity_and_overdue(district, read_pool):
    s1, s2, now = district.s1, district.s2, district.story.now
    queue = (await concern_queue(read_pool, s1.code, within=s1.code, status="open", level=None,
                                 district_only=False, now=now))["items"]
    assert [i["severity"] for i in queue] == ["urgent", "urgent", "high", "low"]
    overdue = [i for i in queue if i["overdue"]]
    assert [i["id"] for i in overdue] == [district.urgent] and overdue[0]["age_hours"] == 5.0
    assert [i["level"] for i in queue if i["severity"] == "high"] == ["street"]
    assert all(i["grid"] == s1.grid for i in queue if i["child_id"] == district.c)  # followed the child's move
    at_district = (await concern_queue(read_pool, s2.code, within=s2.code, status=None, level=None,
                                       district_only=True, now=now))["items"]
    assert [(i["id"], i["level"], i["unit"]) for i in at_district] == [(district.at_district, "district", DISTRICT)]
    resolved = await concern_queue(read_pool, s1.code, within=s1.code, status="resolved", level=None,
                                   district_only=False, now=now)
    assert [i["severity"] for i in resolved["items"]] == ["high"]


def test_a_rebuild_gives_exactly_the_rows_incremental_processing_gave(district, infra, database_url):
    for street in district.streets:
        incremental = projection_state(database_url, street.code)
        rebuild(infra, street.code)
        assert projection_state(database_url, street.code) == incremental
