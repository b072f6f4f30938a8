"""What the use cases need from the outside world; infra provides it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.settings import TenantSettings

A = TypeVar("A", bound=Aggregate)


class CaseLogPort(Protocol):
    tenant: str

    def load(self, kind: type[A], aggregate_id: UUID, *, version: int | None = None) -> A: ...

    def record(self, *aggregates: Aggregate, forget_subjects: Sequence[UUID] = (),
               result_id: UUID | None = None) -> int: ...

    def version_at(self, aggregate_id: UUID, moment: datetime) -> int | None: ...

    def about(self, subject_id: UUID) -> list[dict[str, Any]]: ...

    def streams_about(self, subject_id: UUID, topic: str) -> list[UUID]: ...

    def record_access(self, user_id: UUID, role: str, child_id: UUID, via: str) -> None: ...

    def access_log(self, child_id: UUID | None) -> list[dict[str, Any]]: ...

    def verify(self) -> dict[str, Any]: ...

    def export(self, child_id: UUID | None) -> dict[str, Any]: ...

    def request_export(self, user_id: UUID, role: str, key: str | None) -> tuple[dict[str, Any], bool]: ...

    def abandon_export(self, export_id: UUID) -> None: ...

    def export_job(self, export_id: UUID) -> dict[str, Any] | None: ...

    def build_export(self, export_id: UUID) -> dict[str, Any]: ...

    def export_content(self, job: dict[str, Any]) -> Iterator[bytes]: ...

    def record_export_access(self, job: dict[str, Any], user_id: UUID, role: str, via: str) -> int: ...


class UnitPort(Protocol):
    code: str
    name: str
    level: str
    parent: str | None
    tenant: str | None


class DirectoryPort(Protocol):
    def unit(self, code: str) -> UnitPort | None: ...

    def tenant(self, code: str) -> Any: ...

    def tenants(self) -> list[Any]: ...

    def settings(self, tenant: str) -> TenantSettings: ...

    def put_settings(self, tenant: str, settings: TenantSettings) -> None: ...

    def create_tenant(self, code: str, name: str, district_code: str, district_name: str,
                      settings: TenantSettings) -> Any: ...

    def add_unit(self, code: str, name: str, level: str, parent: str, tenant: str) -> Any: ...

    def create_user(self, *, username: str, password: str, display_name: str, role: str,
                    tenant: str | None, scope_unit: str | None, helper_id: UUID | None = None) -> Any: ...
