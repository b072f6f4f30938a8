"""Serving the API with uvicorn (`shouwang serve`)."""

from __future__ import annotations

import threading
from contextlib import suppress

import uvicorn

from infra.bootstrap import Infrastructure, connect
from services.api.app import create_app


def run(infra: Infrastructure, *, host: str = "127.0.0.1", port: int = 8000, with_workers: bool = False) -> None:
    """Serve the API against `infra` until interrupted; with workers, run the projections in-process too."""
    stop = threading.Event()
    workers = _start_workers(infra, stop) if with_workers else None
    try:
        uvicorn.run(create_app(infra), host=host, port=port, log_level="info")
    finally:
        stop.set()
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
