"""The web pages in a real browser: a grid worker on a phone, an auditor at a desk, and every main page's layout."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID

import psycopg

from domain.child import ChildDetails, Guardian
from infra.bootstrap import Infrastructure
from infra.bundle import verify_bundle
from infra.migrations import schema_for
from services.app import children, concerns, helpers
from tests.browser.conftest import (
    DESKTOP, PHONE, id_number_for, log_in, overflows, populate, screenshot, staffed_street, unlabelled_inputs,
    wrong_check_digit,
)
from tests.e2e.conftest import today


async def test_a_grid_worker_on_a_phone_registers_a_child_fixes_the_id_number_and_logs_a_home_visit(
        infra, web, browser):
    team = staffed_street(infra)
    page = await log_in(browser, web, team.users["grid_worker"], PHONE)
    await page.get_by_role("link", name="登记儿童").first.click()

    good_id = id_number_for("2017-05-12", "F", 7)
    await page.get_by_label("姓名").first.fill("王小雨")
    await page.get_by_label("性别").select_option("F")
    await page.get_by_label("出生日期").fill("2017-05-12")
    await page.get_by_label("身份证号").fill(wrong_check_digit(good_id))
    await page.get_by_label("留守原因").select_option("both_parents_away")
    await page.get_by_label("监护人姓名").fill("王奶奶")
    await page.get_by_label("与儿童关系").select_option("paternal_grandparent")
    await page.get_by_role("button", name="提交登记").click()

    id_field = page.locator("#f-id_number")
    error = page.locator("#err-id_number")
    assert await error.inner_text() == "身份证号校验位不正确"
    assert await id_field.get_attribute("aria-describedby") == "err-id_number"
    assert await id_field.get_attribute("aria-invalid") == "true"
    field_box, error_box = await id_field.bounding_box(), await error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40, "the error sits right below the field"
    assert await page.get_by_label("姓名").first.input_value() == "王小雨", "what was typed is kept"
    assert not await overflows(page)
    await screenshot(page, "register-error-phone")

    await id_field.fill(good_id)
    await page.get_by_role("button", name="提交登记").click()
    await page.get_by_text("登记成功。").wait_for()
    home_visits = page.locator("[data-testid=contacts] tr[data-kind=home_visit] td").first
    assert await home_visits.inner_text() == "0"

    await page.get_by_role("link", name="记录走访").click()
    assert await page.get_by_label("走访方式").input_value() == "home_visit"
    assert await page.get_by_label("走访日期").input_value() == today().isoformat()
    await page.get_by_label("情况记录").fill("奶奶身体尚好，孩子作业按时完成")
    await page.get_by_role("button", name="保存").click()

    await page.get_by_text("走访已记录。").wait_for()
    assert await home_visits.inner_text() == "1"
    assert "已达标" in await page.locator("[data-testid=contacts] tr[data-kind=home_visit]").inner_text()
    assert "奶奶身体尚好" in await page.locator("#contacts").inner_text()
    assert not await overflows(page)
    await screenshot(page, "child-after-visit-phone")
    await page.context.close()


def _age_registration(infra: Infrastructure, tenant: str, child_id: UUID, days: int) -> None:
    """Make a registration look recorded `days` ago: the log cannot be written in the past, so a test
    rewrites the recording time with the append-only trigger off (the chain will rightly fail to verify)."""
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"UPDATE {schema_for(tenant)}.events SET recorded_at = recorded_at - make_interval(days => %s)"
                     " WHERE originator_id = %s AND originator_version = 1", [days, child_id])


async def test_an_auditor_picks_an_earlier_date_on_the_timeline_and_sees_the_earlier_school(infra, web, browser):
    team = staffed_street(infra)
    worker = team.ctx("grid_worker", team.street.grid)
    child_id = children.register_child(ChildDetails(
        name="赵小满", gender="M", birth_date=today() - timedelta(days=9 * 365), grid=team.street.grid,
        reason="both_parents_away", school="白沙关小学", guardian=Guardian(name="赵爷爷", relation="paternal_grandparent"),
    ), ctx=worker).id
    _age_registration(infra, team.code, child_id, days=30)
    children.correct_child(child_id, {"school": "民安小学"}, "转学", ctx=worker)

    page = await log_in(browser, web, team.users["auditor"], DESKTOP)
    await page.goto(f"/t/{team.code}/children/{child_id}")
    await page.get_by_role("link", name="档案历史").click()
    school = page.locator("#asof [data-testid=school]")
    assert await school.inner_text() == "民安小学"

    earlier = today() - timedelta(days=10)
    await page.get_by_label("查看哪一天的档案").fill(earlier.isoformat())
    await page.get_by_role("button", name="查看").click()
    await page.get_by_role("heading", name=f"{earlier.isoformat()} 当日的档案").wait_for()
    assert await school.inner_text() == "白沙关小学"
    assert await page.locator(".timeline li").count() == 2
    assert await page.locator(".timeline li.later").count() == 1, "the correction is marked as after that date"
    assert not await overflows(page)
    await screenshot(page, "history-as-of-desktop")

    await page.get_by_label("查看哪一天的档案").fill((today() - timedelta(days=40)).isoformat())
    await page.get_by_role("button", name="查看").click()
    await page.get_by_text("该日期时此儿童尚未建档。").wait_for()

    await page.goto(f"/t/{team.code}/audit/verify")
    assert "被改动" in await page.locator("[data-testid=verification]").inner_text(), "the rewritten time is caught"
    await page.context.close()


async def test_the_main_pages_have_labels_and_fit_a_phone_and_a_desktop(infra, web, browser):
    team = staffed_street(infra)
    child = populate(team)
    base = f"/t/{team.code}"
    pages = {"home": "/home", "children": f"{base}/children", "child": f"{base}/children/{child}",
             "register": f"{base}/children/new", "visit": f"{base}/children/{child}/visits/new",
             "concern-new": f"{base}/children/{child}/concerns/new", "pair": f"{base}/children/{child}/pairs/new",
             "history": f"{base}/children/{child}/history"}
    for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await log_in(browser, web, team.users["supervisor"], viewport)
        for name, path in pages.items():
            response = await page.goto(path)
            assert response.status == 200, (path, await page.content())
            assert await unlabelled_inputs(page) == [], path
            assert not await overflows(page), f"{path} scrolls sideways at {viewport['width']} px"
            if name in ("children", "child", "register", "history", "home"):
                await screenshot(page, f"{name}-{size_name}")
        await page.goto(pages["child"])
        await page.get_by_role("link", name="高").first.click()  # the concern, from the child's page
        await page.get_by_role("heading", name="高 心理困扰").wait_for()
        await screenshot(page, f"concern-{size_name}")
        await page.context.close()

    auditor = await log_in(browser, web, team.users["auditor"], DESKTOP)
    await auditor.goto(f"{base}/audit/verify")
    assert "日志完整" in await auditor.locator("[data-testid=verification]").inner_text()
    await auditor.goto(f"{base}/audit/access-log?child_id={child}")
    assert team.users["supervisor"] in await auditor.locator("table.log").inner_text()
    assert await unlabelled_inputs(auditor) == []
    await screenshot(auditor, "audit-desktop")
    async with auditor.expect_download() as download:
        await auditor.goto(f"{base}/children/{child}")
        await auditor.get_by_role("link", name="导出审计包").click()
    assert (await download.value).suggested_filename == f"shouwang-{team.code}-{child}.json"
    await auditor.context.close()


async def test_the_login_works_from_the_keyboard_and_the_pages_switch_to_english(infra, web, browser):
    team = staffed_street(infra)
    context = await browser.new_context(viewport=PHONE, base_url=web)
    page = await context.new_page()
    await page.goto("/")
    await screenshot(page, "login-phone")
    await page.keyboard.type(team.users["grid_worker"])  # the username field has the focus
    await page.keyboard.press("Tab")
    await page.keyboard.type("wrong password")
    await page.keyboard.press("Enter")
    await page.get_by_text("用户名或密码错误").wait_for()
    await page.get_by_label("密码").fill("browser-test-pass")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/home")

    await page.get_by_role("link", name="English").click()
    await page.get_by_role("link", name="Register a child").first.wait_for()
    await page.get_by_role("link", name="中文").click()
    await page.get_by_role("link", name="登记儿童").first.wait_for()

    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url("**/login")
    await page.goto(f"/t/{team.code}/children")
    assert "/login?next=" in page.url, "without a session the pages ask to log in"
    await context.close()


async def test_a_supervisor_acknowledges_escalates_and_resolves_a_concern_and_pairs_a_helper(infra, web, browser):
    team = staffed_street(infra)
    worker, boss = team.ctx("grid_worker", team.street.grid), team.ctx("supervisor")
    birth = today() - timedelta(days=8 * 365)
    child = children.register_child(ChildDetails(
        name="孙小禾", gender="F", birth_date=birth, grid=team.street.grid, reason="both_parents_away",
        guardian=Guardian(name="孙外婆", relation="maternal_grandparent")), ctx=worker).id
    helpers.enrol_helper("周爱琴", "caring_mother", "13900003333", team.street.community, ctx=boss)
    concerns.raise_concern(child, "safety", "urgent", "放学后独自在家", ctx=worker)

    page = await log_in(browser, web, team.users["supervisor"], PHONE)
    await page.goto(f"/t/{team.code}/children/{child}")
    await page.get_by_role("link", name="紧急").click()
    await page.get_by_role("button", name="确认收到").click()
    await page.get_by_text("已确认。").wait_for()

    await page.get_by_role("button", name="上报上级").click()  # without the reason the form asks for
    assert await page.locator("#err-reason").inner_text() == "此项为必填项"
    await page.get_by_label("上报原因").fill("需要街道协调民政")
    await page.get_by_role("button", name="上报上级").click()
    await page.get_by_text("已上报上级。").wait_for()
    assert "街道" in await page.locator(".facts").inner_text()

    await page.get_by_label("处理结果").fill("已安排托管")
    await page.get_by_role("button", name="办结").click()
    await page.get_by_text("已办结。").wait_for()
    assert "已解决" in await page.locator(".facts").inner_text()

    await page.goto(f"/t/{team.code}/children/{child}")
    await page.get_by_role("link", name="结对帮扶").click()
    await page.get_by_label("帮扶人").select_option(label="周爱琴 · 爱心妈妈")
    await page.get_by_role("button", name="结对", exact=True).click()
    await page.get_by_text("结对成功。").wait_for()
    assert "周爱琴" in await page.locator("#helpers").inner_text()

    await page.get_by_role("link", name="结束结对").click()
    await page.get_by_label("结束原因").fill("帮扶人工作调动")
    await page.get_by_role("button", name="结束结对").click()
    await page.get_by_text("结对已结束。").wait_for()
    assert "尚未结对" in await page.locator("#helpers").inner_text()
    assert not await overflows(page)
    await page.context.close()


async def test_a_closed_files_page_and_timeline_say_its_pair_ended_because_the_file_closed(infra, web, browser):
    team = staffed_street(infra)
    child = populate(team)  # paired with a caring mother
    children.close_child(child, "parent_returned", "父亲返乡", ctx=team.ctx("supervisor"))

    page = await log_in(browser, web, team.users["supervisor"], PHONE)
    await page.goto(f"/t/{team.code}/children/{child}")
    helpers_card = await page.locator("#helpers").inner_text()
    assert "档案已关闭，没有进行中的结对" in helpers_card and "尚未结对" not in helpers_card
    assert await page.get_by_role("link", name="结对帮扶").count() == 0, "a closed file offers no pairing"
    await page.get_by_role("link", name="档案历史").click()
    ended = page.locator(".timeline li", has_text="结束结对")
    assert "儿童档案已关闭" in await ended.inner_text()
    assert await page.locator(".timeline li", has_text="结案").count() == 1
    assert not await overflows(page)
    await page.context.close()


async def test_an_auditor_exports_the_whole_street_in_the_background_and_downloads_a_bundle_that_verifies(
        infra, web, browser, tmp_path):
    team = staffed_street(infra)
    child = populate(team)
    auditor = await log_in(browser, web, team.users["auditor"], DESKTOP)
    await auditor.goto(f"/t/{team.code}/audit")
    await auditor.get_by_role("button", name="下载").click()  # no child id: the whole street
    job = auditor.locator("[data-testid=export-job]")
    await job.get_by_text("审计包已生成").wait_for(timeout=30_000)  # the page looks again by itself
    async with auditor.expect_download() as download:
        await job.get_by_role("link", name="下载").click()
    saved = tmp_path / (await download.value).suggested_filename
    await (await download.value).save_as(saved)
    assert saved.name.startswith(f"shouwang-{team.code}-tenant-")
    bundle = json.loads(saved.read_bytes())
    assert verify_bundle(bundle)["ok"]
    assert str(child) in {link["event"]["subject_id"] for link in bundle["links"] if "event" in link}
    await auditor.goto(f"/t/{team.code}/audit/access-log?child_id={child}")
    assert "/download" in await auditor.locator("table.log").inner_text()
    await auditor.context.close()
