"""Wires settings, the database (given or embedded), the shared pool, case logs and directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from infra.audit import signing_key
from infra.caselog import CaseLogs
from infra.crypto import KeyWrapper
from infra.directory import Directory
from infra.migrations import migrate_all
from infra.pg_arrays import install as install_array_dumper
from infra.settings import Settings, load_settings


def datastore_for(url: str, *, pool_size: int, overflow: int) -> PostgresDatastore:
    """The one connection pool a process uses for every tenant."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return PostgresDatastore(
        dbname=str(info.get("dbname", "postgres")),
        host=str(info.get("host", "127.0.0.1")),
        port=str(info.get("port", "5432")),
        user=str(info.get("user", "postgres")),
        password=str(info.get("password", "")),
        pool_size=pool_size,
        max_overflow=overflow,
        connect_timeout=30,
        # A request waits for a free connection rather than opening more: cost stays bounded.
        max_waiting=0,
    )


def resolve_database_url(settings: Settings) -> tuple[str, Any]:
    """DATABASE_URL when set, else an embedded PostgreSQL in the data folder (started here)."""
    if settings.database_url:
        return settings.database_url, None
    from infra.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "pg")
    return server.start(), server


@dataclass
class Infrastructure:
    settings: Settings
    database_url: str
    datastore: PostgresDatastore
    logs: CaseLogs
    directory: Directory
    wrapper: KeyWrapper
    embedded: Any = field(default=None)

    def close(self) -> None:
        self.logs.close()  # its notifier sends through the pool: stop it first
        self.datastore.close()
        if self.embedded is not None:
            self.embedded.stop()


def connect(settings: Settings | None = None, *, migrate: bool = True) -> Infrastructure:
    """Everything a process needs to serve every tenant."""
    settings = settings or load_settings()
    url, embedded = resolve_database_url(settings)
    if migrate:
        migrate_all(url)
    install_array_dumper()  # before the pool's first connection: they copy the adapters they are made with
    datastore = datastore_for(url, pool_size=settings.pool_size, overflow=settings.pool_overflow)
    wrapper = KeyWrapper(settings.master_key)
    return Infrastructure(
        settings=settings, database_url=url, datastore=datastore,
        logs=CaseLogs(datastore, wrapper, signing_key(settings.master_key), maxsize=settings.tenant_cache_size),
        directory=Directory(datastore), wrapper=wrapper, embedded=embedded,
    )
