"""The code's layers, bottom to top: workflows (deterministic plan code) < activities (the I/O
the workflows ask for) < worker (the processes that run them: worker, codec server, client) <
starters (the command line, the web front door, everything that talks to plans from outside);
bench, tests and scripts above them all. A module imports its own layer and those below only,
so the worker image runs without the web layer and workflow code never reaches for I/O.

Every module of the four packages is read with `ast`, not imported: imports at the top, inside
functions and under TYPE_CHECKING, and `importlib.import_module("...")` with a literal name
all count (a relative import stays in its own package)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("workflows", "activities", "worker", "starters")
# Above every layer: nothing in the product may import these.
ON_TOP = ("bench", "tests", "scripts")
RANK = {name: rank for rank, name in enumerate(LAYERS)} | {name: len(LAYERS) for name in ON_TOP}

# Upward imports there for a reason, each with it. An entry no longer found fails too, so none
# outlives its import.
ALLOWED = {
    # `cpplan bench` runs the benchmark from a checkout; the package and image do not ship it,
    # and the command says so when it is missing.
    ("starters/cli.py", "bench.cli"): "cpplan bench, in a checkout only",
}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root
    line: int
    module: str  # the module imported, absolute

    @property
    def layer(self) -> str:
        return self.path.split("/")[0]

    @property
    def target(self) -> str:
        return self.module.split(".")[0]

    def upward(self) -> bool:
        return self.target in RANK and RANK[self.target] > RANK[self.layer]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module} ({self.layer} may not import {self.target})"


def _package_of(path: str) -> list[str]:
    parts = path.removesuffix(".py").split("/")
    return parts[:-1]  # a module's package; for __init__.py, the package itself


def _import_module_name(call: ast.Call) -> str | None:
    """The literal name given to `importlib.import_module(...)`, `import_module(...)` or
    `__import__(...)`."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_in(source: str, path: str) -> list[Import]:
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(Import(path, node.lineno, module))
        elif isinstance(node, ast.Call) and (name := _import_module_name(node)) is not None:
            found.append(Import(path, node.lineno, name))
    return found


def all_imports() -> list[Import]:
    found = []
    for layer in LAYERS:
        for file in sorted((ROOT / layer).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            found += imports_in(file.read_text(encoding="utf-8"), path)
    return found


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [i for i in all_imports() if i.upward() and (i.path, i.module) not in ALLOWED]
    assert not upward, "imports that go up a layer:\n" + "\n".join(map(str, upward))


def test_each_allowed_upward_import_is_still_there() -> None:
    present = {(i.path, i.module) for i in all_imports()}
    assert not set(ALLOWED) - present, f"no longer imported, remove from ALLOWED: {set(ALLOWED) - present}"


def test_every_package_is_read() -> None:
    """Guards the walk itself: each layer has modules and imports to check."""
    layers = {i.layer for i in all_imports()}
    assert layers == set(LAYERS)


@pytest.mark.parametrize(
    ("path", "source", "module"),
    [
        ("workflows/plan.py", "import activities.db\n", "activities.db"),
        ("activities/db.py", "from worker.codec import key_file\n", "worker.codec"),
        ("worker/codec_server.py", "def f():\n    from starters.web import settings\n", "starters.web"),
        (
            "worker/main.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from starters.cli import main\n",
            "starters.cli",
        ),
        ("activities/notify.py", "import importlib\nimportlib.import_module('starters.dev')\n", "starters.dev"),
        ("starters/web/app.py", "from tests.helpers import TEST_SERVER\n", "tests.helpers"),
    ],
)
def test_an_upward_import_in_any_form_is_named(path: str, source: str, module: str) -> None:
    [found] = [i for i in imports_in(source, path) if i.upward()]
    assert (found.path, found.module) == (path, module)
    assert str(found).startswith(f"{path}:")


def test_imports_of_the_same_layer_or_below_pass() -> None:
    source = "import json\nfrom workflows.models import Plan\nfrom . import state\nfrom worker.codec import x\n"
    assert not [i for i in imports_in(source, "worker/main.py") if i.upward()]
