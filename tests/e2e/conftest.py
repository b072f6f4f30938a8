"""HTTP fixtures: an in-process client of the app, and streets staffed with a user of every role."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from domain.identity import make_id_number
from infra.bootstrap import Infrastructure
from services.api.app import create_app
from services.app import helpers, platform
from tests.conftest import Street, make_street, platform_ctx

PASSWORD = "correct horse battery"
_people = itertools.count(1)


def today() -> date:
    """Today where the work happens (the API judges dates by the real clock, in Asia/Shanghai)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


def child_body(grid: str, **overrides: Any) -> dict[str, Any]:
    """A valid registration body: a nine-year-old girl living with her grandmother."""
    n = next(_people)
    born = date.fromisoformat(overrides.get("birth_date", "2017-05-12"))
    gender = overrides.get("gender", "F")
    body: dict[str, Any] = {
        "name": f"李小明{n:05d}", "gender": gender, "birth_date": born.isoformat(),
        "id_number": make_id_number("150902", born, n % 500, gender), "grid": grid,
        "school": "集宁区第一小学", "class_name": "三年级二班", "address": f"白沙关村{n}号",
        "reason": "both_parents_away",
        "parents": [{"relation": "father", "name": "王建国", "work_place": "广东省东莞市", "phone": "13800001111"},
                    {"relation": "mother", "name": "张丽", "work_place": "浙江省宁波市", "phone": "13700001111"}],
        "guardian": {"name": "李桂兰", "relation": "paternal_grandparent", "phone": "13900001111",
                     "birth_year": 1958, "health": "高血压"},
    }
    body.update(overrides)
    return body


@dataclass
class Team:
    """A street with a logged-in user per role, plus callers who must not see into it."""

    street: Street
    helper_id: UUID
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.street.code

    def url(self, path: str) -> str:
        return f"/api/v1/t/{self.street.code}{path}"

    def as_(self, who: str, **extra: str) -> dict[str, str]:
        return {**self.headers[who], **extra}


def _staff(infra: Infrastructure, street: Street, far: Street) -> tuple[UUID, dict[str, tuple[str, str]]]:
    """Create the users of a team through the platform use cases; return the helper's id and who is who."""
    admin = platform_ctx(infra)
    # A platform admin acting on a tenant works in that tenant's context (as over HTTP).
    on = {street.code: street.ctx("platform_admin"), far.code: far.ctx("platform_admin"), None: admin}
    helper = helpers.enrol_helper("刘爱华", "caring_mother", "13900002222", street.community,
                                  ctx=street.ctx("supervisor"))
    community2 = street.code + "002"
    people: dict[str, tuple[str, str | None, str | None]] = {
        "tenant_admin": ("tenant_admin", street.code, street.code),
        "supervisor": ("supervisor", street.code, street.code),
        "grid_worker": ("grid_worker", street.grid, street.code),
        "helper": ("helper", street.community, street.code),
        "district_officer": ("district_officer", street.code[:6], None),
        "auditor": ("auditor", street.code[:6], None),
        "platform_admin": ("platform_admin", None, None),
        "outside_supervisor": ("supervisor", community2, street.code),
        "outside_worker": ("grid_worker", street.other_grid, street.code),
        "outside_admin": ("tenant_admin", community2, street.code),
        "stranger": ("tenant_admin", far.code, far.code),
        "far_officer": ("district_officer", far.code[:6], None),
    }
    usernames = {}
    for who, (role, scope, tenant) in people.items():
        username = f"{who}.{street.code}"
        platform.create_user(username, PASSWORD, who, role, scope, tenant=tenant,  # type: ignore[arg-type]
                             helper_id=helper.id if role == "helper" else None, ctx=on[tenant])
        usernames[who] = (username, role)
    return helper.id, usernames


async def login(api: AsyncTestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await api.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def new_team(infra: Infrastructure) -> Team:
    """A fresh street (in district 150902) with every role logged in, and a street of another district."""
    street, far = make_street(infra), make_street(infra, district="150981")
    helper_id, usernames = _staff(infra, street, far)
    team = Team(street=street, helper_id=helper_id)
    async with AsyncTestClient(app=create_app(infra)) as api:
        for who, (username, _) in usernames.items():
            answer = await login(api, username)
            team.headers[who] = {"Authorization": f"Bearer {answer['access_token']}"}
            team.users[who] = answer["user"]
    return team


@pytest.fixture
async def api(infra: Infrastructure) -> AsyncIterator[AsyncTestClient]:
    """A client of a fresh app (its own login throttle) on the session's database."""
    async with AsyncTestClient(app=create_app(infra)) as client:
        yield client


@pytest.fixture(scope="session")
async def team(infra: Infrastructure) -> Team:
    """One staffed street shared by the tests that only add their own children and concerns to it."""
    return await new_team(infra)


@pytest.fixture
async def fresh_team(infra: Infrastructure) -> Team:
    """A staffed street of its own, for tests that change settings or count what a street holds."""
    return await new_team(infra)


async def register(api: AsyncTestClient, team: Team, who: str = "grid_worker", **overrides: Any) -> UUID:
    """Register a child in the team's grid over HTTP; return its id."""
    response = await api.post(team.url("/children"), json=child_body(team.street.grid, **overrides),
                              headers=team.as_(who))
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def pair(api: AsyncTestClient, team: Team, child_id: UUID) -> UUID:
    """Pair the team's helper with a child; return the pair's id."""
    response = await api.post(team.url("/pairs"), headers=team.as_("supervisor"), json={
        "child_id": str(child_id), "helper_id": str(team.helper_id), "started_on": days_ago(30)})
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is a problem document with this status, naming exactly these fields (if any given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"] and problem["type"]
    assert "Traceback" not in response.text
    if fields:
        assert sorted({e["field"] for e in problem["errors"]}) == sorted(fields), problem["errors"]
    return problem
