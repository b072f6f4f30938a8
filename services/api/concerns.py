"""Concerns over HTTP: raise one, and act on it at the level that holds it."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, post
from litestar.params import FromPath, JSONBody

from services.api.errors import COMMAND_PROBLEMS
from services.api.idempotency import ExpectedVersion, Retry, execute
from services.api.schemas import ConcernAction, ConcernCreate, ConcernResolution, Note, Reasoned, Receipt
from services.api.security import Ctx
from services.app import concerns


class ConcernController(Controller):
    path = "/concerns"
    tags = ["concerns"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def raise_(self, data: JSONBody[ConcernCreate], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """Raise a concern about a child, at the level of the child's community."""
        return execute(ctx, retry, lambda c: concerns.raise_concern(
            data.child_id, data.category, data.severity, data.description, ctx=c))

    @post("/{concern_id:uuid}/acknowledge", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def acknowledge(self, concern_id: FromPath[UUID], ctx: Ctx, retry: Retry, expected_version: ExpectedVersion,
                    data: JSONBody[Note | None] = None) -> Response[Receipt]:
        """The level holding the concern has seen it; the body is `{}` or `{"note"}` (or none)."""
        note = data.note if data else None
        return execute(ctx, retry, lambda c: concerns.acknowledge_concern(
            concern_id, note, ctx=c, expected_version=expected_version), status=200)

    @post("/{concern_id:uuid}/escalate", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def escalate(self, concern_id: FromPath[UUID], data: JSONBody[Reasoned], ctx: Ctx, retry: Retry,
                 expected_version: ExpectedVersion) -> Response[Receipt]:
        """Hand the concern up one level (community → street → district)."""
        return execute(ctx, retry, lambda c: concerns.escalate_concern(
            concern_id, data.reason, ctx=c, expected_version=expected_version), status=200)

    @post("/{concern_id:uuid}/actions", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def record_action(self, concern_id: FromPath[UUID], data: JSONBody[ConcernAction], ctx: Ctx, retry: Retry,
                      expected_version: ExpectedVersion) -> Response[Receipt]:
        """Note what was done about the concern."""
        return execute(ctx, retry, lambda c: concerns.record_concern_action(
            concern_id, data.note, ctx=c, expected_version=expected_version), status=200)

    @post("/{concern_id:uuid}/resolve", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def resolve(self, concern_id: FromPath[UUID], data: JSONBody[ConcernResolution], ctx: Ctx, retry: Retry,
                expected_version: ExpectedVersion) -> Response[Receipt]:
        """Resolve the concern with its outcome."""
        return execute(ctx, retry, lambda c: concerns.resolve_concern(
            concern_id, data.outcome, ctx=c, expected_version=expected_version), status=200)

    @post("/{concern_id:uuid}/reopen", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def reopen(self, concern_id: FromPath[UUID], data: JSONBody[Reasoned], ctx: Ctx, retry: Retry,
               expected_version: ExpectedVersion) -> Response[Receipt]:
        """Reopen a resolved concern."""
        return execute(ctx, retry, lambda c: concerns.reopen_concern(
            concern_id, data.reason, ctx=c, expected_version=expected_version), status=200)
