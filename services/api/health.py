"""`GET /health`: is the database reachable, and the broker if one is configured."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import SkipValidation

from services.api.schemas import Health


@get("/health", sync_to_thread=True, exclude_from_auth=True, tags=["platform"])
def health(infra: SkipValidation[Any], broker_probe: SkipValidation[Any]) -> Response[Health]:
    """200 when every configured dependency answers, else 503 naming the one that does not.

    `broker` is "absent" when no broker server is configured (the embedded filesystem transport);
    otherwise the answer of a bounded connection check, reused for a few seconds (`infra.broker.BrokerProbe`).
    """
    database = "ok" if _database_answers(infra) else "down"
    broker = broker_probe.status()
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
