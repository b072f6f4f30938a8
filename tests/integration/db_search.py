"""Search every table of a database for a plaintext value, in text and in raw bytes."""

from __future__ import annotations

import psycopg
from psycopg import sql


def tables_containing(database_url: str, needle: str) -> list[str]:
    """Every `schema.table.column` (or `schema.table` for a row's text form) where `needle` appears."""
    found: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            target = sql.Identifier(schema, table)
            hit = conn.execute(sql.SQL("SELECT 1 FROM {} t WHERE strpos(t::text, %s) > 0 LIMIT 1").format(target),
                               [needle]).fetchone()
            if hit:
                found.append(f"{schema}.{table}")
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                " AND data_type = 'bytea'", [schema, table]).fetchall()
            for (column,) in columns:
                hit = conn.execute(sql.SQL("SELECT 1 FROM {} WHERE position(convert_to(%s, 'UTF8') IN {}) > 0"
                                           " LIMIT 1").format(target, sql.Identifier(column)), [needle]).fetchone()
                if hit:
                    found.append(f"{schema}.{table}.{column}")
    return found
