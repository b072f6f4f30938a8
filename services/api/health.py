"""`GET /health`: is the database reachable, and the broker if one is configured."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import SkipValidation

from services.api.schemas import Health


@get("/health", sync_to_thread=True, exclude_from_auth=True, tags=["platform"])
def health(infra: SkipValidation[Any]) -> Response[Health]:
    """200 when every configured dependency answers, else 503 naming the one that does not."""
    database = "ok" if _database_answers(infra) else "down"
    broker = "absent" if not infra.settings.broker_url else ("ok" if _broker_answers(infra.settings.broker_url)
                                                             else "down")
    healthy = database == "ok" and broker != "down"
    return Response(Health(status="ok" if healthy else "degraded", database=database, broker=broker),
                    status_code=200 if healthy else 503)


def _database_answers(infra: Any) -> bool:
    try:
        with infra.datastore.get_connection() as conn:
            conn.execute("SELECT 1").fetchone()
        return True
    except Exception:  # any failure means "not answering"; the reason goes to the server log, not the caller
        return False


def _broker_answers(url: str) -> bool:
    try:
        from kombu import Connection

        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False
