"""Imports run casework → detection → detection.engine, never back (../shared/ARCHITECTURE.md)."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "detection/engine": ("django", "rest_framework", "celery", "casework", "detection.models",
                         "detection.services", "detection.tasks"),
    "detection": ("casework",),
}


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", FORBIDDEN)
def test_imports_run_one_way(package):
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        if package == "detection" and "migrations" in path.parts:
            continue
        for module in imported_modules(path):
            if module.startswith(FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []
