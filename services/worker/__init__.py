"""Background and scheduled work: the Celery app, its tasks and its beat schedule."""
