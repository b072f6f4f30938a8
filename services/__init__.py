"""Use cases (app), HTTP API and UI (api, web), celery tasks (worker) and the command line."""
