"""Odd settings (URL, rate, interval, key, config nesting) give one clear line and exit 2, never "internal error"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import BATCHMON

from tui.core.config import MIN_RATE, ConfigError, load_settings

JOB_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
KEY = "odd-input-secret-7f3a"

BAD_URLS = {
    "unbalanced bracket": "http://[::1",
    "port too high": "http://127.0.0.1:99999/v1",
    "port not a number": "http://127.0.0.1:http/v1",
    "port zero": "http://127.0.0.1:0/v1",
    "escape sequence": "http://api\x1b[2J.example/v1",
    "OSC 52": "http://a.example/\x1b]52;c;aGk=\x07",
    "newline": "http://a.example/v1\nX-Injected: 1",
    "tab": "http://a.ex\tample/v1",
    "C1 control": "http://a.example/\x9bv1",
    "ftp scheme": "ftp://a.example/v1",
    "file scheme": "file:///etc/passwd",
    "no host": "http:///v1",
    "no scheme": "api.daily.co/v1",
}


def settings_error(**kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_api_url_is_a_config_error_that_does_not_echo_it(url: str, tmp_path: Path) -> None:
    message = settings_error(env={"DAILY_API_URL": url}, path=tmp_path / "none.toml")
    assert message.startswith("DAILY_API_URL")
    assert url not in message and "\x1b" not in message


@pytest.mark.parametrize("url", ["http://[::1]:8080/v1", "https://api.daily.co/v1", "http://127.0.0.1:65535/v1/"])
def test_good_api_urls_still_pass(url: str, tmp_path: Path) -> None:
    assert load_settings(env={"DAILY_API_URL": url}, path=tmp_path / "none.toml").api_url == url.rstrip("/")


@pytest.mark.parametrize("flag", ["rate", "interval"])
@pytest.mark.parametrize("value", ["1e-300", "nan", "inf", "-inf", "-1", "0", "1e300"])
def test_absurd_rates_and_intervals_are_refused(flag: str, value: str, tmp_path: Path) -> None:
    message = settings_error(flags={flag: value}, env={}, path=tmp_path / "none.toml")
    assert message.startswith(f"--{flag} must be between")


def test_rate_floor_is_named_and_kept(tmp_path: Path) -> None:
    assert f"between {MIN_RATE:g} and" in settings_error(flags={"rate": 0.05}, env={}, path=tmp_path / "n.toml")
    assert load_settings(flags={"rate": MIN_RATE}, env={}, path=tmp_path / "n.toml").rate == MIN_RATE


@pytest.mark.parametrize("key", ["ab\x1bcd", "ab\ncd", "ab cd", "ab\x00cd", "ab\u2028cd"])
def test_key_no_header_can_carry_is_refused_without_echo(key: str, tmp_path: Path) -> None:
    message = settings_error(env={"DAILY_API_KEY": key}, path=tmp_path / "none.toml")
    assert message.startswith("DAILY_API_KEY") and "ab" not in message and "cd" not in message


def test_key_surrounding_whitespace_is_dropped(tmp_path: Path) -> None:
    settings = load_settings(env={"DAILY_API_KEY": " key-1 \n"}, path=tmp_path / "none.toml")
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "key-1"


DEEP = 5000
DEEP_FILES = {
    "arrays": "rate = " + "[" * DEEP + "]" * DEEP + "\n",
    "inline tables": "copy = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n",
    "arrays in a profile": "[profiles.x]\nrate = " + "[" * DEEP + "]" * DEEP + "\n",
    "dotted keys": "profiles." + ".".join(["a"] * DEEP) + " = 1\n",
    "table header": "[" + ".".join(["a"] * DEEP) + "]\n",
}


@pytest.mark.parametrize("text", DEEP_FILES.values(), ids=DEEP_FILES.keys())
def test_deeply_nested_config_file_is_a_config_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert settings_error(env={}, path=path).startswith(str(path))


# The installed command, end to end: exit 2 and one line, where 0.1.0 said "internal error" (70) or hung.


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("DAILY_API_KEY", "DAILY_API_URL")}
    full |= {"DAILY_API_KEY": KEY} | env
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=full, timeout=30)
    assert KEY not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("get", JOB_ID), {"DAILY_API_URL": "http://[::1"}),
        (("get", JOB_ID), {"DAILY_API_URL": "http://127.0.0.1:99999/v1"}),
        (("list",), {"DAILY_API_URL": "http://a\x1b]52;c;aGk=\x07/v1"}),
        (("watch", JOB_ID), {"DAILY_API_URL": "gopher://a.example/v1"}),
        (("get", JOB_ID, "--rate", "1e-300"), {}),
        (("watch", JOB_ID, "--interval", "nan"), {}),
        ((JOB_ID, "--rate", "-5"), {}),  # the TUI form checks settings before anything starts
        ((JOB_ID,), {"DAILY_API_URL": "http://[::1"}),
    ],
)
def test_installed_command_exits_2_with_one_line(args: tuple[str, ...], env: dict[str, str]) -> None:
    result = run(*args, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("batchmon: ") and "internal error" not in lines[0]
    assert "\x1b" not in result.stderr and result.stdout == ""


def test_deep_config_file_end_to_end() -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "batchmon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(DEEP_FILES["arrays"])
    result = run("get", JOB_ID, env={})
    assert result.returncode == 2 and result.stderr.strip() == f"batchmon: {config}: not valid TOML: nested too deeply"


def test_unwritable_state_folder_is_one_line_for_the_tui(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run(JOB_ID, env={"XDG_STATE_HOME": str(blocker)})  # 0.1.0: NotADirectoryError traceback, exit 1
    assert result.returncode == 2
    assert (
        result.stderr == f"batchmon: cannot write the log file {blocker}/batchmon/log/batchmon.log: Not a directory\n"
    )


def test_a_bug_with_no_writable_log_still_says_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import services
    from tui.cli.common import EXIT_BUG
    from tui.cli.main import main

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setitem(services.HANDLERS, "locate", lambda _args: 1 / 0)  # a bug in a command
    assert main(["locate"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert err.startswith("batchmon: internal error (ZeroDivisionError); cannot write the log file ")
    assert err.count("\n") == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_under_the_log_prints_no_traceback(tmp_path: Path) -> None:
    log = tmp_path / "batchmon" / "log" / "batchmon.log"
    log.parent.mkdir(parents=True)
    log.symlink_to("/dev/full")  # every write fails with "No space left on device"
    code = "import sys, tui.cli.main as cli, tui.cli.services as s; s.HANDLERS['locate'] = lambda args: 1 / 0; sys.exit(cli.main(['locate']))"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 70  # 0.1.0: "--- Logging error ---" and a traceback, exit 1
    assert result.stderr == f"batchmon: internal error; details in {log}\n"


@pytest.mark.parametrize(
    ("option", "value"), [("--speed", "nan"), ("--speed", "inf"), ("--speed", "0"), ("--jobs", "100000001")]
)
def test_simulate_refuses_absurd_numbers(option: str, value: str) -> None:
    result = run("simulate", "--port", "0", option, value, env={})  # 0.1.0: served NaN times, or hung seeding
    assert result.returncode == 2
    assert result.stderr.startswith(f"batchmon: {option} must be between") and result.stderr.count("\n") == 1


# Property: whatever the file, the environment and the flags hold, settings load or fail with one ConfigError line.

toml_fragments = st.sampled_from(
    [
        "rate = 5\n",
        "rate = nan\n",
        "rate = [[[1]]]\n",
        'api_url = "http://[::1"\n',
        "[copy]\nosc52 = true\n",
        "[profiles.x]\nrate = 1e-300\n",
        'profile = "x"\n',
        "copy = {a = {b = 1}}\n",
        'api_key = "a\\u001bb"\n',
        "[[profiles]]\n",
        "interval = inf\n",
        "bell = 2023-01-01\n",
        '"\\u0000" = 1\n',
        "x." * 300 + "y = 1\n",
    ]
)


def load_or_config_error(**kwargs: Any) -> None:
    try:
        loaded = load_settings(**kwargs)
    except ConfigError as exc:  # either outcome is fine: a clear error or sane settings
        assert "\n" not in str(exc)  # noqa: PT017
        return
    assert MIN_RATE <= loaded.rate <= 20 and 0.5 <= loaded.interval <= 3600
    assert loaded.api_url.startswith(("http://", "https://")) and loaded.api_url.isprintable()


@settings(max_examples=300, deadline=None)
@given(text=st.lists(toml_fragments | st.text(max_size=40), max_size=4).map("".join))
def test_any_config_file_loads_or_fails_with_one_line(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_or_config_error(env={}, path=path)


numbers = st.none() | st.text(max_size=8) | st.floats(allow_nan=True, allow_infinity=True).map(str)


@settings(max_examples=300, deadline=None)
@given(
    url=st.none() | st.text(max_size=40) | st.sampled_from(["http://[::1", "http://a:0", "http://a:99999", "ftp://a"]),
    rate=numbers | st.sampled_from(["1e-300", "0.05", "20.0001"]),
    interval=numbers,
)
def test_any_environment_and_flags_load_or_fail_with_one_line(
    url: str | None, rate: str | None, interval: str | None
) -> None:
    env = {"DAILY_API_URL": url} if url else {}
    load_or_config_error(flags={"rate": rate, "interval": interval}, env=env, path=Path("/nonexistent/config.toml"))
