"""The embedded default: psycopg and asyncpg both reach it, and its data survives a restart."""

import asyncio
import hashlib
from pathlib import Path

import asyncpg
import psycopg
import pytest

from infra.embedded import EmbeddedPostgres

DO_BLOCK = """
do $$
begin
    create table if not exists probe (id int primary key, note text not null);
    for i in 1..3 loop
        insert into probe values (i, 'row ' || i);
    end loop;
end
$$
"""


async def _asyncpg_roundtrip(dsn: str) -> tuple[bytes, str]:
    conn = await asyncpg.connect(dsn)
    try:
        digest = await conn.fetchval("select sha256('abc'::bytea)")
        database = await conn.fetchval("select current_database()")
        return digest, database
    finally:
        await conn.close()


@pytest.mark.embedded
def test_embedded_postgres_serves_both_drivers_and_survives_restart(tmp_path: Path) -> None:
    expected = hashlib.sha256(b"abc").digest()
    pg = EmbeddedPostgres(tmp_path / "data")
    try:
        dsn = pg.start()
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("select current_database()").fetchone() == ("shouwang",)
            assert conn.execute("select sha256('abc'::bytea)").fetchone() == (expected,)
            assert int(conn.execute("show max_connections").fetchone()[0]) >= 200
            assert conn.execute("show fsync").fetchone() == ("on",)
            conn.execute(DO_BLOCK)
        assert asyncio.run(_asyncpg_roundtrip(dsn)) == (expected, "shouwang")
        pg.stop()

        # A fresh handle on the same directory reuses the cluster instead of re-initialising it.
        pg = EmbeddedPostgres(tmp_path / "data")
        dsn = pg.start()
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("select id, note from probe order by id").fetchall()
        assert rows == [(1, "row 1"), (2, "row 2"), (3, "row 3")]
    finally:
        pg.stop()
