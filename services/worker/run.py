"""Running a Celery worker (and the one beat) inside a process that already has its infrastructure.

`shouwang worker`, `shouwang demo` and `serve --with-workers` run them as threads beside the
projections: the worker uses a thread pool (forking a process that holds database pools and
threads is unsafe), its tasks share the process's infrastructure.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass

from celery.beat import EmbeddedService
from celery.worker import state

from infra.bootstrap import Infrastructure
from infra.broker import beat_schedule_file
from services.worker.app import app, configure, use

log = logging.getLogger(__name__)


@dataclass
class Running:
    """A worker (and maybe the beat) running in this process's threads."""

    worker: object
    thread: threading.Thread
    beat: object | None

    def watch(self, stop: threading.Event) -> threading.Event:
        """Set `stop` if the worker's thread ends before `stop` is set; the returned event says it did.

        A worker thread that dies (its broker connection's reader has crashed, docs/notifications.md) takes
        no more tasks while the process lives on: the process had better stop, so its supervisor starts
        a new one.
        """
        died = threading.Event()

        def wait_for_the_worker() -> None:
            while not stop.is_set():
                self.thread.join(timeout=1.0)
                if not self.thread.is_alive() and not stop.is_set():
                    log.error("the celery worker thread ended on its own; stopping this process")
                    died.set()
                    stop.set()

        threading.Thread(target=wait_for_the_worker, name="celery-watch", daemon=True).start()
        return died

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the beat, then let the worker finish its current tasks and leave."""
        if self.beat is not None:
            self.beat.stop()  # type: ignore[attr-defined]
        state.should_terminate = 0  # the worker's loop checks this between messages
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("celery worker still busy after %.0f s; leaving it to the process exit", timeout)
        state.should_terminate = None


def start(infra: Infrastructure, *, beat: bool = True, concurrency: int | None = None) -> Running:
    """Start a worker over the configured broker, and the beat if asked (run exactly one beat per deployment)."""
    configure(infra.settings)
    use(infra)
    # As `celery worker` does: without it, a worker started in a thread runs tasks but stores no results.
    app.finalize()
    app.set_current()
    app.set_default()
    worker = app.WorkController(
        pool="threads", concurrency=concurrency or int(os.environ.get("SHOUWANG_CELERY_CONCURRENCY", "4")),
        hostname=f"shouwang@{socket.gethostname()}.{os.getpid()}", loglevel="INFO",
        # Mingle and gossip need broadcast queues the embedded broker does not have; nothing here uses them.
        without_heartbeat=True, without_mingle=True, without_gossip=True)
    thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
    thread.start()
    service = None
    if beat:
        service = EmbeddedService(app, thread=True, schedule_filename=beat_schedule_file(infra.settings))
        service.start()
    return Running(worker, thread, service)
