"""The demo and `shouwang serve --with-workers` stop, and say so, when their Celery thread dies."""

from __future__ import annotations

import threading

from services.api import server
from services.worker import run as celery_run


def test_serving_with_workers_stops_and_exits_1_when_the_celery_thread_dies(infra, monkeypatch):
    crash = threading.Event()

    def a_celery_thread_that_crashes(infra, beat):  # what `start` gives, with a thread ending when told
        thread = threading.Thread(target=crash.wait, daemon=True)
        thread.start()
        return celery_run.Running(worker=None, thread=thread, beat=None)

    monkeypatch.setattr(celery_run, "start", a_celery_thread_that_crashes)
    status: list[int] = []
    serving = threading.Thread(target=lambda: status.append(
        server.run(infra, host="127.0.0.1", port=0, with_workers=True)), daemon=True)
    serving.start()
    assert not serving.join(0.5) and serving.is_alive()  # serving, as long as Celery lives

    crash.set()  # the thread ends on its own, as when its broker connection's reader crashed

    serving.join(30)
    assert not serving.is_alive(), "the server kept running without its Celery thread"
    assert status == [1]  # a supervisor (or the person running the demo) sees it died
