"""`GET /health`: the database, and the broker when one is configured (a bounded check, remembered briefly)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from infra.bootstrap import Infrastructure
from infra.broker import BrokerProbe
from services.api.app import create_app
from tests.serving import free_port


def with_broker(infra: Infrastructure, url: str | None) -> Infrastructure:
    return replace(infra, settings=replace(infra.settings, broker_url=url))


async def health_of(infra: Infrastructure) -> tuple[int, dict[str, str]]:
    async with AsyncTestClient(app=create_app(infra)) as client:
        answer = await client.get("/health")
    return answer.status_code, answer.json()


async def test_without_a_broker_server_the_broker_is_absent(infra):
    assert await health_of(with_broker(infra, None)) == (200, {"status": "ok", "database": "ok", "broker": "absent"})


@pytest.mark.parametrize("url", [os.environ.get("CELERY_BROKER_URL"), "amqp://guest:guest@127.0.0.1:5672//"],
                         ids=["configured", "rabbitmq"])
async def test_a_broker_that_answers_is_ok(infra, url):
    if not url:
        pytest.skip("CELERY_BROKER_URL is not set")
    assert await health_of(with_broker(infra, url)) == (200, {"status": "ok", "database": "ok", "broker": "ok"})


async def test_a_configured_broker_that_does_not_answer_is_down_and_the_answer_comes_quickly(infra):
    started = time.monotonic()
    status, body = await health_of(with_broker(infra, f"redis://127.0.0.1:{free_port()}/0"))
    assert (status, body) == (503, {"status": "degraded", "database": "ok", "broker": "down"})
    assert time.monotonic() - started < 1.5


def test_the_broker_is_asked_at_most_once_per_interval():
    now = [0.0]
    probe = BrokerProbe(f"redis://127.0.0.1:{free_port()}/0", ttl=5.0, clock=lambda: now[0])
    assert [probe.status(), probe.checks] == ["down", 1]
    now[0] = 4.9
    assert [probe.status(), probe.checks] == ["down", 1]
    now[0] = 5.1
    assert [probe.status(), probe.checks] == ["down", 2]
    assert BrokerProbe(None).status() == "absent"
