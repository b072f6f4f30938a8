"""A worker process whose Celery thread dies stops, so its supervisor can start a new one."""

from __future__ import annotations

import threading

from services.worker.run import Running


def a_worker_thread(until: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=until.wait, daemon=True)
    thread.start()
    return thread


def test_a_celery_thread_that_ends_on_its_own_stops_the_process_and_says_it_died():
    crash = threading.Event()
    stop = threading.Event()
    died = Running(worker=None, thread=a_worker_thread(crash), beat=None).watch(stop)
    assert not stop.wait(0.2)  # alive: nothing happens
    crash.set()  # the thread ends, as when its broker reader crashed
    assert stop.wait(5)
    assert died.is_set()


def test_a_celery_thread_ended_by_a_stop_is_not_a_death():
    stop = threading.Event()
    died = Running(worker=None, thread=a_worker_thread(stop), beat=None).watch(stop)
    stop.set()
    assert not died.wait(1.5)
