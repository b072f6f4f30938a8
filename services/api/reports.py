"""A unit's reports over HTTP: list them, download one (.xlsx), or ask for one now (made by a worker).

Same guard as the unit's dashboard (`services.api.dashboards.unit_guard`): a unit outside the
caller's scope is 404; helpers and platform administrators get none (403).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from msgspec import Struct

from infra import reports
from services.api.dashboards import unit_guard
from services.api.errors import READ_PROBLEMS


class Report(Struct):
    period: str
    semester: str
    created_at: datetime
    bytes: int
    url: str


class ReportList(Struct):
    items: list[Report]


class ReportRequested(Struct):
    period: str
    status: str
    url: str


def _url(code: str, period: str) -> str:
    return f"/api/v1/units/{code}/reports/{period}"


class ReportController(Controller):
    path = "/api/v1/units/{code:str}/reports"
    tags = ["reports"]
    guards = [unit_guard]

    @get("/", responses=READ_PROBLEMS)
    async def list_(self, code: FromPath[str], state: State) -> ReportList:
        """The unit's reports (quarterly `YYYY-Qn`, and any asked for), latest period first."""
        rows = await reports.list_reports(state.read_pool, code)
        return ReportList([Report(**r, url=_url(code, r["period"])) for r in rows])

    @get("/{period:str}", responses=READ_PROBLEMS, media_type=reports.XLSX)
    async def download(self, code: FromPath[str], period: FromPath[str], state: State) -> Response[bytes]:
        """One report as an .xlsx workbook."""
        content = await reports.read_report(state.read_pool, code, period)
        if content is None:
            raise NotFoundException("not found")
        return Response(content, media_type=reports.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="shouwang-{code}-{period}.xlsx"'})

    @post("/", status_code=202, responses=READ_PROBLEMS)
    async def request_now(self, code: FromPath[str]) -> Response[ReportRequested]:
        """Ask for the unit's report as of now; a worker makes it, fetched from `Location` once ready."""
        from services.worker.tasks import make_report

        now = datetime.now(UTC)
        period = now.astimezone(reports.SHANGHAI).strftime("%Y-%m-%dT%H%M%S")
        make_report.delay(code, period, None, now.isoformat())
        url = _url(code, period)
        return Response(ReportRequested(period, "queued", url), status_code=202, headers={"Location": url})


ROUTES: list[Any] = [ReportController]
