"""The house rules the layout promises: no import circle, parsing knows nothing of Prefect,
orchestration knows nothing of XML, and every module says its one job."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.fast
PACKAGES = ("flows", "tasks", "deployments")
# The two task modules that are Prefect's side of the tasks package.
PREFECT_IN_TASKS = {"tasks.prefect_tasks", "tasks.rate_limit"}


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(p.relative_to(REPO).with_suffix("").parts): ast.parse(p.read_text())
        for pkg in PACKAGES for p in sorted((REPO / pkg).glob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    """Every module named by an import anywhere in the file, function bodies included."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {name: (_imports(tree) & set(modules)) - {name} for name, tree in modules.items()}
    circles = []

    def visit(name: str, path: list[str]) -> None:
        for dep in sorted(graph[name]):
            if dep in path:
                circles.append(path[path.index(dep):] + [dep])
            elif len(path) < 30:
                visit(dep, path + [dep])

    for name in graph:
        visit(name, [name])
    assert circles == [], " ; ".join(" -> ".join(c) for c in circles[:5])


def test_parsing_knows_nothing_of_prefect_and_flows_nothing_of_xml() -> None:
    for name, tree in _modules().items():
        roots = {i.split(".")[0] for i in _imports(tree)}
        if name.startswith("tasks.") and name not in PREFECT_IN_TASKS:
            assert not roots & {"prefect", "prefect_dask", "flows"}, name
        if name.startswith("flows."):
            assert "lxml" not in roots, name


def test_every_module_says_its_job() -> None:
    for name, tree in _modules().items():
        doc = ast.get_docstring(tree)
        assert doc and len(doc.splitlines()[0]) > 20, f"{name}: no one-line docstring saying its job"
