"""What a child's page shows, composed from the use cases' reads: the file, its pairs, concerns and contacts."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.access import personal_view
from domain.errors import NotFound
from domain.helper import Helper
from domain.semester import Semester
from services.app import reads
from services.app.context import Context

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTACT_KINDS = ("home_visit", "talk", "teacher_contact", "guardian_contact", "letter", "parent_call",
                 "parent_letter")


def end_of_day(day: date) -> datetime:
    """The last moment of `day` where the work happens: "the file as it stood on that date"."""
    return datetime.combine(day + timedelta(days=1), time.min, SHANGHAI) - timedelta(microseconds=1)


def child_page(child_id: UUID, *, ctx: Context) -> dict[str, Any]:
    """The file now, with its active pairs, concerns and this semester's contacts against the quota."""
    file = reads.child_file(child_id, ctx=ctx)
    # child_file has just checked that the caller may see this child and logged the read; the
    # streams about the child only tell which pairs and concerns to show beside it.
    events = ctx.case_log.about(child_id)
    full = personal_view(ctx.role) == "full"
    return {
        "file": file,
        "pairs": [dict(pair, helper=_helper(ctx, pair["helper_id"], full)) for pair in active_pairs(events)],
        "concerns": concerns_of(events, show_text=full),
        "contacts": contacts_against_quota(file["visits"], ctx),
        "visits": sorted(file["visits"], key=lambda v: v["occurred_on"], reverse=True),
    }


def timeline(child_id: UUID, on: date | None, *, ctx: Context) -> dict[str, Any]:
    """The child's history, and the file as it stood at the end of `on` (None: before it existed)."""
    events = reads.child_history(child_id, ctx=ctx)
    cut = end_of_day(on) if on else None
    try:
        file = reads.child_file(child_id, ctx=ctx, as_of=cut) if cut else reads.child_file(child_id, ctx=ctx)
    except NotFound:
        file = None  # the child had no file yet on that date (the child itself was found above)
    for entry in events:
        entry["later"] = cut is not None and entry["recorded_at"] > cut
    return {"file": file, "events": events}


def active_pairs(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs formed and not ended, in the order formed."""
    pairs: dict[UUID, dict[str, Any]] = {}
    for entry in events:
        if entry["type"] == "shouwang:pair:formed":
            pairs[entry["stream"]] = {"id": entry["stream"], "helper_id": entry["data"]["helper_id"],
                                      "started_on": entry["occurred_on"]}
        elif entry["type"] == "shouwang:pair:ended":
            pairs.pop(entry["stream"], None)
    return list(pairs.values())


def concerns_of(events: list[dict[str, Any]], *, show_text: bool) -> list[dict[str, Any]]:
    """Each concern's state folded from its events, open ones first."""
    found: dict[UUID, dict[str, Any]] = {}
    for entry in events:
        kind, data = entry["type"], entry["data"]
        if not kind.startswith("shouwang:concern:"):
            continue
        if kind == "shouwang:concern:raised":
            found[entry["stream"]] = {
                "id": entry["stream"], "category": data["category"], "severity": data["severity"],
                "description": data.get("description") if show_text else None, "level": "community",
                "status": "open", "acknowledged": False, "raised_on": entry["occurred_on"]}
        concern = found.get(entry["stream"])
        if concern is None:
            continue
        concern["version"] = entry["version"]
        if kind == "shouwang:concern:acknowledged":
            concern["acknowledged"] = True
        elif kind == "shouwang:concern:escalated":
            concern.update(level=data["to_level"], acknowledged=False)
        elif kind == "shouwang:concern:resolved":
            concern["status"] = "resolved"
        elif kind == "shouwang:concern:reopened":
            concern["status"] = "open"
    return sorted(found.values(), key=lambda c: (c["status"] != "open", c["raised_on"]), reverse=False)


def contacts_against_quota(visits: list[dict[str, Any]], ctx: Context) -> dict[str, Any]:
    """This semester's contacts by kind against the tenant's quota (the "five ones" by default)."""
    semester = Semester.of(ctx.today)
    quota = ctx.directory.settings(ctx.case_log.tenant).contact_quota
    done = Counter(v["kind"] for v in visits if semester.contains(v["occurred_on"]))
    rows = [{"kind": kind, "done": done[kind], "quota": getattr(quota, kind),
             "met": done[kind] >= getattr(quota, kind)}
            for kind in CONTACT_KINDS if getattr(quota, kind) or done[kind]]
    return {"semester": str(semester), "rows": rows, "all_met": all(r["met"] for r in rows)}


def _helper(ctx: Context, helper_id: UUID, full: bool) -> dict[str, Any]:
    try:
        helper = ctx.case_log.load(Helper, helper_id)
    except NotFound:
        return {"id": helper_id, "name": None, "kind": None, "phone": None}
    return {"id": helper_id, "kind": helper.kind, "name": helper.name if full else None,
            "phone": helper.phone if full else None}

