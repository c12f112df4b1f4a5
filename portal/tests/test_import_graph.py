"""Dependencies point one way (issue 13, "Structure").

The graph is read from the source with `ast`, so an import inside a function
counts as much as one at the top of a module: a cycle hidden in a function body
still means neither module can be understood without the other.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "registries", "workspaces", "sso", "access_requests")
SKIPPED_DIRS = {"tests", "migrations", "__pycache__"}

# The core: errors, audit, settings helpers, crypto, input checks, role names. Every app
# may import it; it reaches no app, not even through another module.
CORE = (
    "portal.errors",
    "portal.audit",
    "portal.models",
    "portal.logs",
    "portal.env",
    "portal.crypto",
    "portal.validators",
    "portal.inputs",
    "portal.proxies",
    "portal.roles",
)

# registries builds on workspaces: it imports workspaces.models and workspaces.scope (the
# 404-or-403 getters of a namespace and a workspace, and their API face workspaces.api.scope)
# and workspaces.manifests (a namespace's Deployment, for Create by Image), nothing else of it, except for these crossings, listed so that none is added unnoticed (take
# one off when it moves).
WORKSPACES_INTERFACE = {
    "workspaces.models",
    "workspaces.scope",
    "workspaces.api.scope",
    "workspaces.manifests",
}
REGISTRIES_REACHING_INTO_WORKSPACES = {
    "registries.api.serializers -> workspaces.api.serializers",
}

# workspaces imports registries only inside functions: what needs both at load time (Create by
# Image, a workspace's registries and pull credentials in the API) lives in registries.
WORKSPACES_IMPORTING_REGISTRIES_AT_MODULE_LEVEL: set[str] = set()


# The test kit (testkit/) builds on every app; no app may build on it.
TEST_KIT = "testkit"


def module_files():
    for app in (*APPS, TEST_KIT):
        for path in sorted((ROOT / app).rglob("*.py")):
            if SKIPPED_DIRS.isdisjoint(path.relative_to(ROOT).parts):
                yield path


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path):
    return path.name == "__init__.py"


def resolve_target(name, modules):
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def is_type_checking_block(node):
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def imported_names(tree, module, package):
    """(dotted name, at module level) for every import in a module."""
    base = module.split(".") if package else module.split(".")[:-1]

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, not in_function
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parent = base[: len(base) - (child.level - 1)]
                    source = ".".join(parent + ([child.module] if child.module else []))
                else:
                    source = child.module
                for alias in child.names:
                    # `from pkg import module` imports the module, `from module import name` the module.
                    yield f"{source}.{alias.name}", not in_function
            if is_type_checking_block(child):
                # Read by type checkers only: never runs, so it is no dependency.
                continue
            function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, in_function or function)

    yield from walk(tree, False)


def build_graph():
    """{module: {imported module: at module level}} for Wharf's own modules."""
    files = {module_name(path): path for path in module_files()}
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = graph.setdefault(module, {})
        for name, at_module_level in imported_names(tree, module, is_package(path)):
            target = resolve_target(name, files)
            if target and target != module:
                edges[target] = edges.get(target, False) or at_module_level
    return graph


def tangles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, lowlink, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node):
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def find_cycles(graph):
    """One cycle, written out as a path, per tangle."""
    return [cycle_through(component, graph) for component in tangles(graph)]


def cycle_through(component, graph):
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return paths[node] + [start]
            if target in component and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


@pytest.fixture(scope="module")
def graph():
    return build_graph()


def test_the_graph_sees_known_imports(graph):
    # Guards the reader itself: a parser that found nothing would pass every rule below.
    assert graph["portal.settings"]["portal.env"] is True
    assert graph["registries.sync"]["registries.robots"] is True  # from registries import robots
    assert graph["registries.tasks"]["workspaces.models"] is False  # inside a function
    assert "registries.clients.base" in graph["registries.clients.transport"]  # from .base import
    assert len(graph) > 50


def test_there_are_no_import_cycles(graph):
    found = [
        " -> ".join(cycle_through(component, graph))
        + f"\n  (tangled together: {', '.join(sorted(component))})"
        for component in tangles(graph)
    ]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_imports_for_type_checkers_only_are_no_dependency():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from b import c\nimport d\n")
    assert [name for name, _ in imported_names(tree, "a", False)] == ["typing.TYPE_CHECKING", "d"]


def test_the_cycle_finder_prints_a_cycle():
    graph = {"a": {"b": True}, "b": {"c": False}, "c": {"a": True}, "d": {"a": True}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]


def reachable(graph, module, *, at_module_level_only=False):
    seen, waiting = set(), [module]
    while waiting:
        for target, at_module_level in graph[waiting.pop()].items():
            if target not in seen and (at_module_level or not at_module_level_only):
                seen.add(target)
                waiting.append(target)
    return seen


@pytest.mark.parametrize("module", CORE)
def test_core_module_reaches_no_app(graph, module):
    apps = (*APPS[1:], TEST_KIT)
    reached = sorted(t for t in reachable(graph, module) if t.split(".")[0] in apps)
    assert not reached, f"{module} reaches {reached}"


def test_workspaces_does_not_import_registries_at_module_level(graph):
    importing = {
        module
        for module, edges in graph.items()
        if module.startswith("workspaces.")
        for target, at_module_level in edges.items()
        if at_module_level and target.startswith("registries.")
    }
    assert importing == WORKSPACES_IMPORTING_REGISTRIES_AT_MODULE_LEVEL


def test_workspaces_models_and_services_load_without_registries(graph):
    for module in ("workspaces.models", "workspaces.services"):
        loaded = reachable(graph, module, at_module_level_only=True)
        assert not sorted(t for t in loaded if t.startswith("registries.")), module


def test_registries_imports_workspaces_only_through_its_interface(graph):
    crossings = {
        f"{module} -> {target}"
        for module, edges in graph.items()
        if module.startswith("registries.")
        for target in edges
        if target.startswith("workspaces.") and target not in WORKSPACES_INTERFACE
    }
    assert crossings == REGISTRIES_REACHING_INTO_WORKSPACES


def test_no_app_imports_the_test_kit(graph):
    assert graph["testkit.access"]["testkit.personas"] is True  # the kit is in the graph
    importing = sorted(
        f"{module} -> {target}"
        for module, edges in graph.items()
        if not module.startswith(f"{TEST_KIT}.") and module != TEST_KIT
        for target in edges
        if target.split(".")[0] == TEST_KIT
    )
    assert not importing, importing
