"""Helpers and pairs (结对帮扶) over HTTP."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, post
from litestar.params import FromPath, JSONBody

from services.api.errors import COMMAND_PROBLEMS
from services.api.idempotency import Retry, execute
from services.api.schemas import HelperCreate, PairCreate, PairEnd, Receipt
from services.api.security import Ctx
from services.app import helpers


class HelperController(Controller):
    path = "/helpers"
    tags = ["helpers and pairs"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def enrol(self, data: JSONBody[HelperCreate], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """Enrol a helper in a unit of the caller's scope."""
        return execute(ctx, retry, lambda c: helpers.enrol_helper(data.name, data.kind, data.phone, data.unit, ctx=c))


class PairController(Controller):
    path = "/pairs"
    tags = ["helpers and pairs"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def form(self, data: JSONBody[PairCreate], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """Pair a helper with a child; 409 when the helper is full or already has this child."""
        return execute(ctx, retry, lambda c: helpers.form_pair(data.child_id, data.helper_id, data.started_on, ctx=c))

    @post("/{pair_id:uuid}/end", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def end(self, pair_id: FromPath[UUID], data: JSONBody[PairEnd], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """End a pair and free the helper's place."""
        return execute(ctx, retry, lambda c: helpers.end_pair(pair_id, data.reason, data.ended_on, ctx=c), status=200)
