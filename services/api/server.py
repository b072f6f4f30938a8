"""Serving the API with uvicorn (`shouwang serve`)."""

from __future__ import annotations

import logging
import re
import threading
from contextlib import suppress

import uvicorn

from infra.bootstrap import Infrastructure, connect
from services.api.app import create_app


_TOKEN = re.compile(r"(token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Access logs print paths with their query: keep `?token=` (live notifications) out of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        return True


def run(infra: Infrastructure, *, host: str = "127.0.0.1", port: int = 8000, with_workers: bool = False) -> None:
    """Serve the API against `infra` until interrupted; with workers, also the projections, Celery and the beat."""
    from services.worker import app as celery_app, run as celery_run

    celery_app.configure(infra.settings)  # the API sends tasks (reports asked for) to the same broker
    for name in ("uvicorn.access", "uvicorn.error"):  # uvicorn's logging setup keeps a logger's filters
        logging.getLogger(name).addFilter(RedactTokens())
    stop = threading.Event()
    workers = _start_workers(infra, stop) if with_workers else None
    celery = celery_run.start(infra, beat=True) if with_workers else None
    try:
        # Open event streams never end by themselves: give them a few seconds, then close them, on shutdown.
        uvicorn.run(create_app(infra), host=host, port=port, log_level="info", timeout_graceful_shutdown=3)
    finally:
        stop.set()
        if celery is not None:
            celery.stop()
        if workers is not None:
            workers.join(timeout=10)


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Connect to DATABASE_URL (or the embedded database), migrate, and serve the API."""
    infra = connect()
    try:
        run(infra, host=host, port=port)
    finally:
        infra.close()


def _start_workers(infra: Infrastructure, stop: threading.Event) -> threading.Thread | None:
    with suppress(ImportError):
        from infra.projection_runner import run_forever  # type: ignore[import-not-found]

        thread = threading.Thread(target=run_forever, args=(infra, stop), name="projections", daemon=True)
        thread.start()
        return thread
    return None
