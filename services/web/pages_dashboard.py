"""A unit's dashboard page: the API's dashboard read, drawn as inline SVG charts and plain tables.

Same guard as `GET /api/v1/units/{code}/dashboard` (`unit_guard`: outside the caller's scope is
404, a role without dashboards 403), same read (`services.api.dashboards.unit_dashboard`), so the
page always shows the API's numbers. Each child unit links to its own dashboard (drill-down).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from domain.semester import Semester
from projections.dashboard import CONCERN_LEVELS, SEVERITIES
from services.api.dashboards import Dashboard, semester_of, unit_dashboard, unit_guard
from services.api.security import Ctx
from services.app.context import Context
from services.web import charts
from services.web.rendering import Page, page
from services.web.session import session_guard

SEMESTERS_BACK = 3  # how many earlier semesters the selector offers


def _earlier(term: Semester) -> Semester:
    return Semester(term.year, "spring") if term.term == "autumn" else Semester(term.year - 1, "autumn")


def semester_choices(current: Semester, shown: str) -> list[str]:
    """The current semester and a few before it, plus the one shown if it is older."""
    terms = [current]
    for _ in range(SEMESTERS_BACK):
        terms.append(_earlier(terms[-1]))
    keys = [str(t) for t in terms]
    return keys if shown in keys else [*keys, shown]


def _trail(ctx: Context, code: str) -> list[Any]:
    """The units from the caller's scope down to `code` (only those the caller may open)."""
    lengths = [n for n in (6, 9, 12) if n < len(code)] + [len(code)]
    return [u for n in lengths if ctx.in_scope(code[:n]) and (u := ctx.directory.unit(code[:n])) is not None]


def _charts(board: Dashboard, p: Page) -> dict[str, charts.Chart]:
    contacts = [(p.label("contact", kind), figures["pct"], f"{figures['pct']}%", "")
                for kind, figures in board.contacts.items() if isinstance(figures, dict)]
    contacts.append((p.t("dash.all_done"), board.contacts["all_done_pct"], f"{board.contacts['all_done_pct']}%",
                     "all"))
    unpaired = max(board.children_open - board.paired.count, 0)
    return {
        "contacts": charts.bars(contacts, top=100),
        "paired": charts.bars([(p.t("dash.paired"), board.paired.count, str(board.paired.count), "ok"),
                               (p.t("dash.unpaired"), unpaired, str(unpaired), "muted")]),
        "severity": charts.bars([(p.label("severity", s), board.concerns_open[s], str(board.concerns_open[s]), s)
                                 for s in reversed(SEVERITIES)]),
        "level": charts.bars([(p.label("level", lv), board.concerns_open_by_level[lv],
                               str(board.concerns_open_by_level[lv]), "") for lv in CONCERN_LEVELS]),
        "months": charts.columns([(p.month(month), n, str(n)) for month, n in board.contacts_by_month.items()]),
    }


@get("/units/{code:str}/dashboard", guards=[session_guard, unit_guard])
async def dashboard_page(request: Request[Any, Any, Any], ctx: Ctx, state: State, code: FromPath[str],
                         semester: FromQuery[str | None] = None) -> Template:
    """The dashboard of a unit in the caller's scope, for a semester (default: the current one)."""
    term = semester_of(semester, ctx.now)
    board = await unit_dashboard(state.read_pool, code, term, now=ctx.now, months=True)
    trail = await anyio.to_thread.run_sync(_trail, ctx, code)
    current = Semester.parse(semester_of(None, ctx.now))
    return page(request, "dashboard.html", board=board, unit=trail[-1], trail=trail[:-1],
                semesters=semester_choices(current, term), charts=_charts(board, Page(request)),
                kinds=[k for k, v in board.contacts.items() if isinstance(v, dict)])
