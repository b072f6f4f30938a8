"""domain/ is pure: it imports the standard library, msgspec, eventsourcing.domain and itself, nothing else."""

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED_THIRD_PARTY = {"msgspec", "eventsourcing.domain"}


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.append("domain" if node.level else node.module)
    return modules


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top == "domain" or top in sys.stdlib_module_names or module in ALLOWED_THIRD_PARTY:
        return True
    return top == "msgspec"


MODULES = sorted(DOMAIN.glob("*.py"))


def test_the_domain_package_has_modules_to_check():
    assert {path.name for path in MODULES} >= {"child.py", "helper.py", "concern.py", "events.py", "errors.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_domain_module_imports_only_the_standard_library_msgspec_eventsourcing_domain_and_the_domain(path):
    outside = [module for module in imported_modules(path) if not allowed(module)]

    assert outside == [], f"domain/{path.name} imports {outside}"


@pytest.mark.parametrize("module", ["infra.mapper", "services.app", "psycopg", "asyncpg", "litestar", "celery",
                                    "eventsourcing.postgres", "eventsourcing.application", "eventsourcing"])
def test_the_purity_check_would_catch_an_import_from_outside(module):
    assert not allowed(module)


CLOCK_AND_IO_CALLS = {"now", "utcnow", "today", "time", "monotonic", "open", "getenv", "uuid4", "urandom", "input",
                      "print"}


def called_names(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            calls.append(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return calls


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_domain_module_reads_no_clock_environment_or_file(path):
    offending = sorted(set(called_names(path)) & CLOCK_AND_IO_CALLS)

    assert offending == [], f"domain/{path.name} calls {offending}: time and ids are passed in"
