"""The layers, read from the tree: who may import whom, no circles, and no Textual below the App.

Layer order (a module imports its own package and the layers below it, never one above):

    api < present < {store, poller, outputs, sim} < core < ui < cli

`present` (sanitised server text, labels, durations) sits under `outputs` because the outputs
sanitise what they render with `tui.present.text`. The four packages of the middle layer are
peers that never import each other: each stands on `api` (and `present`) alone. `cli` reaches
the App only through the three launchers `tui.ui.factory`, `tui.ui.crashguard` and
`tui.ui.serve`. The root package `tui` (just `__version__`) is importable from anywhere, and
`tui.__main__` only runs the command line.

Imports are read from every module's syntax tree, those inside functions included, so an import
deferred to dodge a circle still counts as one.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import tui

PACKAGE_ROOT = Path(tui.__file__).resolve().parent

RANK = {"api": 0, "present": 1, "store": 2, "poller": 2, "outputs": 2, "sim": 2, "core": 3, "ui": 4, "cli": 5}
CLI_MAY_LAUNCH = frozenset({"tui.ui.factory", "tui.ui.crashguard", "tui.ui.serve"})
TEXTUAL_FREE_PACKAGES = ("api", "present", "store", "poller", "outputs", "sim", "core", "cli")
# Modules of tui/ui that must stay Textual-free too: the CLI uses them before any App exists.
TEXTUAL_FREE_UI = ("tui.ui.clipboard", "tui.ui.crashguard")


def module_name(path: Path) -> str:
    """The dotted name of a module file under tui/."""
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def all_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def imported_names(path: Path, name: str) -> set[str]:
    """The tui modules `path` imports anywhere in its body (functions included)."""
    modules = all_modules()
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from tui.api import ids` names a module; `from tui.api.ids import x` names its module.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {target for target in found if target == "tui" or target.startswith("tui.")}


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the tui modules it imports."""
    return {name: frozenset(imported_names(path, name) - {name}) for name, path in all_modules().items()}


def layer(name: str) -> str | None:
    """The layer (top package) of a module; None for the root package and `tui.__main__`."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def layer_violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when the layers allow it."""
    if imported == "tui":
        return None
    mine, theirs = layer(importer), layer(imported)
    if mine is None:
        return None if importer == "tui.__main__" and theirs == "cli" else "the root package imports nothing"
    if theirs is None or mine == theirs:
        return None
    if mine == "cli" and theirs == "ui":
        return None if imported in CLI_MAY_LAUNCH else "cli reaches the App only through its launchers"
    if RANK[theirs] > RANK[mine]:
        return f"{mine} is below {theirs}"
    if RANK[theirs] == RANK[mine]:
        return f"{mine} and {theirs} are peers"
    return None


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_every_layer() -> None:
    # A walk that found nothing would pass every check below.
    seen = {layer(name) for name in all_modules()}
    assert set(RANK) <= seen
    assert len(all_modules()) > 50


def test_the_top_of_tui_holds_packages_and_at_most_two_modules() -> None:
    loose = sorted(path.name for path in PACKAGE_ROOT.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = [
        f"{importer} imports {imported}: {why}"
        for importer, targets in sorted(import_graph().items())
        for imported in sorted(targets)
        if (why := layer_violation(importer, imported))
    ]
    assert wrong == []


def test_there_are_no_import_circles() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("tui.api.client", "tui.store.database"),
        ("tui.present.text", "tui.outputs.render"),
        ("tui.poller.engine", "tui.store.database"),
        ("tui.store.database", "tui.core.watchlist"),
        ("tui.core.watchlist", "tui.ui.app"),
        ("tui.ui.app", "tui.cli.main"),
        ("tui.cli.main", "tui.ui.app"),
        ("tui", "tui.api.client"),
    ],
)
def test_the_layer_rule_can_refuse(importer: str, imported: str) -> None:
    # Proves the rule above is not vacuous: each of these would be a wrong import.
    assert layer_violation(importer, imported) is not None


def test_the_circle_finder_can_find_one() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(graph) == [["a", "b", "c"]]


def test_deferred_imports_inside_functions_count(tmp_path: Path) -> None:
    source = "def late():\n    from tui.ui.app import BatchmonApp\n    return BatchmonApp\n"
    module = tmp_path / "late.py"
    module.write_text(source)
    assert "tui.ui.app" in imported_names(module, "tui.core.late")


def textual_free_modules() -> list[str]:
    """The modules that must import without Textual: the packages below the App, the CLI, two ui helpers."""
    return [
        name
        for name in all_modules()
        if (layer(name) in TEXTUAL_FREE_PACKAGES or name in TEXTUAL_FREE_UI) and name != "tui.__main__"
    ]


# Run in a fresh interpreter (this one has Textual loaded already) with Textual blocked: a module
# that imports it, directly or through a library, fails to import and is named.
_PROBE = """
import importlib, json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual."):
            raise ImportError("textual is blocked")
        return None
sys.meta_path.insert(0, Block())
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = str(exc)
print(json.dumps(failed))
"""


@cache
def textual_importers(modules: tuple[str, ...]) -> dict[str, str]:
    """The given modules that fail to import without Textual, with the error."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, check=True, timeout=120
    )
    failed: dict[str, str] = json.loads(result.stdout)
    return failed


def test_layers_below_the_app_never_import_textual() -> None:
    modules = tuple(textual_free_modules())
    assert "tui.cli.main" in modules and "tui.core.watchlist" in modules
    assert textual_importers(modules) == {}


def test_the_textual_probe_can_fail() -> None:
    # The factory builds the App, so it needs Textual: the probe must name it.
    assert set(textual_importers(("tui.ui.app", "tui.ui.factory", "tui.api.ids"))) == {"tui.ui.app", "tui.ui.factory"}


def controller_reaches(path: Path, name: str) -> list[str]:
    """Where a module touches the poller or the store: imports of either, `.poller` or `.store`."""
    reached = [
        f"imports {target}" for target in sorted(imported_names(path, name)) if layer(target) in ("poller", "store")
    ]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("poller", "store"):
            reached.append(f"line {node.lineno}: .{node.attr}")
    return reached


def test_no_textual_module_calls_the_poller_or_the_store() -> None:
    # The App renders what the session (tui.core.session) reports; only the session drives them.
    ui = {name: path for name, path in all_modules().items() if layer(name) == "ui"}
    assert "tui.ui.app" in ui
    wrong = {name: reached for name, path in sorted(ui.items()) if (reached := controller_reaches(path, name))}
    assert wrong == {}


def test_the_controller_check_can_fail() -> None:
    session = all_modules()["tui.core.session"]
    assert any(".poller" in reached for reached in controller_reaches(session, "tui.core.session"))
    assert any("imports tui.store" in reached for reached in controller_reaches(session, "tui.core.session"))


def test_the_app_file_stays_small() -> None:
    # The App routes and renders; what it grows beyond this belongs in tui/ui/actions or below.
    lines = (PACKAGE_ROOT / "ui" / "app.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 350
