"""Dependencies point inward: domain ← projections ← services/app ← infra and the entry points.

`services/api`, `services/worker`, `services/web` and `services/cli.py` are entry points
(composition roots): they may import infra to wire things. Use cases (`services/app`) may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = {"psycopg", "psycopg_pool", "asyncpg", "litestar", "celery", "kombu", "redis"}
FORBIDDEN = {
    "projections": {"infra", "services"} | DRIVERS,
    "services/app": {"infra", "services.api", "services.worker", "services.web", "services.cli"} | DRIVERS,
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(layer: str) -> list[str]:
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_do_not_import_outer_layers_or_drivers(layer):
    assert _violations(layer) == []
