"""Rendering a page: the Jinja environment shipped in the package, and what every template is given."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from domain.access import may
from services.api.dashboards import NO_DASHBOARDS
from services.web.labels import label, options
from services.web.messages import text
from services.web.session import lang_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"¥{fen / 100:,.2f}"


def _when(value: datetime | date | None) -> str:
    """A recording time as people there read it: Shanghai local time, to the minute."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value.isoformat()


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Templates from the package folder; autoescaped, and undefined names fail loudly in tests."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(yuan=_yuan, when=_when)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


class Page:
    """What a template may ask about the viewer: words in their language, and what their role may do."""

    def __init__(self, request: Request[Any, Any, Any]) -> None:
        self.lang = lang_of(request)
        self.user = request.scope.get("user")
        self.path = request.url.path
        query = request.url.query
        self.here = self.path + (f"?{query}" if query else "")
        # Regional users address a tenant through the path; everyone else works in their own.
        self.tenant = request.path_params.get("tenant") or (self.user.tenant if self.user else None)

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.lang, **values)

    def label(self, kind: str, value: Any) -> str:
        return label(kind, value, self.lang)

    def options(self, kind: str) -> list[tuple[str, str]]:
        return options(kind, self.lang)

    def semester(self, key: str) -> str:
        """`2026-autumn` as people say it: 2026年秋季学期 / Autumn 2026."""
        year, _, term = key.partition("-")
        if self.lang == "en":
            return f"{term.capitalize()} {year}"
        return f"{year}年{'秋季' if term == 'autumn' else '春季'}学期"

    def month(self, key: str) -> str:
        """`2026-09` as a chart's axis says it: 9月 / Sep."""
        month = int(key[5:7])
        return date(2000, month, 1).strftime("%b") if self.lang == "en" else f"{month}月"

    @property
    def dashboards(self) -> bool:
        """Whether the viewer has dashboards and concern queues (helpers and platform admins do not)."""
        return self.user is not None and self.user.role not in NO_DASHBOARDS and bool(self.user.scope_unit)

    def may(self, action: str) -> bool:
        return self.user is not None and may(self.user.role, action)


def page(request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any) -> Template:
    """A rendered page; `context` adds to what every page gets (`p`: the viewer)."""
    p = Page(request)
    return Template(template_name=template, context={"p": p, "t": p.t, "lang": p.lang, **context},
                    status_code=status)
