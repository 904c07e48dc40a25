"""The layout of slowpub/ and the one direction its imports run.

Faces (web, the Mastodon views, the CLI) call the domain; the domain calls
storage and the base modules; all of them may use ``federation/``. An import
against that direction is how a face's concerns (templates, requests,
command output) leak into the domain, so it fails here, read from the
source with ``ast`` rather than trusted to review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import slowpub

PACKAGE = Path(slowpub.__file__).parent

# Lower number, lower layer: a module may import its own layer or any below.
BASE, STORAGE, DOMAIN, FACE = 1, 2, 3, 4
LAYER_NAMES = {0: "federation", BASE: "base", STORAGE: "storage", DOMAIN: "domain", FACE: "face"}
BASE_MODULES = {
    "slowpub",
    "slowpub.clock",
    "slowpub.config",
    "slowpub.ids",
    "slowpub.urls",
    "slowpub.templating",
}
DOMAIN_PACKAGES = {"outbound", "delivery", "inbound", "bundles", "auth", "social"}
DOMAIN_MODULES = {"slowpub.context", "slowpub.workers"}
FACE_PACKAGES = {"web", "commands", "cli"}


def layer_of(module: str) -> int | None:
    """The layer of a slowpub or federation module; None for anything else."""
    parts = module.split(".")
    if parts[0] == "federation":
        return 0
    if parts[0] != "slowpub":
        return None
    if module in BASE_MODULES:
        return BASE
    if module in DOMAIN_MODULES or (len(parts) > 1 and parts[1] in DOMAIN_PACKAGES):
        return DOMAIN
    if len(parts) > 1 and parts[1] == "storage":
        return STORAGE
    if len(parts) > 1 and parts[1] in FACE_PACKAGES:
        return FACE
    raise AssertionError(f"{module} belongs to no layer: add it to test_architecture.py")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:  # ``from slowpub.web import app`` imports slowpub.web.app
                candidate = root.parent / Path(*node.module.split("."), alias.name)
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    names.add(f"{node.module}.{alias.name}")
    return names


def upward_imports(root: Path) -> list[str]:
    """Imports that run against the layers, as readable lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(root, path)
        own = layer_of(importer)
        assert own is not None
        for name in sorted(imports_of(path, root)):
            target = layer_of(name)
            if target is not None and target > own:
                found.append(
                    f"{importer} ({LAYER_NAMES[own]}) imports {name} ({LAYER_NAMES[target]})"
                )
    return found


def test_imports_run_from_faces_to_domain_to_storage() -> None:
    assert upward_imports(PACKAGE) == []


def test_a_face_imported_from_the_domain_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a domain module that imports a web helper is reported."""
    root = tmp_path / "slowpub"
    (root / "web").mkdir(parents=True)
    (root / "bundles").mkdir()
    (root / "storage").mkdir()
    for init in ("__init__.py", "web/__init__.py", "bundles/__init__.py", "storage/__init__.py"):
        (root / init).write_text('"""x"""\n')
    (root / "web" / "responses.py").write_text("templates = None\n")
    (root / "bundles" / "mail.py").write_text(
        "def body():\n    from slowpub.web.responses import templates\n    return templates\n"
    )
    (root / "storage" / "models.py").write_text("from slowpub.bundles import mail\n")
    assert upward_imports(root) == [
        "slowpub.bundles.mail (domain) imports slowpub.web.responses (face)",
        "slowpub.storage.models (storage) imports slowpub.bundles (domain)",
        "slowpub.storage.models (storage) imports slowpub.bundles.mail (domain)",
    ]


def test_the_top_of_the_package_stays_small() -> None:
    """Beside the packages, only the shared base modules and the entry points."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 10, top


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("__init__.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_every_package_says_what_it_holds(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and len(doc.splitlines()) >= 1, f"{path} has no docstring"
