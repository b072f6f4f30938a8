"""The context every use case runs in: who acts, for which tenant, within what scope, and when.

Infra resolves it once at the edge (login token → user → tenant and scope) and hands it in;
no use case ever takes a raw tenant id from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.access import SYSTEM, may
from domain.errors import Forbidden, NotFound
from domain.events import Stamp
from domain.units import contains

if TYPE_CHECKING:
    from services.app.ports import CaseLogPort, DirectoryPort

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Context:
    tenant: str | None
    actor: UUID
    role: str
    scope: str | None
    now: datetime
    directory: DirectoryPort
    log: CaseLogPort | None = None
    helper_id: UUID | None = None
    via: str = "app"  # the endpoint or command the request came through, for the access log

    @property
    def today(self) -> date:
        """Business dates and "today" are in Asia/Shanghai."""
        return self.now.astimezone(SHANGHAI).date()

    def stamp(self, on: date | None = None) -> Stamp:
        """A stamp for an event this actor records now, describing `on` (default today)."""
        # The scheduler is no user: its events name it "system" rather than an id.
        actor = SYSTEM if self.role == SYSTEM else str(self.actor)
        return Stamp.of(actor, self.now, self.today).describing(on)

    def require(self, action: str) -> None:
        """Refuse (403) an action this role may never perform."""
        if not may(self.role, action):
            raise Forbidden(f"角色 {self.role} 无权执行此操作")

    def require_scope(self, unit_code: str) -> None:
        """Refuse (404, as if absent) a unit outside the caller's scope."""
        if self.scope is None or not contains(self.scope, unit_code):
            raise NotFound("not found")

    def in_scope(self, unit_code: str) -> bool:
        return self.scope is not None and contains(self.scope, unit_code)

    @property
    def case_log(self) -> CaseLogPort:
        if self.log is None:
            raise NotFound("not found")
        return self.log


