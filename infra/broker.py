"""Celery's configuration from the settings: a real broker from CELERY_BROKER_URL, else one on disk.

The embedded default is kombu's `filesystem://` transport under the data folder: no server to run,
one host only (which is what the demo is). Results go where the broker is (Redis, or RPC replies
over AMQP), or to files beside the embedded broker.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.settings import Settings

POLL_SECONDS = 0.1  # the filesystem transport polls its folder; the demo should feel immediate


def embedded_folders(data_dir: Path, *, create: bool = False) -> dict[str, Path]:
    """The folders of the filesystem broker and result store under the data folder."""
    root = data_dir / "broker"
    folders = {name: root / name for name in ("queue", "processed", "control", "results")}
    for folder in folders.values() if create else ():
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def env_config() -> dict[str, Any]:
    """The configuration the environment gives, read without side effects (no key or folder is made)."""
    return celery_config(os.environ.get("CELERY_BROKER_URL") or None,
                         Path(os.environ.get("SHOUWANG_DATA_DIR", ".shouwang")).resolve())


def settings_config(settings: Settings) -> dict[str, Any]:
    """The configuration of a process's settings, with the embedded broker's folders made if it uses them."""
    if not settings.broker_url:
        embedded_folders(settings.data_dir, create=True)
    return celery_config(settings.broker_url, settings.data_dir)


def celery_config(url: str | None, data_dir: Path) -> dict[str, Any]:
    """Every Celery setting the worker, the beat and the API (sending tasks) share."""
    common: dict[str, Any] = {
        "task_serializer": "json", "result_serializer": "json", "accept_content": ["json"],
        "timezone": "Asia/Shanghai", "enable_utc": True,
        # A task may run twice (every task is idempotent); acknowledging late means a crash never loses one.
        "task_acks_late": True, "task_reject_on_worker_lost": True, "worker_prefetch_multiplier": 1,
        "result_expires": 24 * 3600, "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # No remote control: its Redis pub/sub connection is read by the worker's event loop while `stop()` closes
        # it from another thread, and the loop then blocks in a socket read for good (no task taken, no exit).
        # Nothing here uses `celery inspect`/`control`; workers are watched through /health and their logs.
        "worker_enable_remote_control": False,
        # One queue per deployment sharing a broker (and per test run sharing the machine's Redis).
        "task_default_queue": os.environ.get("SHOUWANG_CELERY_QUEUE", "shouwang"),
    }
    if url:
        backend = url if url.startswith(("redis://", "rediss://")) else "rpc://"
        return {**common, "broker_url": url, "result_backend": backend}
    folders = embedded_folders(data_dir)
    return {
        **common,
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
            "store_processed": False, "polling_interval": POLL_SECONDS,
        },
        "result_backend": f"file://{folders['results']}",
    }


def beat_schedule_file(settings: Settings) -> str:
    """Where the single beat keeps when each schedule last ran."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return str(settings.data_dir / "celerybeat-schedule")


class BrokerProbe:
    """Whether the configured broker answers: one bounded connection check, remembered for `ttl` seconds.

    `/health` is polled by load balancers and monitors; asking the broker on every poll would cost a
    connection each time, and a broker that hangs would hold a thread per poll. One check at a time
    (the lock), each bounded by `timeout`, its answer reused until `ttl` has passed.
    """

    def __init__(self, url: str | None, *, ttl: float = 5.0, timeout: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.checks = 0  # connection checks made (what the cache saves is visible in tests)
        self._ttl, self._timeout, self._clock = ttl, timeout, clock
        self._answer: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def status(self) -> str:
        """"absent" without a broker server (the embedded transport), else "ok" or "down"."""
        if not self.url:
            return "absent"
        with self._lock:
            if self._answer is None or self._clock() - self._answer[0] >= self._ttl:
                self._answer = (self._clock(), "ok" if self._answers() else "down")
            return self._answer[1]

    def _answers(self) -> bool:
        from kombu import Connection

        self.checks += 1
        # Redis: the transport PINGs when its first channel opens; bound the socket's reads as well as its connect.
        options = {"socket_timeout": self._timeout} if self.url.startswith(("redis", "rediss")) else {}
        try:
            with Connection(self.url, connect_timeout=self._timeout, transport_options=options) as conn:
                conn.ensure_connection(max_retries=0, timeout=self._timeout)  # one attempt, no retry sleep
            return True
        except Exception:  # any failure means "not answering"; /health names the broker, not the reason
            return False
