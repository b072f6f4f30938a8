"""Activities held by a unit, over HTTP."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.params import JSONBody

from services.api.errors import COMMAND_PROBLEMS
from services.api.idempotency import Retry, execute
from services.api.schemas import ActivityCreate, Receipt
from services.api.security import Ctx
from services.app import activities


class ActivityController(Controller):
    path = "/activities"
    tags = ["activities"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def hold(self, data: JSONBody[ActivityCreate], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """Record an activity and the children who attended (each one the caller can see)."""
        return execute(ctx, retry, lambda c: activities.hold_activity(
            data.unit, data.title, data.kind, data.held_on, list(data.attendees), ctx=c))
