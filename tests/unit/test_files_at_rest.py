"""Files at rest on a shared machine: state and log folders 0700 and files 0600 (whoever runs
first), downloads in 0700 folders unless the user's folder exists, a warning for a config file
holding the key that others can read; and the config file's odd shapes (a BOM)."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tui.cli import main as cli_main
from tui.cli.common import settings_for
from tui.core import locations
from tui.core.config import ConfigError, Settings, load_settings
from tui.outputs.save import AtomicFile
from tui.store.database import Store
from tui.ui.factory import build_app


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: what others get unless batchmon says otherwise
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_the_log_made_first_is_private_and_so_is_the_state_folder_around_it() -> None:
    cli_main._log_to_file(demo=False)  # what the TUI does before anything else
    log = locations.log_file()
    assert mode(log) == 0o600
    for folder in {log.parent, locations.state_dir()}:
        assert mode(folder) == 0o700, folder
    store = Store(locations.state_db())
    store.open()
    store.close()
    assert mode(locations.state_dir()) == 0o700 and mode(locations.state_db()) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_folders_an_older_batchmon_left_open_are_made_private() -> None:
    state = locations.state_dir()
    state.mkdir(parents=True, mode=0o755)
    os.chmod(state, 0o755)
    store = Store(locations.state_db())
    store.open()
    store.close()
    assert mode(state) == 0o700
    log = locations.log_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("old\n")
    os.chmod(log, 0o644)
    cli_main._log_to_file(demo=False)
    assert mode(log) == 0o600 and log.read_text() == "old\n"


@pytest.mark.usefixtures("open_umask")
def test_downloads_go_in_private_folders_unless_the_folder_exists(tmp_path: Path) -> None:
    made = tmp_path / "downloads" / "batchmon" / "job"
    with AtomicFile(made / "transcript.txt") as out:
        out.write(b"hello")
        out.commit()
    for folder in (made, made.parent, made.parent.parent):
        assert mode(folder) == 0o700, folder
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    os.chmod(mine, 0o755)
    with AtomicFile(mine / "transcript.txt") as out:
        out.write(b"hello")
        out.commit()
    assert mode(mine) == 0o755, "the user's own folder is left as it is"


def test_a_config_file_holding_the_key_readable_by_others_is_warned_about_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = locations.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('api_key = "sekret-key-123"\n')
    os.chmod(path, 0o644)
    (warning,) = load_settings(env={}, path=path).warnings
    assert "others can read it (mode 0644)" in warning and f"chmod 600 {path}" in warning
    assert "sekret" not in warning
    args = argparse.Namespace(command="list", rate=None, interval=None, profile=None)
    settings_for(args)
    settings_for(args)
    err = capsys.readouterr().err
    assert err.count("others can read it") == 1 and err.count("\n") == 1 and "sekret" not in err
    os.chmod(path, 0o600)
    assert load_settings(env={}, path=path).warnings == ()
    path.write_text("rate = 2.0\n")  # no key in it: its mode is nobody's business
    os.chmod(path, 0o644)
    assert load_settings(env={}, path=path).warnings == ()
    path.write_text('[profiles.work]\napi_key = "sekret-key-123"\n')
    os.chmod(path, 0o640)
    assert "mode 0640" in load_settings(env={}, path=path).warnings[0]


def test_a_config_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbfrate = 2.0\n")  # as Windows Notepad saves it
    assert load_settings(env={}, path=path).rate == 2.0
    path.write_bytes(b"\xef\xbb\xbf")
    assert load_settings(env={}, path=path).rate == Settings.rate


@pytest.mark.parametrize(
    ("keymap", "message"),
    [
        ({"add": "q"}, "add = 'q' takes 'q' from quit"),
        ({"add": "ctrl+q"}, "takes 'ctrl+q' from quit"),
        ({"refresh": "x"}, "takes 'x' from remove"),
        ({"add": "f2,j"}, "takes 'j' from cursor_down"),
    ],
)
def test_a_key_that_shadows_another_binding_is_refused(tmp_path: Path, keymap: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        build_app(Settings(api_key=SecretStr("k"), keymap=keymap), state_path=tmp_path / "x.db")


@pytest.mark.parametrize("keymap", [{"add": "f2"}, {"add": "r", "refresh": "a"}, {"quit": "q,ctrl+x"}])
def test_keys_that_move_without_clashing_are_fine(tmp_path: Path, keymap: dict[str, str]) -> None:
    app = build_app(Settings(api_key=SecretStr("k"), keymap=keymap), state_path=tmp_path / "x.db")
    assert app._keymap == keymap
