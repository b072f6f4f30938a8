"""Binary array parameters in one pass, for the `unnest(%b::uuid[], ...)` statements of the row writers.

psycopg dumps a list parameter element by element in Python (a dumper call, a length packed and two
appends per element): writing a long catch-up's rows, that was about a sixth of the projections'
Python time. For flat lists of the element types the writers use (uuid, text, integers, dates, bools,
bytea) this builds the same bytes with one comprehension or one `struct.pack`; anything else (nested
lists, NULLs, other types) goes the library's way. `tests/unit/test_pg_arrays.py` checks the bytes are
the library's own.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg.adapt import Buffer
from psycopg.types.array import ListBinaryDumper

_HEAD = struct.Struct("!IIIII")  # ndims, hasnull, element oid, length of the dimension, lower bound
_LEN = struct.Struct("!i")
_UUID_LEN = _LEN.pack(16)
_PG_EPOCH = date(2000, 1, 1).toordinal()  # binary dates count days from 2000-01-01


def _fixed(code: str, size: int, value: Callable[[Any], int] | None = None) -> Callable[[list[Any]], bytes]:
    """Elements of one fixed size: every length and value in one `struct.pack`."""
    def dump(items: list[Any]) -> bytes:
        values = items if value is None else [value(v) for v in items]
        fields = [size] * (2 * len(values))  # each element's length, then its value
        fields[1::2] = values
        return struct.pack("!" + ("i" + code) * len(values), *fields)
    return dump


def _uuids(items: list[Any]) -> bytes:
    # `.int.to_bytes` is what `UUID.bytes` does, without a Python call per element.
    return b"".join([_UUID_LEN + u.int.to_bytes(16, "big") for u in items])


def _texts(items: list[Any]) -> bytes:
    encoded = [s.encode() for s in items]
    return b"".join([_LEN.pack(len(b)) + b for b in encoded])


def _bytes(items: list[Any]) -> bytes:
    return b"".join([_LEN.pack(len(b)) + bytes(b) for b in items])


# By the element type's oid (the same whichever of psycopg's C or Python dumpers chose it).
_ELEMENTS: dict[int, Callable[[list[Any]], bytes]] = {
    2950: _uuids,  # uuid
    25: _texts,  # text
    1043: _texts,  # varchar
    17: _bytes,  # bytea
    16: _fixed("?", 1),  # bool
    21: _fixed("h", 2),  # int2
    23: _fixed("i", 4),  # int4
    20: _fixed("q", 8),  # int8
    1082: _fixed("i", 4, lambda d: d.toordinal() - _PG_EPOCH),  # date
}
# The type each fast path takes exactly (a subclass or a look-alike goes the library's way).
_TYPES: dict[int, type] = {
    2950: UUID, 25: str, 1043: str, 17: bytes, 16: bool, 21: int, 23: int, 20: int, 1082: date,
}


class FlatListBinaryDumper(ListBinaryDumper):
    """psycopg's binary list dumper, with one pass for flat lists without NULLs of common element types."""

    def dump(self, obj: list[Any]) -> Buffer | None:
        sub = self.sub_dumper
        fast = _ELEMENTS.get(sub.oid) if sub is not None and obj else None
        if fast is not None:
            # One type throughout (no None, no nested list, nothing else); `set(map(type, ...))` runs in C.
            if set(map(type, obj)) == {_TYPES[sub.oid]}:  # type: ignore[union-attr]
                try:
                    return _HEAD.pack(1, 0, sub.oid, len(obj), 1) + fast(obj)  # type: ignore[union-attr]
                except struct.error:
                    pass  # an integer too large for the element type psycopg chose: its own way says so
        return super().dump(obj)


def install(adapters: psycopg.adapt.AdaptersMap = psycopg.adapters) -> None:
    """Use the one-pass dumper for lists sent in binary (connections made afterwards)."""
    adapters.register_dumper(list, FlatListBinaryDumper)
