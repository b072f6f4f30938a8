"""The dashboard and the live concern queue in a real browser, against a real server process and its workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx

from domain.child import ChildDetails, Guardian
from domain.semester import Semester
from services.app import children, concerns
from tests.browser.conftest import (
    DESKTOP, PASSWORD, PHONE, WebStreet, log_in, overflows, populate, screenshot, staffed_street,
)
from tests.e2e.conftest import today

LIVE_SECONDS = 3.0


async def until(read: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool], seconds: float = 15.0) -> Any:
    """`read()` again until `ready` holds of what it returns, for `seconds` at most; that last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if ready(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def api_dashboard(web: str, username: str, code: str, semester: str = "") -> dict[str, Any]:
    """The API's dashboard of `code` (for `semester`, default the current one) as `username` sees it."""
    async with httpx.AsyncClient(base_url=web, timeout=30) as api:
        login = await api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        answer = await api.get(f"/api/v1/units/{code}/dashboard", headers=headers,
                               params={"months": "true", **({"semester": semester} if semester else {})})
        assert answer.status_code == 200, answer.text
        return answer.json()


def api_figure(board: dict[str, Any], path: str) -> float:
    """The number at a page's `data-figure` path in the API's dashboard (child units are keyed by code)."""
    head, *rest = path.split(".")
    value: Any = board[head]
    if head == "children_by_child_unit":
        value = {u["unit"]: u for u in value}
    for key in rest:
        value = value[key]
    return float(value)


async def shown_figures(page: Any) -> dict[str, float]:
    """Every number the page shows with a `data-figure` path, as numbers."""
    texts = await page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-figure]')]
        .map(e => [e.dataset.figure, e.textContent.trim()]))""")
    return {path: float(text.rstrip("%")) for path, text in texts.items()}


async def assert_matches_api(page: Any, web: str, username: str, code: str, semester: str = "") -> dict[str, float]:
    board = await api_dashboard(web, username, code, semester)
    shown = await shown_figures(page)
    assert len(shown) >= 20, shown
    assert shown == {path: api_figure(board, path) for path in shown}
    charts = page.locator("svg.chart[role=img]")
    assert await charts.count() == 5
    for i in range(5):
        labelled = await charts.nth(i).get_attribute("aria-labelledby")
        assert (await page.locator(f"#{labelled.split()[0]}").text_content()).strip(), "each chart has a title"
    return shown


async def test_a_supervisor_drills_down_from_the_street_to_a_grid_and_sees_the_apis_numbers(infra, web, browser):
    team = staffed_street(infra)
    populate(team)
    boss = team.users["supervisor"]
    board = await until(lambda: api_dashboard(web, boss, team.code),
                        lambda b: b["children_open"] == 6 and b["concerns_open"]["high"] == 1
                        and sum(b["contacts_by_month"].values()) == 3)
    assert board["children_open"] == 6, "the server's workers projected the street"

    for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await log_in(browser, web, boss, viewport)
        await page.get_by_role("link", name="统计看板").first.click()
        await page.get_by_role("heading", name=f"测试街道{team.code} 统计看板").wait_for()
        street = await assert_matches_api(page, web, boss, team.code)
        assert street["children_open"] == 6 and street["contacts.home_visit.done"] == 1
        assert not await overflows(page), f"the dashboard scrolls sideways at {viewport['width']} px"
        await screenshot(page, f"dashboard-{size_name}")

        await page.locator("[data-testid=units]").get_by_role("link", name="社区001").click()
        await page.get_by_role("heading", name="社区001 统计看板").wait_for()
        community = await assert_matches_api(page, web, boss, team.street.community)
        assert community["children_open"] == 6

        await page.locator("[data-testid=units]").get_by_role("link", name="001社区1号网格").click()
        await page.get_by_role("heading", name="001社区1号网格 统计看板").wait_for()
        await assert_matches_api(page, web, boss, team.street.grid)
        assert not await overflows(page)

        earlier = str(Semester.of(today()).starts_on - timedelta(days=1))
        earlier = str(Semester.of(date.fromisoformat(earlier)))
        await page.get_by_role("combobox", name="学期").select_option(earlier)  # shown at once by app.js
        await page.wait_for_url(f"**/units/{team.street.grid}/dashboard?semester={earlier}")
        before = await assert_matches_api(page, web, boss, team.street.grid, earlier)
        assert before["children_open"] == 6 and sum(v for k, v in before.items() if k.startswith("contacts_by")) == 0
        await page.context.close()

    worker = await log_in(browser, web, team.users["grid_worker"], PHONE)
    assert (await worker.goto(f"/units/{team.street.grid}/dashboard")).status == 200
    for outside in (team.code, team.street.other_grid, staffed_street(infra).code):
        answer = await worker.goto(f"/units/{outside}/dashboard")
        assert answer.status == 404, f"{outside} is outside the grid worker's scope"
        assert "未找到" in await worker.locator("main").inner_text()
    await worker.context.close()


def _child(team: WebStreet, name: str) -> UUID:
    return children.register_child(ChildDetails(
        name=name, gender="F", birth_date=today() - timedelta(days=8 * 365), grid=team.street.grid,
        reason="both_parents_away", guardian=Guardian(name="王奶奶", relation="paternal_grandparent")),
        ctx=team.ctx("grid_worker", team.street.grid)).id


async def test_an_urgent_concern_reaches_the_streets_open_queue_live_and_no_other_street(infra, web, browser):
    team, other = staffed_street(infra), staffed_street(infra)
    child, far_child = _child(team, "林小雪"), _child(other, "何小安")
    # The server's projection runner hears of a new tenant at its next sweep (docs/projections.md, known
    # limits); once it has projected these streets it listens to them, and the clock below is fair.
    for street in (team, other):
        board = await until(lambda s=street: api_dashboard(web, s.users["supervisor"], s.code),
                            lambda b: b["children_open"] == 1)
        assert board["children_open"] == 1
    boss = await log_in(browser, web, team.users["supervisor"], DESKTOP)
    far = await log_in(browser, web, other.users["supervisor"], PHONE)
    for page, tenant in ((boss, team.code), (far, other.code)):
        await page.get_by_role("link", name="关注事项队列").first.click()
        await page.get_by_role("heading", name="关注事项队列").wait_for()
        assert page.url.endswith(f"/t/{tenant}/concerns")
        assert await page.get_by_test_id("new-badge").is_hidden()

    worker = await log_in(browser, web, team.users["grid_worker"], PHONE)
    await worker.goto(f"/t/{team.code}/children/{child}/concerns/new")
    await worker.get_by_label("类别").select_option("abuse")
    await worker.get_by_label("严重程度").select_option("urgent")
    await worker.get_by_label("情况描述").fill("孩子身上有多处淤青，需立即核实")
    await worker.get_by_role("button", name="提交").click()
    await worker.wait_for_url("**/concerns/*?done=raised")
    raised = worker.url.split("/concerns/")[1].split("?")[0]
    submitted = time.monotonic()

    row = boss.locator(f'tr[data-concern="{raised}"]')
    await boss.locator(f'tr.new[data-concern="{raised}"]').wait_for(timeout=LIVE_SECONDS * 1000)
    assert time.monotonic() - submitted < LIVE_SECONDS, "shown without a reload within 3 seconds"
    assert await boss.get_by_test_id("new-badge").is_visible()
    assert await boss.get_by_test_id("new-badge").inner_text() == "新 1 条"
    assert "紧急" in await row.inner_text() and "疑似受虐" in await row.inner_text()
    await screenshot(boss, "queue-desktop")
    await worker.context.close()

    # The other street's supervisor was told nothing; its own street's concern then reaches it alone.
    assert await far.get_by_test_id("new-badge").is_hidden()
    assert await far.locator(f'tr[data-concern="{raised}"]').count() == 0
    own = concerns.raise_concern(far_child, "safety", "urgent", "独自在家",
                                 ctx=other.ctx("grid_worker", other.street.grid)).id
    await far.locator(f'tr.new[data-concern="{own}"]').wait_for(timeout=LIVE_SECONDS * 1000)
    assert await far.get_by_test_id("new-badge").inner_text() == "新 1 条"
    assert await far.locator(f'tr[data-concern="{raised}"]').count() == 0
    assert not await overflows(far)
    await screenshot(far, "queue-phone")
    assert await boss.get_by_test_id("new-badge").inner_text() == "新 1 条", "nothing of the other street came"
    assert await boss.locator(f'tr[data-concern="{own}"]').count() == 0
    for page in (boss, far):
        await page.context.close()


async def test_the_pages_notification_stream_needs_a_session(web):
    async with httpx.AsyncClient(base_url=web, timeout=10) as client:
        answer = await client.get("/notifications/stream", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    async with httpx.AsyncClient(base_url=web, timeout=10, cookies={"shouwang_session": "forged"}) as forging:
        forged = await forging.get("/notifications/stream", follow_redirects=False)
        assert forged.status_code == 303


async def test_the_dashboard_in_english_keeps_its_labels_inside_the_charts_on_a_phone(infra, web, browser):
    team = staffed_street(infra)
    page = await log_in(browser, web, team.users["supervisor"], PHONE)
    await page.get_by_role("link", name="English").click()
    await page.goto(f"/units/{team.code}/dashboard")
    await page.get_by_role("heading", name=f"Dashboard: 测试街道{team.code}").wait_for()
    assert not await overflows(page)
    # Every label of every chart starts inside its chart (none is cut off at the left edge).
    lefts = await page.evaluate("""() => [...document.querySelectorAll('svg.chart text.label')]
        .map(t => t.getBBox().x)""")
    assert lefts and min(lefts) >= 0, lefts
    await page.context.close()
