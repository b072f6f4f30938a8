"""The platform schema: tenants, the unit tree, users and tenant settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg
from eventsourcing.postgres import PostgresDatastore

from domain.errors import NotFound, RuleViolation
from domain.settings import TenantSettings
from infra.migrations import migrate_tenant, schema_for
from infra.passwords import hash_password, verify_password

# Signalled when a tenant is created: the projection runner listens to the new tenant's log at once.
TENANTS_CHANNEL = "platform_tenants"


@dataclass(frozen=True)
class RequestClaim:
    """A retried platform write's Idempotency-Key, stored with the first answer in the write's transaction."""

    actor: UUID
    key: str
    request_hash: bytes
    status: int
    answer: Callable[[Any], bytes]  # the response body for what the write created


class AlreadyClaimed(Exception):
    """A concurrent twin of the request claimed its key first: this write rolled back."""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent: str | None
    tenant: str | None


@dataclass(frozen=True)
class Tenant:
    code: str
    name: str
    district_code: str
    schema_name: str


@dataclass(frozen=True)
class User:
    id: UUID
    username: str
    display_name: str
    role: str
    tenant: str | None
    scope_unit: str | None
    helper_id: UUID | None


class Directory:
    """Reads and writes the platform schema on the shared pool."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._db = datastore
        self._units: dict[str, Unit] = {}

    def _one(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        with self._db.get_connection() as conn:
            return conn.execute(sql, params).fetchone()

    def claimed(self, actor: UUID, key: str) -> dict[str, Any] | None:
        """The first answer to a platform write sent with this Idempotency-Key by this user, if it committed."""
        return self._one("SELECT request_hash, status, body FROM platform.request_claims WHERE actor = %s"
                         " AND key = %s", [actor, key])

    @staticmethod
    def _claim(conn: psycopg.Connection[Any], claim: RequestClaim | None, result: Any) -> None:
        # First in the transaction: a concurrent twin waits here for the first one's commit, then replays it
        # (had it written first, it would fail on the name the first one took, as a different request would).
        if claim is None:
            return
        try:
            with conn.transaction():
                conn.execute("INSERT INTO platform.request_claims (actor, key, request_hash, status, body)"
                             " VALUES (%s, %s, %s, %s, %s)",
                             [claim.actor, claim.key, claim.request_hash, claim.status, claim.answer(result)])
        except psycopg.errors.UniqueViolation:
            raise AlreadyClaimed(claim.key) from None  # leaving the transaction rolls the write back

    def create_tenant(self, code: str, name: str, district_code: str, district_name: str,
                      settings: TenantSettings, claim: RequestClaim | None = None) -> Tenant:
        """Register a street or town office, its units, and create its schema, in one transaction."""
        tenant = Tenant(code, name, district_code, schema_for(code))
        with self._db.get_connection() as conn, conn.transaction():
            self._claim(conn, claim, tenant)
            conn.execute(
                "INSERT INTO platform.units (code, name, level) VALUES (%s, %s, 'district')"
                " ON CONFLICT (code) DO NOTHING", [district_code, district_name])
            try:
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO platform.units (code, name, level, parent, tenant)"
                        " VALUES (%s, %s, 'street', %s, %s)", [code, name, district_code, code])
            except psycopg.errors.UniqueViolation:
                raise RuleViolation(f"租户 {code} 已存在", field="code") from None
            conn.execute(
                "INSERT INTO platform.tenants (code, name, district_code, schema_name, settings)"
                " VALUES (%s, %s, %s, %s, %s)",
                [code, name, district_code, schema_for(code), msgspec.json.encode(settings)])
            migrate_tenant(conn, code)
            conn.execute(f"NOTIFY {TENANTS_CHANNEL}")  # at commit: the projection runner listens to it at once
        return tenant

    def tenants(self) -> list[Tenant]:
        with self._db.get_connection() as conn:
            rows = conn.execute(
                "SELECT code, name, district_code, schema_name FROM platform.tenants ORDER BY code").fetchall()
        return [Tenant(**r) for r in rows]

    def tenant(self, code: str) -> Tenant | None:
        row = self._one("SELECT code, name, district_code, schema_name FROM platform.tenants WHERE code = %s", [code])
        return Tenant(**row) if row else None

    def add_unit(self, code: str, name: str, level: str, parent: str, tenant: str,
                 claim: RequestClaim | None = None) -> Unit:
        """Add a community or grid under `parent`."""
        unit = Unit(code, name, level, parent, tenant)
        try:
            with self._db.get_connection() as conn, conn.transaction():
                self._claim(conn, claim, unit)
                conn.execute(
                    "INSERT INTO platform.units (code, name, level, parent, tenant) VALUES (%s, %s, %s, %s, %s)",
                    [code, name, level, parent, tenant])
        except AlreadyClaimed:
            raise
        except Exception as e:  # the datastore wraps psycopg's errors in eventsourcing's
            if "units_pkey" in str(e):
                raise RuleViolation(f"单位代码 {code} 已存在", field="code") from None
            raise
        return unit

    def unit(self, code: str) -> Unit | None:
        """The unit with this code; units never change once created, so found ones are kept in memory."""
        unit = self._units.get(code)
        if unit is None:
            row = self._one("SELECT code, name, level, parent, tenant FROM platform.units WHERE code = %s", [code])
            if row is None:
                return None
            unit = self._units[code] = Unit(**row)
        return unit

    def units_under(self, code: str) -> list[Unit]:
        """Every unit in the subtree rooted at `code` (itself included), by code."""
        with self._db.get_connection() as conn:
            rows = conn.execute(
                "SELECT code, name, level, parent, tenant FROM platform.units WHERE starts_with(code, %s)"
                " ORDER BY code", [code]).fetchall()
        return [Unit(**r) for r in rows]

    def settings(self, tenant: str) -> TenantSettings:
        row = self._one("SELECT settings FROM platform.tenants WHERE code = %s", [tenant])
        if row is None:
            raise NotFound(f"tenant {tenant} not found")
        return msgspec.json.decode(row["settings"], type=TenantSettings)

    def put_settings(self, tenant: str, settings: TenantSettings) -> None:
        with self._db.get_connection() as conn:
            conn.execute("UPDATE platform.tenants SET settings = %s WHERE code = %s",
                         [msgspec.json.encode(settings), tenant])

    def create_user(self, *, username: str, password: str, display_name: str, role: str,
                    tenant: str | None, scope_unit: str | None, helper_id: UUID | None = None,
                    claim: RequestClaim | None = None) -> User:
        """Store a user with an argon2id hash of the password."""
        user = User(uuid4(), username, display_name, role, tenant, scope_unit, helper_id)
        password_hash = hash_password(password)
        try:
            with self._db.get_connection() as conn, conn.transaction():
                self._claim(conn, claim, user)
                conn.execute(
                    "INSERT INTO platform.users (id, username, password_hash, display_name, role, tenant,"
                    " scope_unit, helper_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [user.id, username, password_hash, display_name, role, tenant, scope_unit, helper_id])
        except AlreadyClaimed:
            raise
        except Exception as e:
            if "users_username_key" in str(e):
                raise RuleViolation(f"用户名 {username} 已被使用", field="username") from None
            raise
        return user

    def authenticate(self, username: str, password: str) -> User | None:
        """The user whose password this is, or None."""
        row = self._one(
            "SELECT id, username, display_name, role, tenant, scope_unit, helper_id, password_hash"
            " FROM platform.users WHERE username = %s", [username])
        if row is None:
            # Spend the time of a real check, so usernames cannot be probed by timing.
            verify_password(_DUMMY_HASH, password)
            return None
        password_hash = row.pop("password_hash")
        return User(**row) if verify_password(password_hash, password) else None

    def user(self, user_id: UUID) -> User | None:
        row = self._one(
            "SELECT id, username, display_name, role, tenant, scope_unit, helper_id FROM platform.users"
            " WHERE id = %s", [user_id])
        return User(**row) if row else None


_DUMMY_HASH = hash_password("not-a-real-password")


class ClaimingDirectory:
    """The directory, with every platform write claiming one Idempotency-Key in its own transaction."""

    def __init__(self, directory: Directory, claim: RequestClaim) -> None:
        self._directory, self._claim = directory, claim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)

    def create_tenant(self, *args: Any, **kwargs: Any) -> Tenant:
        return self._directory.create_tenant(*args, **kwargs, claim=self._claim)

    def add_unit(self, *args: Any, **kwargs: Any) -> Unit:
        return self._directory.add_unit(*args, **kwargs, claim=self._claim)

    def create_user(self, **kwargs: Any) -> User:
        return self._directory.create_user(**kwargs, claim=self._claim)
