"""Reading a child's file from its log: now, at a version, as of a moment, and its history.

Personal fields are shown by role (domain.access.personal_view): all of them, a helper's
share (name, gender, school, class, guardian's name and phone), or none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.access import personal_view
from domain.child import Child
from domain.errors import NotFound
from services.app.common import load_child
from services.app.context import Context

HELPER_HIDES = ("id_number", "address", "parents")
PERSONAL_FIELDS = ("name", "id_number", "address", "guardian", "parents")


def child_file(child_id: UUID, *, ctx: Context, version: int | None = None,
               as_of: datetime | None = None) -> dict[str, Any]:
    """The child's file as it stands, or as it stood at `version` or at the moment `as_of`."""
    ctx.require("read_child")
    if as_of is not None:
        version = ctx.case_log.version_at(child_id, as_of)
        if version is None:
            raise NotFound("not found")
    child = load_child(ctx, child_id, version=version)
    _note_access(ctx, child_id)
    return shown_to(ctx.role, file_of(child))


def _note_access(ctx: Context, child_id: UUID) -> None:
    """Every read that shows personal data is itself recorded: who, which child, through what."""
    if personal_view(ctx.role) != "none":
        ctx.case_log.record_access(ctx.actor, ctx.role, child_id, ctx.via)


def file_of(child: Child) -> dict[str, Any]:
    """The whole file as plain data."""
    return {
        "id": child.id, "version": child.version, "grid": child.grid, "status": child.status,
        "name": child.name, "gender": child.gender, "birth_date": child.birth_date, "id_number": child.id_number,
        "school": child.school, "class_name": child.class_name, "address": child.address, "reason": child.reason,
        "parents": child.parents, "guardian": child.guardian, "registered_on": child.registered_on,
        "closed_reason": child.closed_reason, "erased": child.erased,
        "visits": [{"id": vid, **visit} for vid, visit in child.visits.items()],
        "aid": [{"id": aid_id, **aid} for aid_id, aid in child.aid.items()],
    }


def shown_to(role: str, file: dict[str, Any]) -> dict[str, Any]:
    """The file with only the personal fields this role may see."""
    view = personal_view(role)
    if view == "full":
        return file
    shown = dict(file)
    if view == "none":
        for key in PERSONAL_FIELDS:
            shown.pop(key, None)
        shown["visits"] = [{k: v for k, v in visit.items() if k != "notes"} for visit in file["visits"]]
        return shown
    for key in HELPER_HIDES:
        shown.pop(key, None)
    guardian = file["guardian"] or {}
    shown["guardian"] = {"name": guardian.get("name"), "phone": guardian.get("phone")}
    return shown


def child_history(child_id: UUID, *, ctx: Context) -> list[dict[str, Any]]:
    """Every event about the child (its file, pairs, concerns), in tenant log order."""
    ctx.require("read_history")
    load_child(ctx, child_id)
    _note_access(ctx, child_id)
    return ctx.case_log.about(child_id)
