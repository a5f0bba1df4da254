"""The layers below the App never import Textual (so they stay usable headless and testable)."""

import subprocess
import sys

import pytest

CORE_MODULES = [
    "tui.api",
    "tui.api.client",
    "tui.sim",
    "tui.sim.server",
    "tui.poller",
    "tui.store",
    "tui.config",
    "tui.locations",
    "tui.clipboard",
    "tui.text",
    "tui.cli",
    "tui.crashguard",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module: str) -> None:
    # A fresh interpreter, because this test process has Textual loaded already.
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"{module} imports textual"


def test_app_module_does_import_textual() -> None:
    # Proves the check above can fail.
    code = "import sys, tui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr
