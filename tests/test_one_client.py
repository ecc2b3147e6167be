"""Everything outside the workflows talks to them through one client, `starters.cases`: the
message registry is projected once (starters/cases/messages.py), and only the client sends,
starts or asks a workflow. A second projection or a hand-written send path fails here, naming
the module and the line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "starters" / "cases"
# What only the client may do with Temporal: start, send to or ask a workflow.
WORKFLOW_CALLS = {"start_workflow", "execute_update", "start_update", "signal", "query", "get_workflow_handle"}
REGISTRY = {"workflows.messages", "workflows.message_spec"}
PROJECTION = CLIENT / "messages.py"


def _modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py") if CLIENT not in p.parents)


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def workflow_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WORKFLOW_CALLS:
            found.append(f"{_where(path, node)} calls .{node.func.attr}()")
    return found


def registry_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        hits = [n for n in names if n in REGISTRY]
        if hits:
            found.append(f"{_where(path, node)} imports {hits[0]}")
    return found


def test_only_the_client_starts_sends_to_or_asks_a_workflow() -> None:
    # bench/ sets up its own yardstick workflows and worker/ runs them: the rule is for starters.
    assert [hit for path in _modules("starters") for hit in workflow_calls(path)] == []


def test_the_message_registry_is_projected_once_for_clients() -> None:
    assert [hit for path in _modules("starters") for hit in registry_imports(path)] == []
    assert registry_imports(PROJECTION), "the client's projection reads the registry"


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """Each rule above finds a violation when there is one (so its empty answer means something)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from workflows.messages import PLAN_MESSAGES\n"
        "async def f(client):\n"
        "    await client.get_workflow_handle('x').execute_update('record_visit', {})\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(workflow_calls(bad)) == 2 and len(registry_imports(bad)) == 1
    finally:
        ROOT = saved
