"""Form posts → the API's request bodies, with every refusal placed beside the field it concerns.

A form's input names are the body's field paths (`guardian.name`, `parents[0].phone`), so the
API's msgspec validation and the use cases' `InvalidValue(field=...)` name the input directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from domain.errors import DomainError, NotFound
from services.api.validation import field_errors

T = TypeVar("T")
FORM_LEVEL = "_form"
NOT_FOUND = "未找到，或不在您的管辖范围内"
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class FormErrors(dict[str, str]):
    """Field path → message; `FORM_LEVEL` holds what belongs to no single field."""

    def add(self, field: str | None, message: str) -> None:
        self.setdefault(field or FORM_LEVEL, message)


def nest(form: Mapping[str, str]) -> dict[str, Any]:
    """`{"guardian.name": "x", "parents[0].phone": "y"}` → nested dicts and lists; blank inputs are left out."""
    body: dict[str, Any] = {}
    for path, raw in form.items():
        value = raw.strip() if isinstance(raw, str) else raw
        if value in ("", None) or path.startswith("_"):
            continue
        keys = [name or int(index) for name, index in _PART.findall(path)]
        _put(body, keys, value)
    return body


def _put(container: Any, keys: list[Any], value: Any) -> None:
    for key, following in zip(keys, keys[1:], strict=False):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(container) <= key:
                container.append(None)
            container[key] = container[key] if container[key] is not None else empty
        else:
            container.setdefault(key, empty)
        container = container[key]
    if isinstance(keys[-1], int):
        while len(container) <= keys[-1]:
            container.append(None)
    container[keys[-1]] = value


def convert(body: dict[str, Any], shape: type[T], errors: FormErrors, lang: str) -> T | None:
    """`body` as the API's request type, or None with each bad field's message added to `errors`."""
    try:
        return msgspec.convert(body, shape, strict=False)
    except msgspec.ValidationError:
        for path, message in field_errors(shape, body):
            errors.add(path, field_message(message, lang))
        if not errors:
            errors.add(None, field_message("", lang))
        return None


def refused(exc: DomainError, errors: FormErrors) -> FormErrors:
    """A use case's refusal, beside its field (`changes.x` and friends are shown at `x`)."""
    field = exc.field.removeprefix("changes.") if exc.field else None
    # "Not found" and "not yours" are one answer, and the log's own wording is not for users.
    errors.add(field, NOT_FOUND if isinstance(exc, NotFound) else exc.message)
    return errors


_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^required$"), "此项为必填项", "This field is required"),
    (re.compile(r"length >= 1"), "此项不能为空", "This field cannot be empty"),
    (re.compile(r"length <= (\d+)"), "最多{0}个字符", "At most {0} characters"),
    (re.compile(r"matching regex"), "格式不正确", "The format is not valid"),
    (re.compile(r"Invalid enum value"), "请从列表中选择", "Choose one of the options"),
    (re.compile(r"RFC3339 encoded date|Expected `date"), "请填写有效日期（年-月-日）", "Enter a valid date (YYYY-MM-DD)"),
    (re.compile(r"Expected `uuid`|Invalid UUID"), "请从列表中选择", "Choose one of the options"),
    (re.compile(r"Expected `int[^`]*` >= (-?\d+)"), "不能小于{0}", "Must be at least {0}"),
    (re.compile(r"Expected `int[^`]*` <= (-?\d+)"), "不能大于{0}", "Must be at most {0}"),
    (re.compile(r"Expected `int[^`]*` > (-?\d+)"), "须大于{0}", "Must be more than {0}"),
    (re.compile(r"Expected `int"), "请填写整数", "Enter a whole number"),
    (re.compile(r"unknown field"), "不认识的字段", "Unknown field"),
)


def field_message(message: str, lang: str) -> str:
    """msgspec's English validation message in the user's language."""
    for pattern, zh, en in _RULES:
        found = pattern.search(message)
        if found:
            return (en if lang == "en" else zh).format(*found.groups())
    return "Not a valid value" if lang == "en" else "填写的内容无效"
