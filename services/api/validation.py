"""Name every bad field of a body, not only the first one msgspec stops at."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

Errors = list[tuple[str, str]]


def field_errors(annotation: Any, value: Any, path: str = "") -> Errors:
    """Each field of `value` that does not fit `annotation`, as (path, message); [] when it fits."""
    try:
        msgspec.convert(value, annotation, strict=False)
        return []
    except msgspec.ValidationError as e:
        first = [(_join(path, _location(e)), _message(e))]
    inner = _unwrap(annotation, value)
    if _is_struct(inner) and isinstance(value, dict):
        return _struct_errors(inner, value, path) or first
    if get_origin(inner) in (list, tuple) and isinstance(value, list) and get_args(inner):
        item_type = get_args(inner)[0]
        found = [err for i, item in enumerate(value) for err in field_errors(item_type, item, f"{path}[{i}]")]
        return found or first
    return first


def _struct_errors(struct: type[msgspec.Struct], value: dict[str, Any], path: str) -> Errors:
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    errors: Errors = [(_join(path, key), "unknown field") for key in value if key not in fields]
    for name, info in fields.items():
        if name not in value:
            if info.required:
                errors.append((_join(path, name), "required"))
            continue
        errors.extend(field_errors(info.type, value[name], _join(path, name)))
    return errors


def _unwrap(annotation: Any, value: Any) -> Any:
    """The member of an Optional/Annotated/Union type that a value of this shape would be."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            shaped = [a for a in members if (_is_struct(_strip(a)) and isinstance(value, dict))
                      or (get_origin(_strip(a)) in (list, tuple) and isinstance(value, list))]
            annotation = (shaped or members)[0]
        else:
            return annotation


def _strip(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _location(error: msgspec.ValidationError) -> str:
    text = str(error)
    if " - at `$" not in text:
        return ""
    where = text.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".")
    missing = _quoted_after(text, "missing required field `") or _quoted_after(text, "unknown field `")
    return _join(where, missing) if missing else where


def _message(error: msgspec.ValidationError) -> str:
    return str(error).split(" - at `$", 1)[0]


def _quoted_after(text: str, marker: str) -> str | None:
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split("`", 1)[0]


def _join(path: str, key: str) -> str:
    if not key:
        return path
    if not path:
        return key
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"
