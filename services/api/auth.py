"""Logging in: a bearer token for a username and password, with repeated failures slowed down."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from threading import Lock
from typing import Any

from litestar import Request, post
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody, SkipValidation
from litestar.security.jwt import JWTAuth

from infra.directory import Directory
from services.api.errors import problem_responses
from services.api.schemas import LoginRequest, LoginResponse, LoginUser
from services.api.security import TOKEN_LIFETIME

MAX_FAILURES = 5
WINDOW_SECONDS = 600.0


class LoginThrottle:
    """Counts failed logins per username and per client address; the 6th try within 10 minutes gets 429.

    The counts live in this process's memory: they reset on restart and are not shared between
    workers or replicas, so N processes allow up to N x 5 failures per window. A shared store
    (a Postgres table or Redis) would close that gap; argon2's cost already bounds the guess rate.
    A success clears the username's count, never the address's: one good account must not
    launder an address that is guessing at others.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        if not failures:
            del self._failures[key]  # keep memory bounded by the keys failing right now
            return deque()
        return failures

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until any of `keys` may try again, or None if none is blocked."""
        now = self._clock()
        with self._lock:
            waits = [failures[0] + WINDOW_SECONDS - now for key in keys
                     if len(failures := self._recent(key, now)) >= MAX_FAILURES]
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._failures[key].append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class Authenticator:
    """Checks a password (argon2, in infra) and issues a token for the user."""

    def __init__(self, directory: Directory, auth: JWTAuth[Any, Any], throttle: LoginThrottle) -> None:
        self._directory = directory
        self._auth = auth
        self._throttle = throttle

    def login(self, username: str, password: str, client: str) -> LoginResponse:
        keys = (f"user:{username.casefold()}", f"addr:{client}")
        wait = self._throttle.retry_after(*keys)
        if wait is not None:
            raise TooManyRequestsException("登录失败次数过多，请稍后再试", headers={"Retry-After": str(wait)})
        user = self._directory.authenticate(username, password)
        if user is None:
            self._throttle.failed(*keys)
            raise NotAuthorizedException("用户名或密码错误")
        self._throttle.succeeded(keys[0])
        token = self._auth.create_token(identifier=str(user.id), token_expiration=TOKEN_LIFETIME)
        return LoginResponse(
            access_token=token, expires_in=int(TOKEN_LIFETIME.total_seconds()),
            user=LoginUser(id=user.id, username=user.username, role=user.role, tenant=user.tenant,
                           scope_unit=user.scope_unit),
        )


@post("/api/v1/auth/login", status_code=200, sync_to_thread=True, exclude_from_auth=True, tags=["identity"],
      responses=problem_responses(400, 401, 422, 429))
def login(data: JSONBody[LoginRequest], request: Request[Any, Any, Any],
          authenticator: SkipValidation[Authenticator]) -> LoginResponse:
    """A bearer token (12 hours) for a username and password."""
    client = request.client.host if request.client else "unknown"
    return authenticator.login(data.username, data.password, client)
