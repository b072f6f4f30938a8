"""Commands on the wire: `Idempotency-Key` (a retried POST records nothing new) and `If-Match` (no stale writes).

A key is scoped to the tenant and the user. Its claim is written in the same transaction as the
command's events (`ClaimingLog`), so a retry either finds the first answer or the first attempt
recorded nothing; a concurrent twin loses on the claim's primary key and answers with the winner's.
Platform writes (tenants, units, users) claim theirs in the platform schema the same way
(`execute_platform`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.params import HeaderParameter, SkipValidation

from domain.errors import Conflict, InvalidValue
from infra.caselog import AlreadyRecorded, ClaimingLog
from infra.directory import AlreadyClaimed, ClaimingDirectory, RequestClaim
from services.api.schemas import Receipt
from services.app.common import Recorded
from services.app.context import Context

MAX_KEY_LENGTH = 200
T = TypeVar("T")


@dataclass(frozen=True)
class RetryKey:
    """The client's idempotency key and a hash of the request it came with."""

    key: str
    request_hash: bytes


Retry = SkipValidation[RetryKey | None]
ExpectedVersion = SkipValidation[int | None]

IdempotencyHeader = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH, required=False,
    description="Any string up to 200 characters: the same key with the same body returns the first answer again",
)]
IfMatchHeader = Annotated[str | None, HeaderParameter(
    name="If-Match", required=False, description="The stream version the command is based on (412 if it moved)",
)]


async def provide_retry_key(request: Request[Any, Any, Any], idempotency_key: IdempotencyHeader = None
                            ) -> RetryKey | None:
    """The `retry` dependency: the Idempotency-Key with sha256(method, path, raw body), or None."""
    if idempotency_key is None:
        return None
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.scope["path"].encode(), await request.body()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return RetryKey(idempotency_key, digest.digest())


def provide_expected_version(if_match: IfMatchHeader = None) -> int | None:
    """The `expected_version` dependency: the version named by If-Match (`3`, `"3"` or `W/"3"`), or None."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise InvalidValue("If-Match 应为档案的版本号（正整数）", field="If-Match")
    return int(value)


def execute(ctx: Context, retry: RetryKey | None, command: Callable[[Context], Recorded],
            *, status: int = 201) -> Response[Receipt]:
    """Run a command once per idempotency key and answer its receipt with `status`."""
    if retry is None:
        return _answer(command(ctx), status)
    log: Any = ctx.case_log
    first = log.claimed(ctx.actor, retry.key)
    if first is not None:
        return _replay(first, retry)
    claiming = ClaimingLog(log, ctx.actor, retry.key, retry.request_hash, status)
    try:
        done = command(replace(ctx, log=claiming))
    except AlreadyRecorded:
        return _replay(log.claimed(ctx.actor, retry.key), retry)
    return _answer(done, status)


def _answer(done: Recorded, status: int) -> Response[Receipt]:
    return Response(Receipt(id=done.id, version=done.version, position=done.position), status_code=status)


def _replay(first: dict[str, Any] | None, retry: RetryKey) -> Response[Receipt]:
    _same_request(first, retry)
    receipt = Receipt(id=first["result_id"], version=first["result_version"], position=first["position"])
    return Response(receipt, status_code=first["status"])


def _same_request(first: dict[str, Any] | None, retry: RetryKey) -> None:
    """Refuse replaying a claim the twin rolled back (409) or that another request made (422)."""
    if first is None:  # the twin that held the key rolled back after all: the client may simply retry
        raise Conflict("同一 Idempotency-Key 的请求正在处理，请重试")
    if bytes(first["request_hash"]) != retry.request_hash:
        raise InvalidValue("该 Idempotency-Key 已用于另一个请求", field="Idempotency-Key")


def execute_platform(ctx: Context, retry: RetryKey | None, write: Callable[[Context], T],
                     answer: Callable[[T], Any], *, status: int = 201) -> Response[Any]:
    """Run a platform write (tenant, unit, user) once per idempotency key; a retry gets the first answer again.

    Platform writes are no tenant's events: the key is claimed in the platform schema, in the write's own
    transaction (`infra.directory.ClaimingDirectory`), with the answer's body as it was first sent.
    """
    if retry is None:
        return Response(answer(write(ctx)), status_code=status)
    first = ctx.directory.claimed(ctx.actor, retry.key)
    if first is None:
        claim = RequestClaim(ctx.actor, retry.key, retry.request_hash, status,
                             lambda result: msgspec.json.encode(answer(result)))
        try:
            return Response(answer(write(replace(ctx, directory=ClaimingDirectory(ctx.directory, claim)))),
                            status_code=status)
        except AlreadyClaimed:
            first = ctx.directory.claimed(ctx.actor, retry.key)
    _same_request(first, retry)
    return Response(bytes(first["body"]), status_code=first["status"], media_type=MediaType.JSON)
