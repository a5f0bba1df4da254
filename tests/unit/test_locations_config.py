"""Tests for tui.core.locations and tui.core.config."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tui.api.client import DEFAULT_API_URL
from tui.core import locations
from tui.core.config import ConfigError, CopySettings, Settings, load_settings, require_key

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- locations ---------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="XDG variables apply on Linux")
def test_paths_follow_xdg_at_call_time(xdg: Path) -> None:
    assert locations.config_file() == xdg / "cfg" / "batchmon" / "config.toml"
    assert locations.state_file() == xdg / "state" / "batchmon" / "watchlist.json"
    assert locations.state_db() == xdg / "state" / "batchmon" / "batchmon.db"
    assert locations.log_file().name == "batchmon.log"
    assert locations.log_file().is_relative_to(xdg / "state" / "batchmon")


@pytest.mark.usefixtures("xdg")
def test_demo_paths_are_separate() -> None:
    assert locations.state_dir(demo=True) == locations.state_dir() / "demo"
    assert locations.state_file(demo=True) != locations.state_file()
    assert locations.state_file(demo=True).parent == locations.state_dir(demo=True)
    assert locations.state_db(demo=True).parent == locations.state_dir(demo=True)
    assert locations.log_file(demo=True) != locations.log_file()


@pytest.mark.usefixtures("xdg")
def test_file_names_are_distinct() -> None:
    # On macOS the folders coincide, so names alone must keep the files apart.
    names = {f().name for f in (locations.config_file, locations.state_file, locations.state_db, locations.log_file)}
    assert len(names) == 4


def test_locations_create_nothing(xdg: Path) -> None:
    locations.config_file(), locations.state_file(), locations.state_db(), locations.log_file(demo=True)
    assert not (xdg / "cfg").exists() and not (xdg / "state").exists()


# -- config: defaults and precedence -----------------------------------------------------------


def test_defaults_without_file(tmp_path: Path) -> None:
    s = load_settings(env={}, path=tmp_path / "missing.toml")
    assert s == Settings()
    assert s.api_key is None and s.api_url == "https://api.daily.co/v1"
    assert (s.rate, s.interval, s.bell, s.copy, s.profile) == (5.0, 1.0, True, CopySettings(), None)


@pytest.mark.usefixtures("xdg")
def test_default_path_is_locations_config_file() -> None:
    write(locations.config_file(), "rate = 3\n")
    assert load_settings(env={}).rate == 3.0


def test_file_values(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        """
api_key = "from-file"
api_url = "http://127.0.0.1:8080/v1/"
rate = 7
interval = 1.5
bell = false
[copy]
tmux = false
""",
    )
    s = load_settings(env={}, path=path)
    assert s.api_key is not None and s.api_key.get_secret_value() == "from-file"
    assert s.api_url == "http://127.0.0.1:8080/v1"  # trailing slash dropped
    assert (s.rate, s.interval, s.bell) == (7.0, 1.5, False)
    assert s.copy == CopySettings(osc52=True, tmux=False, native=True)


def test_env_beats_file_and_flags_beat_env(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'api_key = "file"\napi_url = "https://file.example/v1"\nrate = 2\n')
    env = {"DAILY_API_KEY": "env", "DAILY_API_URL": "https://env.example/v1"}
    s = load_settings(env=env, path=path)
    assert s.api_key.get_secret_value() == "env"  # type: ignore[union-attr]
    assert s.api_url == "https://env.example/v1"
    assert s.rate == 2.0
    flags = {"api_url": "https://flag.example/v1", "rate": 9, "interval": None, "profile": None}
    s = load_settings(flags=flags, env=env, path=path)
    assert s.api_url == "https://flag.example/v1"
    assert s.rate == 9.0
    assert s.interval == 1.0  # None means "not given"


def test_empty_env_counts_as_unset(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'api_key = "file"\n')
    s = load_settings(env={"DAILY_API_KEY": "", "DAILY_API_URL": ""}, path=path)
    assert s.api_key.get_secret_value() == "file"  # type: ignore[union-attr]
    assert s.api_url == DEFAULT_API_URL


def test_flag_strings_are_numbers(tmp_path: Path) -> None:
    s = load_settings(flags={"rate": "12.5"}, env={}, path=tmp_path / "none.toml")
    assert s.rate == 12.5


def test_unknown_flag_key_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="bogus"):
        load_settings(flags={"bogus": 1}, env={}, path=tmp_path / "none.toml")


# -- profiles ----------------------------------------------------------------------------------

PROFILES = """
api_key = "top"
api_url = "https://api.daily.co/v1"
rate = 4
[copy]
osc52 = false
[profiles.staging]
api_url = "https://staging.example/v1"
api_key = "staging-key"
[profiles.staging.copy]
native = false
[profiles.local]
api_url = "http://127.0.0.1:9000/v1"
rate = 20
"""


def test_profile_overrides_top_level(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    s = load_settings(flags={"profile": "staging"}, env={}, path=path)
    assert s.profile == "staging"
    assert s.api_url == "https://staging.example/v1"
    assert s.api_key.get_secret_value() == "staging-key"  # type: ignore[union-attr]
    assert s.rate == 4.0  # not in the profile: top level still applies
    assert s.copy == CopySettings(osc52=False, tmux=True, native=False)  # merged key by key


def test_profile_from_env_and_flag_wins(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    assert load_settings(env={"BATCHMON_PROFILE": "local"}, path=path).rate == 20.0
    s = load_settings(flags={"profile": "staging"}, env={"BATCHMON_PROFILE": "local"}, path=path)
    assert s.profile == "staging"


def test_env_beats_profile(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    s = load_settings(env={"BATCHMON_PROFILE": "staging", "DAILY_API_KEY": "env"}, path=path)
    assert s.api_key.get_secret_value() == "env"  # type: ignore[union-attr]


def test_default_profile_in_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'profile = "local"\n' + PROFILES)
    assert load_settings(env={}, path=path).profile == "local"
    assert load_settings(flags={"profile": "staging"}, env={}, path=path).profile == "staging"


def test_missing_profile_names_it_and_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    with pytest.raises(ConfigError) as info:
        load_settings(flags={"profile": "prod"}, env={}, path=path)
    msg = str(info.value)
    assert "'prod'" in msg and "local, staging" in msg


def test_profile_without_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'prod'.*none defined"):
        load_settings(env={"BATCHMON_PROFILE": "prod"}, path=tmp_path / "none.toml")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('rate = "fast"\n', "c.toml: rate must be a number"),
        ("rate = 25\n", "rate must be between 0.1 and 20"),
        ("rate = 0\n", "rate must be between 0.1"),
        ("rate = -1\n", "rate must be between 0.1"),
        ("rate = nan\n", "rate must be between 0.1"),
        ("interval = 0.1\n", "interval must be between 0.5"),
        ("interval = inf\n", "interval must be between 0.5"),
        ("bell = 1\n", "c.toml: bell must be true or false"),
        ('api_url = "ftp://example.com"\n', "api_url must be an http:// or https:// URL"),
        ('api_url = "https://"\n', "api_url must be an http:// or https:// URL"),
        ("rte = 3\n", "unknown setting 'rte' (did you mean 'rate'?)"),
        ("[copy]\nosc = true\n", "unknown setting 'copy.osc'"),
        ("copy = true\n", "c.toml: copy must be a table"),
        ("[profiles.x]\nratee = 1\n", "unknown setting 'profiles.x.ratee'"),
        ("[profiles.x]\nrate = 99\n", "profiles.x.rate must be between 0.1"),
        ("rate = = 3\n", "not valid TOML"),
    ],
)
def test_bad_file_gives_one_short_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "c.toml", f'api_key = "{KEY}"\n' + text)
    flags = {"profile": "x"} if "profiles.x" in text else None
    with pytest.raises(ConfigError) as info:
        load_settings(flags=flags, env={}, path=path)
    msg = str(info.value)
    assert expected in msg
    assert str(path) in msg
    assert "\n" not in msg and len(msg) < 250
    assert KEY not in msg


def test_errors_never_echo_the_key(tmp_path: Path) -> None:
    # A key pasted into the wrong setting must not reach the screen.
    for text in (f'api_url = "{KEY}"\n', f"api_key = {KEY!r}\nrate = {KEY!r}\n", f'[profiles.p]\napi_url = "{KEY}"\n'):
        path = write(tmp_path / "c.toml", text)
        with pytest.raises(ConfigError) as info:
            load_settings(flags={"profile": "p"} if "profiles" in text else None, env={}, path=path)
        assert KEY not in str(info.value)


def test_wrong_type_for_key_is_reported_without_value(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "api_key = 1234567890123\n")
    with pytest.raises(ConfigError, match=r"c.toml: api_key must be a string") as info:
        load_settings(env={}, path=path)
    assert "1234567890123" not in str(info.value)


def test_several_problems_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'rate = "x"\nbell = "y"\nfoo = 1\n')
    with pytest.raises(ConfigError, match=r"\(and 2 more problems\)"):
        load_settings(env={}, path=path)


def test_bad_flag_and_env_name_their_source(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match=r"^--rate must be between 0.1 and 20"):
        load_settings(flags={"rate": 21}, env={}, path=none)
    with pytest.raises(ConfigError, match=r"^--interval must be a number"):
        load_settings(flags={"interval": "soon"}, env={}, path=none)
    with pytest.raises(ConfigError, match=r"^DAILY_API_URL must be an http"):
        load_settings(env={"DAILY_API_URL": "api.daily.co/v1"}, path=none)


def test_not_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'api_url = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={}, path=path)


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(env={}, path=tmp_path)  # a folder, not a file


# -- the key -----------------------------------------------------------------------------------


def test_key_is_hidden_in_repr_and_str(tmp_path: Path) -> None:
    s = load_settings(env={"DAILY_API_KEY": KEY}, path=tmp_path / "none.toml")
    assert KEY not in repr(s) and KEY not in str(s)
    assert require_key(s) == KEY


@pytest.mark.usefixtures("xdg")
def test_require_key_when_missing() -> None:
    with pytest.raises(ConfigError, match=r"^no API key: set DAILY_API_KEY") as info:
        require_key(Settings())
    assert "batchmon --demo" in str(info.value)


def test_keymap_table_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nadd = "f2"\nquit = "ctrl+q,q"\n')
    assert dict(load_settings(env={}, path=path).keymap) == {"add": "f2", "quit": "ctrl+q,q"}
    path.write_text("[keymap]\nadd = 2\n")
    with pytest.raises(ConfigError, match=r"keymap.add must be a string"):
        load_settings(env={}, path=path)
