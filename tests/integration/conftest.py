"""Fixtures of the integration tests: a pool reading the read models, as the API does."""

from __future__ import annotations

import pytest

from infra.read_models import create_read_pool


@pytest.fixture
async def read_pool(database_url: str):
    pool = await create_read_pool(database_url, max_size=2)
    yield pool
    await pool.close()
