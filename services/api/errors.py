"""Every error leaves as application/problem+json (RFC 9457); this module is the one place that maps them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from domain.errors import Conflict, DomainError, Forbidden, InvalidValue, NotFound, RuleViolation, Stale
from services.api.schemas import FieldError, Problem
from services.api.validation import field_errors

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("shouwang.api")

# Most specific first: Stale is a Conflict.
_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (Stale, 412), (Conflict, 409), (InvalidValue, 422), (RuleViolation, 409), (NotFound, 404), (Forbidden, 403),
)


def problem(status: int, detail: str, *, code: str | None = None, errors: Iterable[FieldError] = (),
            headers: dict[str, str] | None = None) -> Response[Problem]:
    """A problem document with its status."""
    title = HTTPStatus(status).phrase
    body = Problem(type=f"urn:shouwang:problem:{code or title.lower().replace(' ', '_')}", title=title,
                   status=status, detail=detail, errors=list(errors))
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def not_found() -> Response[Problem]:
    """Every 404 reads the same: "missing" and "not yours" must be indistinguishable."""
    return problem(404, "Not found", code="not_found")


def domain_problem(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    """A refusal by the domain or a use case."""
    status = next((s for kind, s in _DOMAIN_STATUS if isinstance(exc, kind)), 400)
    if status == 404:
        return not_found()
    errors = [FieldError(exc.field, exc.message)] if exc.field else []
    return problem(status, exc.message, code=exc.code, errors=errors)


def http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    """Litestar's own refusals: routing, authentication, body size, validation."""
    if isinstance(exc, ValidationException):
        return problem(422, "请求中有字段未通过校验", code="validation", errors=_validation_errors(request, exc))
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return not_found()
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", "Bearer")
        detail = exc.detail if exc.detail and exc.detail != "Unauthorized" else "Missing or invalid bearer token"
        return problem(401, detail, code="unauthorized", headers=headers)
    status = exc.status_code
    detail = exc.detail or HTTPStatus(status).phrase
    if status >= 500:
        detail = HTTPStatus(status).phrase
    return problem(status, detail, headers=headers or None)


def crash_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Anything unexpected: logged here with its traceback, answered without one."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "An unexpected error occurred; it has been logged.", code="internal")


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: domain_problem,
    HTTPException: http_problem,
    Exception: crash_problem,
}


def _validation_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[FieldError]:
    """Each bad field: parameters as litestar names them, the body re-checked so that every field is named."""
    reported = exc.extra if isinstance(exc.extra, list) else []
    errors = [FieldError(_param_name(e), e.get("message", "invalid")) for e in reported
              if isinstance(e, dict) and e.get("source") != "body" and not _unsupplied(e)]
    if any(isinstance(e, dict) and e.get("source") == "body" for e in reported):
        errors.extend(_body_errors(request, reported))
    return errors or [FieldError("body", exc.detail or "invalid")]


def _body_errors(request: Request[Any, Any, Any], reported: list[Any]) -> list[FieldError]:
    data_field = request.route_handler.parsed_data_field
    body = value_or_default(ScopeState.from_scope(request.scope).body, b"")
    if data_field is not None:
        if not body:
            return [FieldError("body", "required")]
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raw = None
        if raw is not None:
            found = field_errors(data_field.annotation, raw)
            if found:
                return [FieldError(path or "body", message) for path, message in found]
    return [FieldError(e.get("key") or "body", e.get("message", "invalid")) for e in reported
            if isinstance(e, dict) and e.get("source") == "body"]


def _unsupplied(error: dict[str, Any]) -> bool:
    """Litestar's fallback lists every signature field it was not handed (message `'name'`): not a client error."""
    return error.get("message") == repr(error.get("key"))


def _param_name(error: dict[str, Any]) -> str:
    """The name a client knows a parameter by (the header's name, not the Python argument's)."""
    return {"idempotency_key": "Idempotency-Key", "if_match": "If-Match"}.get(error.get("key", ""),
                                                                           error.get("key", "body"))


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI description of the problems a route may answer."""
    return {s: ResponseSpec(Problem, description=HTTPStatus(s).phrase, media_type=PROBLEM_JSON,
                            generate_examples=False) for s in statuses}


READ_PROBLEMS = problem_responses(400, 401, 403, 404, 422)
COMMAND_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 412, 413, 422)
