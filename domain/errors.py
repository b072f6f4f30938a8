"""Domain exceptions: each carries a stable code; the API maps codes to problem+json once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the model makes."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(DomainError):
    """A value breaks a rule about its own shape or meaning (HTTP 422)."""

    code = "invalid_value"


class RuleViolation(DomainError):
    """The command is well-formed but the case's state refuses it (HTTP 409)."""

    code = "rule_violation"


class NotFound(DomainError):
    """No such thing, or not yours to see (HTTP 404: the two are indistinguishable)."""

    code = "not_found"


class Forbidden(DomainError):
    """The role may not do this at all (HTTP 403)."""

    code = "forbidden"


class Conflict(DomainError):
    """Someone else changed the stream first (HTTP 409 / 412)."""

    code = "conflict"


class Stale(Conflict):
    """The client's `If-Match` version is no longer the stream's version (HTTP 412)."""

    code = "stale"
