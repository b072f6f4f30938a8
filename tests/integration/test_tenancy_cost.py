"""Cost does not grow with tenants: one pool, no thread per tenant, an evicting cache of logs."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import psycopg
import pytest

from domain.child import Child
from infra.bootstrap import connect
from infra.migrations import migrate_all, migrate_platform, migrate_tenant
from services.app import platform
from tests.builders import child_details
from tests.conftest import NOW, platform_ctx, settings_for

TENANTS = 1000


def _create_bare_tenants(database_url: str, districts: tuple[str, ...], count: int) -> list[str]:
    """Register `count` tenants with one grid each, directly in SQL (the API path is tested elsewhere)."""
    per_district = -(-count // len(districts))
    codes = [f"{d}{n:03d}" for d in districts for n in range(1, per_district + 1)][:count]
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate_platform(conn)
        with conn.transaction():
            for district in districts:
                conn.execute("INSERT INTO platform.units (code, name, level) VALUES (%s, '压测区', 'district')"
                             " ON CONFLICT DO NOTHING", [district])
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO platform.units (code, name, level, parent, tenant) VALUES (%s, %s, %s, %s, %s)",
                    [row for c in codes for row in (
                        (c, c, "street", c[:6], c), (c + "001", c, "community", c, c),
                        (c + "00101", c, "grid", c + "001", c))])
                cur.executemany(
                    "INSERT INTO platform.tenants (code, name, district_code, schema_name, settings)"
                    " VALUES (%s, %s, %s, %s, '{}')", [(c, c, c[:6], f"t_{c}") for c in codes])
        for code in codes:
            migrate_tenant(conn, code)
    return codes


def test_one_process_serves_a_thousand_tenants_with_a_fixed_pool_and_no_extra_threads(database_url, tmp_path):
    started = time.monotonic()
    codes = _create_bare_tenants(database_url, ("159901", "159902"), TENANTS)
    created_in = time.monotonic() - started
    infra = connect(settings_for(database_url, tmp_path, pool_size=4, pool_overflow=4, tenant_cache_size=50),
                    migrate=False)
    stamp = platform_ctx(infra).stamp()

    def serve(tenants: list[str]) -> tuple[set[threading.Thread], int]:
        for code in tenants:
            infra.logs[code].record(Child.register(uuid4(), child_details(code + "00101"), stamp=stamp))
        # The pool's own count: other fixtures of the run hold connections to the same database.
        return set(threading.enumerate()), infra.datastore.pool.get_stats()["pool_size"]

    try:
        threads_for_ten, connections_for_ten = serve(codes[:10])
        threads_for_all, connections_for_all = serve(codes[10:])
        # The pool's own few threads and connections, and not one more for 990 more tenants (threads that
        # other fixtures of the run started earlier may end meanwhile: only a new one counts).
        assert threads_for_all <= threads_for_ten, threads_for_all - threads_for_ten
        assert connections_for_all <= 4 + 4 and connections_for_all <= connections_for_ten + 4
        assert len(infra.logs) == 50  # the cache evicted the rest; they cost nothing while evicted
        # An evicted tenant's log comes back on demand, reading its own events.
        assert infra.logs[codes[0]].position() == 1
    finally:
        infra.close()
    print(f"\n{TENANTS} tenant schemas migrated in {created_in:.1f} s")


def test_migrate_twice_changes_nothing(database_url):
    catalog = (
        "SELECT n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = 'platform' OR n.nspname LIKE 't\\_%' ORDER BY 1, 2, 4"
    )
    functions = ("SELECT n.nspname, p.proname, md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n"
                 " ON n.oid = p.pronamespace WHERE n.nspname LIKE 't\\_%' ORDER BY 1, 2")
    migrate_all(database_url)
    with psycopg.connect(database_url) as conn:
        before = conn.execute(catalog).fetchall(), conn.execute(functions).fetchall()
        applied_before = conn.execute("SELECT count(*) FROM platform.schema_migrations").fetchone()

    ran = migrate_all(database_url)

    assert set(ran.values()) == {0}
    with psycopg.connect(database_url) as conn:
        assert (conn.execute(catalog).fetchall(), conn.execute(functions).fetchall()) == before
        assert conn.execute("SELECT count(*) FROM platform.schema_migrations").fetchone() == applied_before


def test_a_tenant_is_created_with_its_schema_and_refused_twice(infra):
    admin = platform_ctx(infra)
    platform.create_tenant("150903001", "霸王河街道", "150903", "白云区", ctx=admin)
    with psycopg.connect(infra.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 't_150903001'").fetchone()[0] == 1
    from domain.errors import RuleViolation

    with pytest.raises(RuleViolation):
        platform.create_tenant("150903001", "霸王河街道", "150903", "白云区", ctx=admin)
    assert NOW  # the shared clock of the tests
