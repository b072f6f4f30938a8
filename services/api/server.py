"""Serving the API with uvicorn (`shouwang serve`)."""

from __future__ import annotations

import logging
import re
import threading
from contextlib import suppress

import uvicorn
from uvicorn.main import STARTUP_FAILURE

from infra.bootstrap import Infrastructure, connect
from services.api.app import create_app

_TOKEN = re.compile(r"(token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Access logs print paths with their query: keep `?token=` (live notifications) out of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        return True


def run(infra: Infrastructure, *, host: str = "127.0.0.1", port: int = 8000, with_workers: bool = False) -> int:
    """Serve the API against `infra` until interrupted; with workers, also the projections, Celery and the beat.

    Returns the exit status: 1 if the Celery thread died on its own, which stops the server too (as it stops a
    `shouwang worker`): a process that takes no more tasks had better end, so its supervisor starts a new one.
    """
    from services.worker import app as celery_app
    from services.worker import run as celery_run

    celery_app.configure(infra.settings)  # the API sends tasks (reports asked for) to the same broker
    for name in ("uvicorn.access", "uvicorn.error"):  # uvicorn's logging setup keeps a logger's filters
        logging.getLogger(name).addFilter(RedactTokens())
    stop = threading.Event()
    workers = _start_workers(infra, stop) if with_workers else None
    celery = celery_run.start(infra, beat=True) if with_workers else None
    died = celery.watch(stop) if celery is not None else threading.Event()
    # Open event streams never end by themselves: give them a few seconds, then close them, on shutdown.
    config = uvicorn.Config(create_app(infra), host=host, port=port, log_level="info", timeout_graceful_shutdown=3)
    web = uvicorn.Server(config)
    threading.Thread(target=_stop_serving_on, args=(stop, web), name="serve-stop", daemon=True).start()
    try:
        web.run()
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again
        pass
    finally:
        stop.set()
        if celery is not None:
            celery.stop()
        if workers is not None:
            workers.join(timeout=10)
    if not web.started:
        raise SystemExit(STARTUP_FAILURE)  # as `uvicorn.run` does (the port taken, say)
    return 1 if died.is_set() else 0


def _stop_serving_on(stop: threading.Event, web: uvicorn.Server) -> None:
    stop.wait()
    web.should_exit = True  # uvicorn's main loop looks at it a few times a second


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Connect to DATABASE_URL (or the embedded database), migrate, and serve the API."""
    infra = connect()
    try:
        return run(infra, host=host, port=port)
    finally:
        infra.close()


def _start_workers(infra: Infrastructure, stop: threading.Event) -> threading.Thread | None:
    with suppress(ImportError):
        from infra.projection_runner import run_forever  # type: ignore[import-not-found]

        thread = threading.Thread(target=run_forever, args=(infra, stop), name="projections", daemon=True)
        thread.start()
        return thread
    return None
