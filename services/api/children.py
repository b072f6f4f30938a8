"""A child's file over HTTP: register, read (now, at a version, as of a moment), history, and commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter

from domain.errors import InvalidValue
from services.api.errors import COMMAND_PROBLEMS, READ_PROBLEMS
from services.api.idempotency import ExpectedVersion, Retry, execute
from services.api.schemas import (
    AidCreate, Child, ChildClose, ChildCorrection, ChildCreate, ChildForget, ChildMove, GuardianBody, History, Note,
    Receipt, VisitCreate,
)
from services.api.security import Ctx
from services.app import children, reads

MinPosition = Annotated[int | None, Parameter(
    ge=0, description="Accepted for symmetry with read models: a file is read from the log, so always current")]


class ChildController(Controller):
    path = "/children"
    tags = ["children"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def register(self, data: JSONBody[ChildCreate], ctx: Ctx, retry: Retry) -> Response[Receipt]:
        """Open a file for a left-behind child (under 16) in a grid of the caller's scope."""
        return execute(ctx, retry, lambda c: children.register_child(data.to_details(), ctx=c))

    @get("/{child_id:uuid}", sync_to_thread=True, responses=READ_PROBLEMS)
    def file(self, child_id: FromPath[UUID], ctx: Ctx,
             version: Annotated[int | None, Parameter(ge=1, description="The file as it stood at this version")] = None,
             as_of: Annotated[datetime | None, Parameter(description="The file as recorded by this moment")] = None,
             min_position: MinPosition = None) -> Child:
        """The child's file with the personal fields the caller may see (null otherwise, and once erased)."""
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidValue("as_of 须带时区偏移", field="as_of")
        return Child.of(reads.child_file(child_id, ctx=ctx, version=version, as_of=as_of))

    @get("/{child_id:uuid}/history", sync_to_thread=True, responses=READ_PROBLEMS)
    def history(self, child_id: FromPath[UUID], ctx: Ctx, min_position: MinPosition = None) -> History:
        """Every event about the child (file, pairs, concerns) in tenant log order."""
        return History.of(reads.child_history(child_id, ctx=ctx))

    @post("/{child_id:uuid}/corrections", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def correct(self, child_id: FromPath[UUID], data: JSONBody[ChildCorrection], ctx: Ctx, retry: Retry,
                expected_version: ExpectedVersion) -> Response[Receipt]:
        """Correct registered facts (the ID number must still agree with birth date and gender)."""
        return execute(ctx, retry, lambda c: children.correct_child(
            child_id, data.changes.given(), data.reason, ctx=c, expected_version=expected_version), status=200)

    @post("/{child_id:uuid}/guardian", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def guardian(self, child_id: FromPath[UUID], data: JSONBody[GuardianBody], ctx: Ctx, retry: Retry,
                 expected_version: ExpectedVersion) -> Response[Receipt]:
        """Record the child's guardian anew."""
        return execute(ctx, retry, lambda c: children.change_guardian(
            child_id, data.to_domain(), ctx=c, expected_version=expected_version), status=200)

    @post("/{child_id:uuid}/move", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def move(self, child_id: FromPath[UUID], data: JSONBody[ChildMove], ctx: Ctx, retry: Retry,
             expected_version: ExpectedVersion) -> Response[Receipt]:
        """Move the file to another grid of the caller's scope."""
        return execute(ctx, retry, lambda c: children.move_child(
            child_id, data.grid, ctx=c, expected_version=expected_version), status=200)

    @post("/{child_id:uuid}/close", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def close(self, child_id: FromPath[UUID], data: JSONBody[ChildClose], ctx: Ctx, retry: Retry,
              expected_version: ExpectedVersion) -> Response[Receipt]:
        """Close the file (never deleted); its active pairs end with it and free their helpers' places."""
        return execute(ctx, retry, lambda c: children.close_child(
            child_id, data.reason, data.note, ctx=c, expected_version=expected_version), status=200)

    @post("/{child_id:uuid}/reopen", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def reopen(self, child_id: FromPath[UUID], ctx: Ctx, retry: Retry, expected_version: ExpectedVersion,
               data: JSONBody[Note | None] = None) -> Response[Receipt]:
        """Reopen a closed file; the body is `{}` or `{"note"}` (or none)."""
        note = data.note if data else None
        return execute(ctx, retry, lambda c: children.reopen_child(
            child_id, note, ctx=c, expected_version=expected_version), status=200)

    @post("/{child_id:uuid}/visits", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def log_visit(self, child_id: FromPath[UUID], data: JSONBody[VisitCreate], ctx: Ctx, retry: Retry,
                  expected_version: ExpectedVersion) -> Response[Receipt]:
        """Log a contact with the child ("visit logged"); the receipt's id is the visit's."""
        return execute(ctx, retry, lambda c: children.log_visit(
            child_id, data.kind, data.occurred_on, data.helper_id, data.notes, ctx=c,
            expected_version=expected_version))

    @post("/{child_id:uuid}/aid", sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def grant_aid(self, child_id: FromPath[UUID], data: JSONBody[AidCreate], ctx: Ctx, retry: Retry,
                  expected_version: ExpectedVersion) -> Response[Receipt]:
        """Record aid given to the child; the receipt's id is the aid record's."""
        return execute(ctx, retry, lambda c: children.grant_aid(
            child_id, data.kind, data.amount_fen, data.source, data.occurred_on, ctx=c,
            expected_version=expected_version))

    @post("/{child_id:uuid}/forget", status_code=200, sync_to_thread=True, responses=COMMAND_PROBLEMS)
    def forget(self, child_id: FromPath[UUID], data: JSONBody[ChildForget], ctx: Ctx, retry: Retry,
               expected_version: ExpectedVersion) -> Response[Receipt]:
        """Crypto-shred the child's personal data (tenant admin only); counts, order and history stay."""
        return execute(ctx, retry, lambda c: children.forget_child(
            child_id, data.reason, ctx=c, expected_version=expected_version), status=200)
