"""The Celery app: configured from the settings (CELERY_BROKER_URL, else the embedded broker), with its beat schedule.

Tasks take ids and rebuild their tenant context from this process's infrastructure, connected once
per worker process on first use (`infrastructure()`); the API process only sends tasks.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from celery import Celery
from celery.schedules import crontab

from infra.broker import env_config, settings_config
from infra.settings import Settings

if TYPE_CHECKING:
    from infra.bootstrap import Infrastructure

# How often the deadline checks run; an urgent concern is escalated at most this long after its deadline.
DEADLINE_MINUTES = float(os.environ.get("SHOUWANG_DEADLINE_MINUTES", "5"))

app = Celery("shouwang", include=["services.worker.tasks"])
app.add_defaults(env_config)  # read lazily from the environment; entry points call `configure` with their settings
app.conf.beat_schedule = {
    "deadlines": {"task": "shouwang.deadlines.sweep", "schedule": DEADLINE_MINUTES * 60},
    # After midnight in Asia/Shanghai (the app's timezone): yesterday's chain heads, signed.
    "anchor-chains": {"task": "shouwang.audit.anchor", "schedule": crontab(hour=0, minute=30)},
    # The first day of each quarter: the report of the quarter just ended, for every street and district.
    "quarterly-reports": {"task": "shouwang.reports.quarterly",
                          "schedule": crontab(hour=2, minute=0, day_of_month=1, month_of_year="1,4,7,10")},
}

_infra: Infrastructure | None = None
_lock = threading.Lock()


def configure(settings: Settings) -> Celery:
    """Configure the app from explicit settings (tests, and processes that loaded theirs already)."""
    app.conf.update(settings_config(settings))
    return app


def use(infra: Infrastructure | None) -> None:
    """Run this process's tasks on `infra` (a process serving the API and workers together, and tests)."""
    global _infra
    with _lock:
        _infra = infra


def infrastructure() -> Infrastructure:
    """This worker process's infrastructure: connected on first use, then shared by its tasks."""
    global _infra
    with _lock:
        if _infra is None:
            from infra.bootstrap import connect

            _infra = connect(migrate=False)  # the API or `shouwang migrate` owns migrations
        return _infra
