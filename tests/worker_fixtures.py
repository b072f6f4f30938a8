"""A real Celery worker for tests: the app's own tasks, over Redis when CELERY_BROKER_URL is set, else the
embedded filesystem broker; never eager. Import the fixture into a test module to use it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import pytest
from celery.contrib.testing.worker import start_worker

from infra.bootstrap import Infrastructure
from services.worker import app as worker_app

# Test runs on one machine share its Redis: each run sends to and consumes from a queue of its own.
QUEUE = f"shouwang-test-{os.getpid()}"


def broker_settings(infra: Infrastructure):
    """The test settings with the broker the run uses (Redis when CELERY_BROKER_URL is set)."""
    return replace(infra.settings, broker_url=os.environ.get("CELERY_BROKER_URL") or None)


@pytest.fixture(scope="module")
def celery_worker(infra: Infrastructure) -> Iterator[object]:
    """A worker thread consuming the broker (two threads, so two tasks can race), tasks on the test database.

    One per module that uses it: a worker left idle through the rest of a long run twice lost its Redis
    connection (kombu's BRPOP reader raised, "Connection closed by server") and took no task after it.
    """
    app = worker_app.configure(broker_settings(infra))
    app.conf.task_default_queue = QUEUE
    worker_app.use(infra)
    try:
        # Only the run's own queue: Celery's default consuming set is fixed when the app first routes a task.
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30,
                          loglevel="WARNING", queues=[QUEUE]) as worker:
            yield worker
    finally:
        worker_app.use(None)
