"""A non-editable install from a built wheel gives a working `batchmon`, styles included."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from support import REPO

pytestmark = pytest.mark.slow


def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("daily_batchmon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    styles = [name for name in names if name.startswith("tui/styles/")]
    assert styles and all(name.endswith(".tcss") for name in styles), styles

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    version = subprocess.run([str(bin_dir / "batchmon"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("batchmon ")
    # Run from an unrelated folder so nothing can come from the checkout.
    probe = (
        "import tui, pathlib; from tui.ui.app import styles_dir; "
        "d = styles_dir(); print(d); print(sorted(p.name for p in d.glob('*.tcss')))"
    )
    found = subprocess.run(
        [str(bin_dir / "python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    styles_dir, listed = found.stdout.splitlines()
    assert str(env_dir) in styles_dir
    assert ".tcss" in listed
    module = subprocess.run(
        [str(bin_dir / "python"), "-m", "tui", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert module.stdout == version.stdout
