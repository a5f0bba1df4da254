"""Tests for tui.ui.clipboard: what gets tried, what gets reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tui.ui import clipboard
from tui.ui.clipboard import CopyResult, copy_text

TEXT = "recordings/abc/out.mp4"


class FakeRun:
    """Stands in for subprocess.run: records calls, answers from a table of argv prefixes."""

    def __init__(self, answers: dict[tuple[str, ...], int | BaseException] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        for prefix, answer in self.answers.items():
            if tuple(argv[: len(prefix)]) == prefix:
                if isinstance(answer, BaseException):
                    raise answer
                err = "unknown flag -w\n" if answer and "-w" in argv else ""
                return subprocess.CompletedProcess(argv, answer, "", err)
        return subprocess.CompletedProcess(argv, 0, "", "")

    @property
    def argvs(self) -> list[list[str]]:
        return [argv for argv, _ in self.calls]


@pytest.fixture
def which(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Pretend exactly these tools are installed, as /bin/<name>."""

    def install(*names: str) -> None:
        monkeypatch.setattr(
            clipboard.shutil,  # type: ignore[attr-defined]  # the module's own import, as it finds tools
            "which",
            lambda name, **_: f"/bin/{name}" if name in names else None,
        )

    install()
    return install


@pytest.mark.usefixtures("which")
def test_osc52_only_is_reported_as_sent() -> None:
    sent: list[str] = []
    run = FakeRun()
    result = copy_text(TEXT, osc52=sent.append, env={}, run=run)
    assert sent == [TEXT]
    assert result == CopyResult(TEXT, ("OSC 52",), ())
    assert result.summary() == "Sent OSC 52 (your terminal must allow it)"
    assert run.calls == []  # no tmux, no display: nothing else applies, and that's not a failure


@pytest.mark.usefixtures("which")
def test_tmux_buffer_with_w() -> None:
    run = FakeRun()
    env = {"TMUX": "/tmp/tmux-1/default,123,0"}
    result = copy_text(TEXT, osc52=lambda _t: None, env=env, run=run)
    assert run.argvs == [["tmux", "load-buffer", "-w", "-"]]
    kwargs = run.calls[0][1]
    assert kwargs["input"] == TEXT.encode()
    assert kwargs["env"]["TMUX"] == env["TMUX"]
    assert 0 < kwargs["timeout"] <= 5
    assert result.done == ("OSC 52", "tmux buffer")
    assert result.summary() == "Copied via tmux buffer; also sent OSC 52"


@pytest.mark.usefixtures("which")
def test_old_tmux_retries_without_w() -> None:
    run = FakeRun({("tmux", "load-buffer", "-w"): 1})
    result = copy_text(TEXT, osc52=None, env={"TMUX": "x,1,0"}, run=run)
    assert run.argvs == [["tmux", "load-buffer", "-w", "-"], ["tmux", "load-buffer", "-"]]
    assert result.done == ("tmux buffer",) and result.failed == ()


@pytest.mark.usefixtures("which")
def test_tmux_failure_is_reported() -> None:
    run = FakeRun({("tmux",): 1})
    result = copy_text(TEXT, osc52=lambda _t: None, env={"TMUX": "x,1,0"}, run=run)
    assert len(run.calls) == 2
    assert result.failed == ("tmux buffer: tmux exited 1",)
    assert result.summary() == "Sent OSC 52 (your terminal must allow it); tmux buffer failed: tmux exited 1"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (subprocess.TimeoutExpired(["tmux"], 2), "tmux timed out"),
        (FileNotFoundError(2, "No such file"), "tmux not found"),
        (PermissionError(13, "denied"), "tmux: [Errno 13] denied"),
    ],
)
@pytest.mark.usefixtures("which")
def test_tmux_errors_never_raise_and_are_not_retried(error: BaseException, reason: str) -> None:
    run = FakeRun({("tmux",): error})
    result = copy_text(TEXT, osc52=None, env={"TMUX": "x,1,0"}, run=run)
    assert len(run.calls) == 1
    assert result.failed == (f"tmux buffer: {reason}",)
    summary = result.summary()
    assert summary.startswith("Could not copy; tmux buffer failed")
    assert summary.endswith("the text is shown on screen to select by hand")


@pytest.mark.usefixtures("which")
def test_tmux_disabled_or_absent() -> None:
    run = FakeRun()
    copy_text(TEXT, osc52=None, use_tmux=False, env={"TMUX": "x,1,0"}, run=run)
    copy_text(TEXT, osc52=None, env={"TMUX": ""}, run=run)
    assert run.calls == []


@pytest.mark.usefixtures("which")
def test_osc52_that_raises_is_a_failure() -> None:
    def broken(_text: str) -> None:
        raise RuntimeError("no driver")

    result = copy_text(TEXT, osc52=broken, env={}, run=FakeRun())
    assert result.done == () and result.failed == ("OSC 52: no driver",)


@pytest.mark.usefixtures("which")
def test_nothing_available() -> None:
    result = copy_text(TEXT, osc52=None, env={"SSH_CONNECTION": "1 2 3 4"}, run=FakeRun())
    assert result.summary() == "No clipboard available; the text is shown on screen to select by hand"
    assert not result.ok


@pytest.mark.parametrize(
    ("env", "installed", "platform", "argv", "name"),
    [
        ({"DISPLAY": ":0"}, ("xclip", "xsel"), "linux", ["/bin/xclip", "-selection", "clipboard"], "xclip"),
        ({"DISPLAY": ":0"}, ("xsel",), "linux", ["/bin/xsel", "--clipboard", "--input"], "xsel"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, ("wl-copy", "xclip"), "linux", ["/bin/wl-copy"], "wl-copy"),
        ({}, ("pbcopy",), "darwin", ["/bin/pbcopy"], "pbcopy"),
        ({"WSL_DISTRO_NAME": "Ubuntu"}, ("clip.exe",), "linux", ["/bin/clip.exe"], "clip.exe"),
    ],
)
def test_native_tool_choice(
    which: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    installed: tuple[str, ...],
    platform: str,
    argv: list[str],
    name: str,
) -> None:
    which(*installed)
    monkeypatch.setattr(clipboard, "_platform", lambda: platform)
    run = FakeRun()
    result = copy_text(TEXT, osc52=None, env=env, run=run)
    assert run.argvs == [argv]
    # Clipboard daemons fork and keep pipes open: output must not be captured.
    assert run.calls[0][1]["stdout"] == subprocess.DEVNULL
    assert run.calls[0][1]["stderr"] == subprocess.DEVNULL
    assert result.done == (name,)
    assert result.summary() == f"Copied via {name}"


def test_native_not_applicable(which: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clipboard, "_platform", lambda: "linux")
    which("xclip", "wl-copy", "pbcopy")
    run = FakeRun()
    result = copy_text(TEXT, osc52=None, env={}, run=run)  # SSH without a display
    assert run.calls == [] and result.failed == ()
    copy_text(TEXT, osc52=None, use_native=False, env={"DISPLAY": ":0"}, run=run)
    assert run.calls == []


def test_native_failure_with_tmux_success(which: Callable[..., None]) -> None:
    which("xclip")
    run = FakeRun({("/bin/xclip",): 1})
    result = copy_text(TEXT, osc52=lambda _t: None, env={"DISPLAY": ":0", "TMUX": "x,1,0"}, run=run)
    assert result.done == ("OSC 52", "tmux buffer")
    assert result.failed == ("xclip: xclip exited 1",)
    assert result.summary() == "Copied via tmux buffer; also sent OSC 52; xclip failed: xclip exited 1"


def test_summary_joins_confirmed_ways() -> None:
    r = CopyResult(TEXT, ("tmux buffer", "xclip"), ())
    assert r.summary() == "Copied via tmux buffer + xclip"


@pytest.mark.usefixtures("which")
def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "x,1,0")
    run = FakeRun()
    copy_text(TEXT, osc52=None, run=run)
    assert run.argvs[0][:2] == ["tmux", "load-buffer"]
    assert run.calls[0][1]["env"] is None  # inherits the real environment


# -- real tmux ---------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_real_tmux_buffer() -> None:
    # A private server: its own socket folder (TMUX_TMPDIR) and name, no user config, and the
    # caller's TMUX removed, so the user's own tmux server is never touched.
    tmpdir = tempfile.mkdtemp(prefix="bm-tmux-")  # short path: sockets have a ~100 byte limit
    name = f"batchmon-test-{os.getpid()}"
    base_env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    base_env["TMUX_TMPDIR"] = tmpdir

    def tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", name, *args], env=base_env, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "t")
        socket = tmux("display-message", "-p", "-t", "t", "#{socket_path}")
        pid = tmux("display-message", "-p", "-t", "t", "#{pid}")
        assert Path(socket).is_relative_to(tmpdir)
        env = {**base_env, "TMUX": f"{socket},{pid},0"}
        text = "s3://bucket/recordings/ünïcode key.mp4"
        result = copy_text(text, osc52=None, use_native=False, env=env)
        assert result.done == ("tmux buffer",), result.failed
        assert tmux("show-buffer") == text
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], env=base_env, capture_output=True, timeout=10, check=False)
        shutil.rmtree(tmpdir, ignore_errors=True)
