"""The bodies the API takes and gives (msgspec Structs): shapes, lengths and enumerations live here.

Rules that need the case's state (age on the registration date, ID check digit, grids in scope)
stay in the domain and the use cases; these only refuse what is malformed on its face.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from domain.access import Role
from domain.child import AidKind, ChildDetails, CloseReason, ContactKind, Gender, GuardianRelation, Reason
from domain.child import Guardian as GuardianValue
from domain.child import Parent as ParentValue
from domain.concern import Category, Severity
from domain.helper import HelperKind
from domain.settings import ContactQuota, TenantSettings

Text = Annotated[str, Meta(min_length=1, max_length=500, description="Free text, 1 to 500 characters")]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9][0-9 \-]{4,19}$", description="A phone number")]
UnitCode = Annotated[str, Meta(pattern=r"^[0-9]{6,15}$", description="A unit code (6 to 15 digits)")]
Username = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.@\-]{3,64}$")]
Password = Annotated[str, Meta(min_length=8, max_length=200)]
Fen = Annotated[int, Meta(gt=0, le=100_000_000, description="Money in fen (0.01 yuan), positive")]
Count = Annotated[int, Meta(ge=0, le=100)]
IdNumber = Annotated[str, Meta(min_length=1, max_length=30, description="18 characters, GB 11643 check digit")]


class Body(Struct, forbid_unknown_fields=True, frozen=True):
    """A request body: unknown fields are refused (422 naming them) rather than silently dropped."""


# Identity and platform


class LoginRequest(Body):
    username: Annotated[str, Meta(min_length=1, max_length=200)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class LoginUser(Struct):
    id: UUID
    username: str
    role: str
    tenant: str | None
    scope_unit: str | None


class LoginResponse(Struct):
    access_token: str
    expires_in: int
    user: LoginUser
    token_type: str = "bearer"


class TenantCreate(Body):
    code: Annotated[str, Meta(pattern=r"^[0-9]{9}$", description="The street's 9-digit code")]
    name: Name
    district_code: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]
    district_name: Name


class Tenant(Struct):
    code: str
    name: str
    district_code: str


class Tenants(Struct):
    items: list[Tenant]


class UnitCreate(Body):
    code: UnitCode
    name: Name
    level: Literal["community", "grid"]
    parent: UnitCode


class Unit(Struct):
    code: str
    name: str
    level: str
    parent: str | None
    tenant: str | None


class UserCreate(Body):
    username: Username
    password: Password
    display_name: Name
    role: Role
    scope_unit: UnitCode | None = None
    helper_id: UUID | None = None


class User(Struct):
    id: UUID
    username: str
    display_name: str
    role: str
    tenant: str | None
    scope_unit: str | None
    helper_id: UUID | None


class Quota(Body):
    home_visit: Count = 1
    talk: Count = 1
    teacher_contact: Count = 1
    guardian_contact: Count = 1
    letter: Count = 1
    parent_call: Count = 0
    parent_letter: Count = 0


class Settings(Body):
    contact_quota: Quota = Quota()
    helper_capacity: Annotated[int, Meta(ge=1, le=20)] = 2
    urgent_ack_hours: Annotated[int, Meta(ge=1, le=24 * 14)] = 4
    max_days_without_contact: Annotated[int, Meta(ge=1, le=366)] = 60

    def to_domain(self) -> TenantSettings:
        quota = ContactQuota(**msgspec.structs.asdict(self.contact_quota))
        return TenantSettings(contact_quota=quota, helper_capacity=self.helper_capacity,
                              urgent_ack_hours=self.urgent_ack_hours,
                              max_days_without_contact=self.max_days_without_contact)

    @classmethod
    def of(cls, settings: TenantSettings) -> Settings:
        return msgspec.convert(msgspec.to_builtins(settings), cls)


# Children


class ParentBody(Body):
    relation: Literal["father", "mother"]
    name: Name | None = None
    work_place: Text | None = None
    phone: Phone | None = None

    def to_domain(self) -> ParentValue:
        return ParentValue(**msgspec.structs.asdict(self))


class GuardianBody(Body):
    name: Name
    relation: GuardianRelation
    phone: Phone | None = None
    birth_year: Annotated[int, Meta(ge=1900, le=2100)] | None = None
    health: Text | None = None

    def to_domain(self) -> GuardianValue:
        return GuardianValue(**msgspec.structs.asdict(self))


Parents = Annotated[list[ParentBody], Meta(max_length=2)]


class ChildCreate(Body):
    name: Name
    gender: Gender
    birth_date: date
    grid: UnitCode
    reason: Reason
    guardian: GuardianBody
    parents: Parents = []
    id_number: IdNumber | None = None
    school: Name | None = None
    class_name: Name | None = None
    address: Text | None = None

    def to_details(self) -> ChildDetails:
        values = msgspec.structs.asdict(self)
        values["guardian"] = self.guardian.to_domain()
        values["parents"] = tuple(p.to_domain() for p in self.parents)
        return ChildDetails(**values)


class ChildChanges(Body):
    """The registered facts to correct; only the fields given change."""

    name: Name | UnsetType = UNSET
    gender: Gender | UnsetType = UNSET
    birth_date: date | UnsetType = UNSET
    id_number: IdNumber | None | UnsetType = UNSET
    school: Name | None | UnsetType = UNSET
    class_name: Name | None | UnsetType = UNSET
    address: Text | None | UnsetType = UNSET
    reason: Reason | UnsetType = UNSET
    parents: Parents | UnsetType = UNSET

    def given(self) -> dict[str, Any]:
        """The fields the client sent, with domain values."""
        changes = {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}
        if "parents" in changes:
            changes["parents"] = tuple(p.to_domain() for p in changes["parents"])
        return changes


class ChildCorrection(Body):
    changes: ChildChanges
    reason: Text | None = None


class ChildMove(Body):
    grid: UnitCode


class ChildClose(Body):
    reason: CloseReason
    note: Text | None = None


class Note(Body):
    """`{}` or `{"note"}`."""

    note: Text | None = None


class ChildForget(Body):
    reason: Text


class VisitCreate(Body):
    kind: ContactKind
    occurred_on: date
    helper_id: UUID | None = None
    notes: Text | None = None


class AidCreate(Body):
    kind: AidKind
    amount_fen: Fen
    source: Text
    occurred_on: date


class ParentView(Struct):
    relation: str
    name: str | None = None
    work_place: str | None = None
    phone: str | None = None


class GuardianView(Struct):
    name: str | None = None
    relation: str | None = None
    phone: str | None = None
    birth_year: int | None = None
    health: str | None = None


class Visit(Struct):
    id: UUID
    kind: str
    occurred_on: date
    helper_id: UUID | None = None
    notes: str | None = None


class Aid(Struct):
    id: UUID
    kind: str
    amount_fen: int
    source: str
    occurred_on: date


class Child(Struct):
    """A child's file. Personal fields the caller may not see, or that were erased, are null."""

    id: UUID
    version: int
    grid: str
    status: Literal["open", "closed"]
    gender: str
    birth_date: date
    reason: str
    registered_on: date
    erased: bool
    visits: list[Visit]
    aid: list[Aid]
    name: str | None = None
    id_number: str | None = None
    school: str | None = None
    class_name: str | None = None
    address: str | None = None
    parents: list[ParentView] | None = None
    guardian: GuardianView | None = None
    closed_reason: str | None = None

    @classmethod
    def of(cls, file: dict[str, Any]) -> Child:
        return msgspec.convert(file, cls)


class HistoryEntry(Struct):
    position: int
    version: int
    stream: UUID
    type: str
    occurred_on: date
    recorded_at: datetime
    actor: str
    unit: str
    data: dict[str, Any]
    hash: str | None = None


class History(Struct):
    items: list[HistoryEntry]

    @classmethod
    def of(cls, entries: list[dict[str, Any]]) -> History:
        return cls([HistoryEntry(**e) for e in entries])


# Helpers, pairs, concerns, activities


class HelperCreate(Body):
    name: Name
    kind: HelperKind
    unit: UnitCode
    phone: Phone | None = None


class PairCreate(Body):
    child_id: UUID
    helper_id: UUID
    started_on: date


class PairEnd(Body):
    reason: Text
    ended_on: date


class ConcernCreate(Body):
    child_id: UUID
    category: Category
    severity: Severity
    description: Text


class Reasoned(Body):
    reason: Text


class ConcernAction(Body):
    note: Text


class ConcernResolution(Body):
    outcome: Text


class ActivityCreate(Body):
    unit: UnitCode
    title: Text
    kind: Text
    held_on: date
    attendees: Annotated[list[UUID], Meta(max_length=1000)] = []


# Answers


class Receipt(Struct):
    """What a command answers: the stream (or record) it wrote, its version, and the tenant log position."""

    id: UUID
    version: int
    position: int


class FieldError(Struct):
    field: str
    message: str


class Problem(Struct):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


class Health(Struct):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "down"]
    broker: Literal["ok", "down", "absent"]
