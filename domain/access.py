"""Who may do what, and what of a child's personal data each role may see.

One table, tested once, used by every use case (STYLE: no permission checks by hand).
"""

from __future__ import annotations

from typing import Literal

Role = Literal["platform_admin", "tenant_admin", "supervisor", "grid_worker", "helper", "district_officer", "auditor"]
ROLES: tuple[Role, ...] = (
    "platform_admin", "tenant_admin", "supervisor", "grid_worker", "helper", "district_officer", "auditor",
)
TENANT_ROLES = frozenset({"tenant_admin", "supervisor", "grid_worker", "helper"})
REGIONAL_ROLES = frozenset({"district_officer", "auditor"})
# The scheduler enforcing deadlines: never a user (the users table refuses the role), recorded as actor "system".
SYSTEM = "system"

_CASE_WORKERS = frozenset({"tenant_admin", "supervisor", "grid_worker"})
_MANAGERS = frozenset({"tenant_admin", "supervisor"})

MAY: dict[str, frozenset[str]] = {
    "register_child": _CASE_WORKERS,
    "update_child": _CASE_WORKERS,  # corrections, guardian, move, close, reopen
    "log_visit": _CASE_WORKERS | {"helper"},
    "grant_aid": _MANAGERS,
    "forget_child": frozenset({"tenant_admin"}),
    "manage_helpers": _MANAGERS,
    "manage_pairs": _MANAGERS,
    "raise_concern": _CASE_WORKERS | {"helper"},
    "act_on_concern": _MANAGERS | {"district_officer"},
    "hold_activity": _CASE_WORKERS,
    "read_child": _CASE_WORKERS | {"helper", "auditor", "platform_admin", "district_officer"},
    "read_history": _CASE_WORKERS | {"auditor"},
    "audit": frozenset({"auditor", "tenant_admin"}),
    "export_tenant": frozenset({"tenant_admin", "auditor"}),  # and only with the whole street in scope
    "build_exports": frozenset({SYSTEM}),
    "manage_platform": frozenset({"platform_admin"}),
    "manage_tenant": frozenset({"platform_admin", "tenant_admin"}),
    "enforce_deadlines": frozenset({SYSTEM}),
}

PersonalView = Literal["full", "helper", "none"]


def may(role: str, action: str) -> bool:
    """Whether a role may perform an action at all (scope is checked separately)."""
    return role in MAY[action]


def personal_view(role: str) -> PersonalView:
    """How much of a child's personal data a role sees: all, a helper's share, or none."""
    if role in ("platform_admin", "district_officer"):
        return "none"
    if role == "helper":
        return "helper"
    return "full"
