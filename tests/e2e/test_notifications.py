"""The inbox and the reports over HTTP (in-process); live delivery is tested on a real server elsewhere."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from domain.quarter import last_day
from domain.semester import Semester
from infra.bootstrap import Infrastructure
from infra.projection_runner import catch_up
from infra.reports import flatten
from services.api.app import create_app
from services.worker.tasks import make_report
from tests.e2e.conftest import Team, assert_problem, new_team, pair, register
from tests.worker_fixtures import celery_worker  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
async def api(infra: Infrastructure) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(infra)) as client:
        yield client


@pytest.fixture(scope="module")
async def told(api: AsyncTestClient, infra: Infrastructure) -> dict[str, Any]:
    """A street of its own where an urgent concern was raised and a medium one escalated to the district."""
    team = await new_team(infra)
    child = await register(api, team)
    await pair(api, team, child)
    urgent = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
        "child_id": str(child), "category": "abuse", "severity": "urgent", "description": "身上有伤"})
    medium = await api.post(team.url("/concerns"), headers=team.as_("grid_worker"), json={
        "child_id": str(child), "category": "safety", "severity": "medium", "description": "独自在家"})
    for reason in ("社区无法处理", "街道无法处理"):
        answer = await api.post(team.url(f"/concerns/{medium.json()['id']}/escalate"), json={"reason": reason},
                                headers=team.as_("supervisor"))
        assert answer.status_code == 200, answer.text
    catch_up(infra, team.code)
    return {"team": team, "child": child, "urgent": urgent.json()["id"], "medium": medium.json()["id"]}


async def inbox(api: AsyncTestClient, team: Team, who: str, query: str = "") -> dict[str, Any]:
    answer = await api.get(f"/api/v1/notifications{query}", headers=team.as_(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_street_supervisor_reads_its_notices_in_order_and_after_an_id(api, told):
    team = told["team"]
    mine = await inbox(api, team, "supervisor")

    assert [(n["kind"], n["concern_id"], n["level"]) for n in mine["items"]] == [
        ("concern_raised", told["urgent"], "community"), ("concern_escalated", told["medium"], "street")]
    first = mine["items"][0]
    assert first == {"id": first["id"], "kind": "concern_raised", "tenant": team.code, "unit": team.street.community,
                     "concern_id": told["urgent"], "child_id": str(told["child"]), "severity": "urgent",
                     "level": "community", "created_at": first["created_at"], "read": False}
    after = await inbox(api, team, "supervisor", f"?after={first['id']}")
    assert [n["id"] for n in after["items"]] == [mine["items"][1]["id"]]
    assert (await inbox(api, team, "supervisor", f"?after={mine['last_id']}"))["items"] == []


async def test_a_district_officer_is_told_of_escalations_to_its_district_without_the_child(api, told):
    team = told["team"]
    (notice,) = (await inbox(api, team, "district_officer"))["items"]

    assert (notice["kind"], notice["tenant"], notice["unit"], notice["level"], notice["concern_id"]) == (
        "concern_escalated", team.code, team.code[:6], "district", told["medium"])
    assert "child_id" not in notice
    assert (await inbox(api, team, "far_officer"))["items"] == []


@pytest.mark.parametrize("who", ["outside_supervisor", "grid_worker", "stranger", "auditor", "platform_admin"])
async def test_nobody_else_is_told(api, told, who):
    assert (await inbox(api, told["team"], who))["items"] == []


async def test_marking_read_touches_only_the_callers_own_notice(api, told):
    team = told["team"]
    notice = (await inbox(api, team, "supervisor"))["items"][0]

    assert_problem(await api.post(f"/api/v1/notifications/{notice['id']}/read", headers=team.as_("stranger")), 404)
    assert_problem(await api.post(f"/api/v1/notifications/{notice['id']}/read", headers=team.as_("tenant_admin")), 404)
    answer = await api.post(f"/api/v1/notifications/{notice['id']}/read", headers=team.as_("supervisor"))
    assert answer.status_code == 200, answer.text
    assert (await inbox(api, team, "supervisor"))["items"][0]["read"] is True
    assert_problem(await api.get("/api/v1/notifications"), 401)
    assert_problem(await api.get("/api/v1/notifications/stream"), 401)
    assert_problem(await api.get("/api/v1/notifications/stream?token=forged"), 401)


async def test_a_quarterly_report_opens_in_openpyxl_and_its_numbers_are_the_dashboards(api, told, celery_worker):
    team = told["team"]
    period = "2026-Q4"
    semester = str(Semester.of(last_day(period)))
    for code in (team.code, team.code[:6]):
        assert make_report.delay(code, period).get(timeout=60)["semester"] == semester

        listed = await api.get(f"/api/v1/units/{code}/reports", headers=team.as_("district_officer"))
        assert listed.status_code == 200, listed.text
        (report,) = [r for r in listed.json()["items"] if r["period"] == period]
        download = await api.get(report["url"], headers=team.as_("district_officer"))
        assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = openpyxl.load_workbook(io.BytesIO(download.content))
        figures = {row[0]: row[2] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
        board = await api.get(f"/api/v1/units/{code}/dashboard?semester={semester}",
                             headers=team.as_("district_officer"))
        assert board.status_code == 200, board.text

        assert flatten(board.json()).items() <= figures.items()
        assert (figures["unit"], figures["period"], figures["semester"]) == (code, period, semester)
        header, *rows = book["下级单位"].iter_rows(values_only=True)
        assert [dict(zip(header, row))["children_open"] for row in rows] == [
            c["children_open"] for c in board.json()["children_by_child_unit"]]


async def test_reports_are_kept_from_those_outside_the_unit(api, told):
    team = told["team"]
    assert_problem(await api.get(f"/api/v1/units/{team.code}/reports", headers=team.as_("far_officer")), 404)
    assert_problem(await api.get(f"/api/v1/units/{team.code}/reports", headers=team.as_("helper")), 403)
    assert_problem(await api.get(f"/api/v1/units/{team.code}/reports/2026-Q4", headers=team.as_("stranger")), 404)
