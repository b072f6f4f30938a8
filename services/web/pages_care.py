"""Care work on a child: log a contact, raise and act on a concern, form and end a pair."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from domain.access import personal_view
from domain.errors import DomainError
from services.api.schemas import ConcernCreate, ConcernResolution, Note, PairCreate, PairEnd, Reasoned, VisitCreate
from services.api.security import Ctx
from services.app import children, concerns, helpers
from services.app.context import Context
from services.web.child_view import child_page
from services.web.forms import FormErrors, convert, nest, refused
from services.web.helper_choices import helper_choices
from services.web.rendering import page
from services.web.session import lang_of

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
# Each concern action: the API body it takes, and the use case it calls with that body's one text.
ACTIONS: dict[str, tuple[type[msgspec.Struct], Any]] = {
    "acknowledge": (Note, lambda cid, b, ctx, v: concerns.acknowledge_concern(cid, b.note, ctx=ctx,
                                                                              expected_version=v)),
    "escalate": (Reasoned, lambda cid, b, ctx, v: concerns.escalate_concern(cid, b.reason, ctx=ctx,
                                                                            expected_version=v)),
    "resolve": (ConcernResolution, lambda cid, b, ctx, v: concerns.resolve_concern(cid, b.outcome, ctx=ctx,
                                                                                   expected_version=v)),
}


def _child_form(request: Request[Any, Any, Any], ctx: Context, template: str, child_id: UUID, *,
                values: dict[str, Any], errors: FormErrors, status: int = 200, **extra: Any) -> Template:
    view = child_page(child_id, ctx=ctx)
    return page(request, template, status=status, child_id=child_id, file=view["file"], pairs=view["pairs"],
                values=values, errors=errors, **extra)


def _submit(request: Request[Any, Any, Any], data: dict[str, str], shape: type[Any], extra: dict[str, Any],
            act: Any) -> tuple[Any, FormErrors]:
    """Validate a form as the API body `shape` and run `act(body)`; (result, errors) — one of them empty."""
    errors = FormErrors()
    body = convert({**nest(data), **extra}, shape, errors, lang_of(request))
    if body is None:
        return None, errors
    try:
        return act(body), errors
    except DomainError as exc:
        return None, refused(exc, errors)


@get("/children/{child_id:uuid}/visits/new", sync_to_thread=True)
def visit_form(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromPath[UUID]) -> Template:
    """Log a contact (走访、谈心、亲情电话 …)."""
    ctx.require("log_visit")
    return _child_form(request, ctx, "visit_new.html", child_id, values={"occurred_on": ctx.today.isoformat(),
                                                                       "kind": "home_visit"}, errors=FormErrors())


@post("/children/{child_id:uuid}/visits/new", sync_to_thread=True)
def visit_submit(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
                 data: Form) -> Template | Redirect:
    """Record the contact through the use case."""
    done, errors = _submit(request, data, VisitCreate, {}, lambda b: children.log_visit(
        child_id, b.kind, b.occurred_on, b.helper_id, b.notes, ctx=ctx))
    if done:
        return Redirect(f"/t/{tenant}/children/{child_id}?done=visit#contacts", status_code=303)
    return _child_form(request, ctx, "visit_new.html", child_id, values=data, errors=errors, status=422)


@get("/children/{child_id:uuid}/concerns/new", sync_to_thread=True)
def concern_form(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromPath[UUID]) -> Template:
    """Raise a concern about the child."""
    ctx.require("raise_concern")
    return _child_form(request, ctx, "concern_new.html", child_id, values={}, errors=FormErrors())


@post("/children/{child_id:uuid}/concerns/new", sync_to_thread=True)
def concern_submit(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
                   data: Form) -> Template | Redirect:
    """Raise it through the use case, at the level of the child's community."""
    done, errors = _submit(request, data, ConcernCreate, {"child_id": str(child_id)}, lambda b: concerns.raise_concern(
        b.child_id, b.category, b.severity, b.description, ctx=ctx))
    if done:
        return Redirect(f"/t/{tenant}/concerns/{done.id}?done=raised", status_code=303)
    return _child_form(request, ctx, "concern_new.html", child_id, values=data, errors=errors, status=422)


def _concern_page(request: Request[Any, Any, Any], ctx: Context, concern_id: UUID, *, errors: FormErrors,
                  values: dict[str, Any], done: str | None = None, status: int = 200) -> Template:
    concern = concerns.load_concern(ctx, concern_id)
    shown = personal_view(ctx.role) == "full"
    return page(request, "concern.html", status=status, concern=concern, concern_id=concern_id,
                description=concern.description if shown else None, errors=errors, values=values, done=done)


@get("/concerns/{concern_id:uuid}", sync_to_thread=True)
def concern_detail(request: Request[Any, Any, Any], ctx: Ctx, concern_id: FromPath[UUID],
                   done: FromQuery[str | None] = None) -> Template:
    """A concern: where it sits, and acknowledging, escalating or resolving it."""
    return _concern_page(request, ctx, concern_id, errors=FormErrors(), values={}, done=done)


@post("/concerns/{concern_id:uuid}/{action:str}", sync_to_thread=True)
def concern_act(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], concern_id: FromPath[UUID],
                action: FromPath[str], data: Form) -> Template | Redirect:
    """Acknowledge, escalate or resolve, as of the version the user was looking at."""
    if action not in ACTIONS:
        return _concern_page(request, ctx, concern_id, errors=FormErrors(), values={}, status=404)
    shape, use_case = ACTIONS[action]
    version = int(data["_version"]) if data.get("_version", "").isdigit() else None
    done, errors = _submit(request, data, shape, {}, lambda b: use_case(concern_id, b, ctx, version))
    if done:
        return Redirect(f"/t/{tenant}/concerns/{concern_id}?done={action}", status_code=303)
    return _concern_page(request, ctx, concern_id, errors=errors, values=data, status=422)


@get("/children/{child_id:uuid}/pairs/new", sync_to_thread=True)
def pair_form(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromPath[UUID]) -> Template:
    """Pair a helper with the child (结对帮扶)."""
    ctx.require("manage_pairs")
    return _child_form(request, ctx, "pair_new.html", child_id, values={"started_on": ctx.today.isoformat()},
                       errors=FormErrors(), choices=helper_choices(ctx))


@post("/children/{child_id:uuid}/pairs/new", sync_to_thread=True)
def pair_submit(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
                data: Form) -> Template | Redirect:
    """Form the pair through the use case (which refuses a full helper)."""
    done, errors = _submit(request, data, PairCreate, {"child_id": str(child_id)}, lambda b: helpers.form_pair(
        b.child_id, b.helper_id, b.started_on, ctx=ctx))
    if done:
        return Redirect(f"/t/{tenant}/children/{child_id}?done=paired#helpers", status_code=303)
    return _child_form(request, ctx, "pair_new.html", child_id, values=data, errors=errors, status=422,
                       choices=helper_choices(ctx))


@get("/children/{child_id:uuid}/pairs/{pair_id:uuid}/end", sync_to_thread=True)
def pair_end_form(request: Request[Any, Any, Any], ctx: Ctx, child_id: FromPath[UUID],
                  pair_id: FromPath[UUID]) -> Template:
    """End a pair."""
    ctx.require("manage_pairs")
    return _child_form(request, ctx, "pair_end.html", child_id, values={"ended_on": ctx.today.isoformat()},
                       errors=FormErrors(), pair_id=pair_id)


@post("/children/{child_id:uuid}/pairs/{pair_id:uuid}/end", sync_to_thread=True)
def pair_end_submit(request: Request[Any, Any, Any], ctx: Ctx, tenant: FromPath[str], child_id: FromPath[UUID],
                    pair_id: FromPath[UUID], data: Form) -> Template | Redirect:
    """End it through the use case, freeing the helper's place."""
    done, errors = _submit(request, data, PairEnd, {}, lambda b: helpers.end_pair(
        pair_id, b.reason, b.ended_on, ctx=ctx))
    if done:
        return Redirect(f"/t/{tenant}/children/{child_id}?done=pair_ended#helpers", status_code=303)
    return _child_form(request, ctx, "pair_end.html", child_id, values=data, errors=errors, status=422,
                       pair_id=pair_id)
