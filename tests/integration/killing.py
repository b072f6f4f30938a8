"""Killing a projection runner in the middle of a batch, for the crash-recovery tests."""

from __future__ import annotations

import base64
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from infra.bootstrap import Infrastructure

ROOT = Path(__file__).resolve().parents[2]


def table_being_written(database_url: str, table: str, within: float = 5.0) -> bool:
    """Whether another session holds a write lock on `table` (an open batch has written rows)."""
    deadline = time.monotonic() + within
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM pg_locks WHERE pid <> pg_backend_pid() AND mode = 'RowExclusiveLock'"
                            " AND relation = %s::regclass", [table]).fetchone()[0]:
                return True
            time.sleep(0.01)  # the subprocess's statements may still be in flight; bounded by the deadline
    return False


def kill_mid_batch(script: str, tenant: str, infra: Infrastructure, database_url: str, data_dir: Path,
                   written_table: str) -> None:
    """Run `script` (a runner that prints "mid-batch" and hangs), check it has written rows, then SIGKILL it."""
    env = {**os.environ, "DATABASE_URL": database_url, "SHOUWANG_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
           "SHOUWANG_MASTER_KEY": base64.b64encode(infra.settings.master_key).decode()}
    process = subprocess.Popen([sys.executable, "-c", script, tenant], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=60), "the runner never reached the middle of a batch"
        assert process.stdout.readline() == b"mid-batch\n", process.stderr.read()
        assert table_being_written(database_url, written_table), "the killed batch had written no rows"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
