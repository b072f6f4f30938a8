"""Browser fixtures: the app served by a real uvicorn process, and Debian's Chromium driven by Playwright.

The browser is the system's (`apt-get install chromium`, done by .ci/run); Playwright never
downloads one. Without /usr/bin/chromium these tests are skipped, saying why.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.identity import make_id_number
from domain.child import ChildDetails, Guardian
from infra.bootstrap import Infrastructure
from services.app import children, concerns, helpers, platform
from tests.conftest import Street, make_street, platform_ctx
from tests.e2e.conftest import today
from tests.serving import ROOT, serving
from tests.worker_fixtures import QUEUE

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "browser-test-pass"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1440, "height": 900}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests `browser`; skip them, saying why, on a machine without Debian's Chromium."""
    skip = pytest.mark.skip(reason="Debian's chromium is not installed at /usr/bin/chromium "
                                   "(CI installs it: apt-get install chromium)")
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@dataclass
class WebStreet:
    """A street with a user per role the pages are tested with."""

    street: Street
    users: dict[str, str]

    @property
    def code(self) -> str:
        return self.street.code

    def ctx(self, role: str, scope: str | None = None) -> Any:
        """A use-case context on the real clock: the server judges dates by it too."""
        return self.street.ctx(role, scope, now=datetime.now(UTC))


def staffed_street(infra: Infrastructure) -> WebStreet:
    """A fresh street with a grid worker, a street supervisor, a tenant admin and a district auditor."""
    street = make_street(infra)
    on_street = street.ctx("platform_admin")
    users = {}
    for role, scope, tenant in (("grid_worker", street.grid, street.code), ("supervisor", street.code, street.code),
                                ("tenant_admin", street.code, street.code), ("auditor", street.code[:6], None)):
        username = f"web_{role}.{street.code}"
        platform.create_user(username, PASSWORD, f"{role}{street.code[-3:]}", role, scope, tenant=tenant,
                             ctx=on_street if tenant else platform_ctx(infra))
        users[role] = username
    return WebStreet(street, users)


def id_number_for(birth: str, gender: str, serial: int) -> str:
    """A valid ID number (GB 11643 check digit) for a child born on `birth`."""
    from datetime import date

    return make_id_number("150902", date.fromisoformat(birth), serial, gender)


def wrong_check_digit(id_number: str) -> str:
    """The same number with another check digit."""
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


def populate(team: WebStreet) -> UUID:
    """A few children with helpers, contacts, a concern and aid, as a street would have; returns one child."""
    street, boss = team.street, team.ctx("supervisor")
    worker = team.ctx("grid_worker", street.grid)
    helper = helpers.enrol_helper("刘爱华", "caring_mother", "13900002222", street.community, ctx=boss).id
    names = ["李思远", "张雨桐", "陈子涵", "杨一诺", "黄嘉怡", "周浩然"]
    ids = []
    for n, name in enumerate(names):
        birth = today() - timedelta(days=(6 + n) * 365)
        gender = "F" if n % 2 else "M"
        ids.append(children.register_child(ChildDetails(
            name=name, gender=gender, birth_date=birth, grid=street.grid, reason="both_parents_away",
            id_number=id_number_for(birth.isoformat(), gender, 40 + n), school="集宁区第一小学",
            class_name=f"{n + 1}年级2班", address=f"白沙关村{n + 3}号",
            guardian=Guardian(name=name[0] + "奶奶", relation="paternal_grandparent", phone="13900001111")),
            ctx=worker).id)
    child = ids[0]
    helpers.form_pair(child, helper, today() - timedelta(days=20), ctx=boss)
    for kind in ("home_visit", "talk", "parent_call"):
        children.log_visit(child, kind, today() - timedelta(days=3), helper, "孩子状态良好", ctx=worker)
    concerns.raise_concern(child, "psychological", "high", "近期情绪低落，需要关注", ctx=worker)
    children.grant_aid(child, "supplies", 20000, "区妇联春蕾计划", today(), ctx=boss)
    return child


@pytest.fixture(scope="module")
async def web(infra: Infrastructure, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The base URL of the app served (with its projection workers) by a uvicorn process on a free port.

    Module-scoped: its workers project every tenant of the shared test database, so the process must
    be gone before tests that run or count projections of their own start.
    """
    data_dir = tmp_path_factory.mktemp("web")
    env = {**os.environ, "DATABASE_URL": database_url, "SHOUWANG_DATA_DIR": str(data_dir),
           "SHOUWANG_MASTER_KEY": base64.b64encode(infra.settings.master_key).decode(),
           # The server's worker takes tasks from a queue of this run's own (runs on one machine share its Redis).
           "SHOUWANG_CELERY_QUEUE": f"{QUEUE}-web"}
    command = lambda port: ["-c", "from infra.bootstrap import connect; from services.api.server import run; "  # noqa: E731
                                  f"run(connect(), host='127.0.0.1', port={port}, with_workers=True)"]
    async with serving(command, env, data_dir / "server.log") as server:
        yield server.base


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless; one instance per module (each test opens its own context)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def log_in(browser: Any, web: str, username: str, viewport: dict[str, int]) -> Any:
    """A page in a fresh browser context (its own cookies), logged in through the login form."""
    context = await browser.new_context(viewport=viewport, locale="zh-CN", base_url=web)
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/home")
    return page


async def unlabelled_inputs(page: Any) -> list[str]:
    """Names of the visible form controls on the page that no <label> describes."""
    return await page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)""")


async def overflows(page: Any) -> bool:
    """Whether the page scrolls sideways (a layout that breaks at this width)."""
    return await page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")


async def screenshot(page: Any, name: str) -> None:
    """Save the whole page to docs/screenshots/ for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
