"""The one-pass binary list dumper writes exactly the bytes psycopg's own dumper writes."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import psycopg
import pytest
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListBinaryDumper

from infra.pg_arrays import FlatListBinaryDumper

CASES = [
    [uuid4() for _ in range(50)],
    ["网格", "", "a,b", "NULL", "x" * 300],
    [1, 2, 3], [1, 70_000, -5], [1, 2**40],
    [True, False, True],
    [date(2026, 9, 1), date(1999, 12, 31), date(2000, 1, 1)],
    [b"\x00\x01", b"", b"x" * 100],
    [uuid4(), None, uuid4()],  # a NULL: the library's way
    [[1, 2], [3, 4]],  # nested: the library's way
    [],
]


class Context:
    """What a Transformer needs of a connection: its adapters."""

    connection = None

    def __init__(self, list_dumper: type) -> None:
        self.adapters = psycopg.adapt.AdaptersMap(psycopg.adapters)
        self.adapters.register_dumper(list, list_dumper)


def dumped(list_dumper: type, items: list) -> tuple[bytes, int]:
    dumper = Transformer(Context(list_dumper)).get_dumper(items, PyFormat.BINARY)
    return bytes(dumper.dump(items)), dumper.oid


@pytest.mark.parametrize("items", CASES, ids=lambda c: type(c[0]).__name__ if c else "empty")
def test_a_list_is_dumped_to_the_same_bytes_and_type_as_psycopg_dumps_it(items):
    assert dumped(FlatListBinaryDumper, items) == dumped(ListBinaryDumper, items)


@pytest.mark.parametrize("items", CASES[:8], ids=lambda c: type(c[0]).__name__)
def test_a_flat_list_of_a_common_type_is_dumped_in_one_pass(items, monkeypatch):
    def element_by_element(*args):
        raise AssertionError("dumped element by element")

    monkeypatch.setattr(ListBinaryDumper, "_dump_list", element_by_element)
    dumped(FlatListBinaryDumper, items)
