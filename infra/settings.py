"""Configuration, read once from the environment into a typed object."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    master_key: bytes
    broker_url: str | None
    pool_size: int
    pool_overflow: int
    tenant_cache_size: int


def _master_key(data_dir: Path) -> bytes:
    """The key-encryption key: SHOUWANG_MASTER_KEY (base64, 32 bytes), else one kept in the data folder."""
    given = os.environ.get("SHOUWANG_MASTER_KEY")
    if given:
        key = base64.b64decode(given)
        if len(key) != 32:
            raise ValueError("SHOUWANG_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    # Without a configured key (demo, tests) keep one beside the embedded database,
    # never inside it: a database dump alone must not be enough to read personal data.
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def load_settings() -> Settings:
    """Read the process's settings from its environment."""
    data_dir = Path(os.environ.get("SHOUWANG_DATA_DIR", ".shouwang")).resolve()
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        data_dir=data_dir,
        master_key=_master_key(data_dir),
        broker_url=os.environ.get("CELERY_BROKER_URL") or None,
        pool_size=int(os.environ.get("SHOUWANG_POOL_SIZE", "8")),
        pool_overflow=int(os.environ.get("SHOUWANG_POOL_OVERFLOW", "8")),
        tenant_cache_size=int(os.environ.get("SHOUWANG_TENANT_CACHE", "256")),
    )
