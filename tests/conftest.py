"""Shared fixtures: a real PostgreSQL (DATABASE_URL, else embedded), a fresh database per run."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest

from infra.bootstrap import Infrastructure, connect
from infra.settings import Settings
from services.app.context import Context

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The PostgreSQL server the tests use: DATABASE_URL when set, else an embedded one."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    from infra.embedded import EmbeddedPostgres

    # Not under pytest's own temp tree: every pytest session on the machine resets that tree's
    # permissions to owner-only, and the server runs as another OS user when we are root.
    data_dir = Path(os.environ.get("SHOUWANG_TEST_PG_DIR") or tempfile.mkdtemp(prefix="shouwang-test-pg-"))
    server = EmbeddedPostgres(data_dir)
    try:
        yield server.start()
    finally:
        server.stop()
        if "SHOUWANG_TEST_PG_DIR" not in os.environ:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A database of its own for this test run, dropped afterwards."""
    name = f"shouwang_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**info)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings_for(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url, data_dir=data_dir, master_key=secrets.token_bytes(32), broker_url=None,
        pool_size=4, pool_overflow=4, tenant_cache_size=64,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def infra(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    infrastructure = connect(settings_for(database_url, tmp_path_factory.mktemp("data")))
    yield infrastructure
    infrastructure.close()


_streets = itertools.count(1)


@dataclass
class Street:
    """A tenant made for one test: a street with two communities, each with a grid."""

    infra: Infrastructure
    code: str
    community: str
    grid: str
    other_grid: str

    def ctx(self, role: str = "tenant_admin", scope: str | None = None, *, helper_id: UUID | None = None,
            now: datetime = NOW, actor: UUID | None = None) -> Context:
        return Context(tenant=self.code, actor=actor or uuid4(), role=role, scope=scope or self.code, now=now,
                       directory=self.infra.directory, log=self.infra.logs[self.code], helper_id=helper_id)


def platform_ctx(infra: Infrastructure) -> Context:
    return Context(tenant=None, actor=uuid4(), role="platform_admin", scope=None, now=NOW, directory=infra.directory)


def make_street(infra: Infrastructure, district: str = "150902") -> Street:
    """A fresh tenant with communities ...001 and ...002 and a grid in each."""
    from services.app import platform

    code = f"{district}{next(_streets):03d}"
    admin = platform_ctx(infra)
    platform.create_tenant(code, f"测试街道{code}", district, "集宁区", ctx=admin)
    for community in ("001", "002"):
        platform.add_unit(code, code + community, f"社区{community}", "community", code, ctx=admin)
        platform.add_unit(code, code + community + "01", f"{community}社区1号网格", "grid", code + community,
                          ctx=admin)
    return Street(infra, code, code + "001", code + "00101", code + "00201")


@pytest.fixture
def street(infra: Infrastructure) -> Street:
    return make_street(infra)
