"""Reports of a unit (quarterly, or on demand): its dashboard, written as an .xlsx and kept in `rollup.reports`.

The numbers are the dashboard's own (`infra.dashboard_reads.dashboard`, the read behind
`GET /units/{code}/dashboard`), flattened to one row per figure: column A names it as the API does
(`paired.pct`, `concerns_open.urgent`), B says it in Chinese, C holds it. A second sheet lists
the child units. No personal data is in a report: dashboards hold none.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
from eventsourcing.postgres import PostgresDatastore
from openpyxl import Workbook

from domain.quarter import is_quarter, last_day, previous_quarter
from domain.semester import Semester
from domain.units import level_of
from infra import dashboard_reads
from infra.read_models import create_read_pool

if TYPE_CHECKING:
    from infra.bootstrap import Infrastructure

__all__ = ["SHANGHAI", "build", "flatten", "list_reports", "previous_quarter", "read_report", "reporting_units",
           "semester_of_period", "store"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LABELS = {
    "children_open": "在册儿童", "children_closed": "已销档儿童", "paired": "结对帮扶", "contacts": "走访联系",
    "concerns_open": "未解决关注事项", "concerns_open_by_level": "各级未解决关注事项", "concerns_overdue": "逾期未确认",
    "aid_fen": "帮扶金额（分）", "by_reason": "留守原因", "count": "人数", "pct": "比例（%）", "done": "已完成",
    "all_done": "全部完成", "all_done_pct": "全部完成比例（%）",
    "home_visit": "家访", "talk": "谈心", "teacher_contact": "联系班主任", "guardian_contact": "联系监护人",
    "letter": "书信", "parent_call": "亲情电话", "parent_letter": "两地书", "low": "一般", "medium": "较重",
    "high": "严重", "urgent": "紧急", "community": "社区", "street": "街道", "district": "区县",
    "contacts_by_month": "每月走访次数",
    "both_parents_away": "父母均外出", "one_parent_away_other_unable": "一方外出、另一方无监护能力",
}
CHILD_UNIT_COLUMNS = ("unit", "name", "level", "children_open", "children_closed", "paired.count", "paired.pct",
                      "all_done_pct", "concerns_open", "concerns_overdue", "aid_fen")
_ABOUT = ("unit", "level", "semester", "children_by_child_unit")


def semester_of_period(period: str, at: datetime) -> str:
    """A quarter's semester is the one its last day falls in; any other period's, the one of `at`."""
    day = last_day(period) if is_quarter(period) else at.astimezone(SHANGHAI).date()
    return str(Semester.of(day))


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A dashboard's figures as `dotted.key → number`, in the dashboard's own order."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if not prefix and key in _ABOUT:
            continue
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return flat


def _label(key: str) -> str:
    return " / ".join(LABELS.get(part, part) for part in key.split("."))


async def _dashboard(database_url: str, unit: str, semester: str, at: datetime) -> dict[str, Any]:
    pool = await create_read_pool(database_url, min_size=1, max_size=1)
    try:
        return await dashboard_reads.dashboard(pool, unit, level_of(unit), semester, now=at, months=True)
    finally:
        await pool.close()


def build(infra: Infrastructure, unit: str, period: str, semester: str, at: datetime) -> bytes:
    """The .xlsx report of a unit for a period: its dashboard for `semester`, as read at `at`."""
    board = asyncio.run(_dashboard(infra.database_url, unit, semester, at))
    known = infra.directory.unit(unit)
    book = Workbook()
    sheet = book.active
    sheet.title = "汇总"
    sheet.append(["守望 · 留守儿童关爱工作报表"])
    for key, value in (("unit", unit), ("name", known.name if known else ""), ("level", board["level"]),
                       ("period", period), ("semester", semester),
                       ("generated_at", at.astimezone(SHANGHAI).isoformat(timespec="seconds"))):
        sheet.append([key, {"unit": "单位代码", "name": "单位名称", "level": "级别", "period": "报告期",
                            "semester": "学期", "generated_at": "生成时间"}[key], value])
    sheet.append([])
    sheet.append(["figure", "指标", "value"])
    for key, value in flatten(board).items():
        sheet.append([key, _label(key), value])
    parts = book.create_sheet("下级单位")
    parts.append(list(CHILD_UNIT_COLUMNS))
    for part in board["children_by_child_unit"]:
        flat = flatten(part)
        parts.append([part.get(c) if c in part else flat.get(c) for c in CHILD_UNIT_COLUMNS])
    for column, width in (("A", 34), ("B", 30), ("C", 22)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def store(datastore: PostgresDatastore, unit: str, period: str, semester: str, content: bytes) -> None:
    """Keep a report, replacing an earlier one of the same unit and period (a task may run twice)."""
    with datastore.get_connection() as conn:
        conn.execute("INSERT INTO rollup.reports (unit, period, semester, content) VALUES (%s, %s, %s, %s)"
                     " ON CONFLICT (unit, period) DO UPDATE SET semester = excluded.semester,"
                     " content = excluded.content, created_at = now()", [unit, period, semester, content])


def reporting_units(datastore: PostgresDatastore) -> list[str]:
    """Every street and district: the units that send a report up each quarter."""
    with datastore.get_connection() as conn:
        rows = conn.execute("SELECT code FROM platform.units WHERE level IN ('district', 'street') ORDER BY code")
        return [r["code"] for r in rows.fetchall()]


async def list_reports(pool: asyncpg.Pool, unit: str) -> list[dict[str, Any]]:
    """A unit's reports, the latest period first, without their content."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT period, semester, created_at, length(content) AS bytes FROM rollup.reports"
                                " WHERE unit = $1 ORDER BY period DESC", unit)
    return [dict(r) for r in rows]


async def read_report(pool: asyncpg.Pool, unit: str, period: str) -> bytes | None:
    """The .xlsx of one report, or None."""
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT content FROM rollup.reports WHERE unit = $1 AND period = $2", unit, period)
