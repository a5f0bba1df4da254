"""The layers below the App never import Textual (so they stay usable headless and testable)."""

import subprocess
import sys

import pytest

CORE_MODULES = [
    "tui.api",
    "tui.api.client",
    "tui.sim",
    "tui.sim.server",
    "tui.sim.spawner",
    "tui.api.ids",
    "tui.api.errors",
    "tui.poller",
    "tui.poller.types",
    "tui.poller.sweep",
    "tui.poller.backoff",
    "tui.poller.engine",
    "tui.store.database",
    "tui.core.watchlist",
    "tui.present.formatting",
    "tui.core.copy_target",
    "tui.present.wrap",
    "tui.core.config",
    "tui.core.locations",
    "tui.ui.clipboard",
    "tui.present.text",
    "tui.outputs.render",
    "tui.outputs.choose",
    "tui.cli.main",
    "tui.api.shortids",
    "tui.cli.usage",
    "tui.outputs",
    "tui.outputs.fetch",
    "tui.outputs.links",
    "tui.outputs.save",
    "tui.api.submission",
    "tui.api.outcomes",
    "tui.cli.jobs",
    "tui.ui.crashguard",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module: str) -> None:
    # A fresh interpreter, because this test process has Textual loaded already.
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"{module} imports textual"


@pytest.mark.parametrize("module", ["tui.ui.app", "tui.ui.factory"])
def test_app_modules_do_import_textual(module: str) -> None:
    # Proves the check above can fail (the factory builds the App, so it imports Textual).
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr
