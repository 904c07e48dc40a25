"""The protocol line: federation/ imports neither the app nor the database layer."""

from __future__ import annotations

import ast
from pathlib import Path

import federation

PACKAGE = Path(federation.__file__).parent
FORBIDDEN = ("slowpub", "sqlalchemy")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_app_or_database_imports() -> None:
    for path in PACKAGE.glob("*.py"):
        for name in _imported_modules(path):
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_every_module_has_a_docstring_and_sane_size() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.name} lacks a module docstring"
        assert len(path.read_text().splitlines()) <= 400, f"{path.name} is too long"


def test_all_names_resolve() -> None:
    for name in federation.__all__:
        assert hasattr(federation, name), name
    assert sorted(federation.__all__) == sorted(set(federation.__all__))
