"""Copy strategy: OSC 52, the tmux paste buffer and a native clipboard tool, reported honestly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OSC52 = "OSC 52"
TMUX = "tmux buffer"
TIMEOUT = 2.0  # seconds per external command; a clipboard tool that hangs must not hang the UI long


@dataclass(frozen=True)
class CopyResult:
    """What a copy attempt did."""

    text: str
    done: tuple[str, ...]  # human names of what worked, e.g. ("OSC 52", "tmux buffer", "xclip")
    failed: tuple[str, ...]  # "<name>: <reason>", e.g. ("tmux buffer: tmux exited 1",)

    @property
    def ok(self) -> bool:
        """Whether anything at all was done (OSC 52 counts, though it cannot be confirmed)."""
        return bool(self.done)

    def summary(self) -> str:
        """One line for the toast; OSC 52 is only "sent" because terminals never acknowledge it."""
        confirmed = [name for name in self.done if name != OSC52]
        parts: list[str] = []
        if confirmed:
            parts.append("Copied via " + " + ".join(confirmed))
            if OSC52 in self.done:
                parts.append("also sent OSC 52")
        elif OSC52 in self.done:
            parts.append("Sent OSC 52 (your terminal must allow it)")
        for failure in self.failed:
            name, _, why = failure.partition(": ")
            parts.append(f"{name} failed: {why}" if why else f"{name} failed")
        if not self.done:
            head = "Could not copy" if self.failed else "No clipboard available"
            return "; ".join([head, *parts, "the text is shown on screen to select by hand"])
        return "; ".join(parts)


def _platform() -> str:
    return sys.platform  # a function so tests can pretend to be another OS


def _reason(proc: subprocess.CompletedProcess[Any], name: str) -> str:
    """The first line of stderr, else the exit status."""
    err = proc.stderr.decode(errors="replace") if isinstance(proc.stderr, bytes) else (proc.stderr or "")
    line = err.strip().splitlines()[0] if err.strip() else ""
    return line[:80] if line else f"{name} exited {proc.returncode}"


def _run_tool(
    run: Callable[..., subprocess.CompletedProcess[Any]],
    name: str,
    argv: list[str],
    text: str,
    env: Mapping[str, str] | None,
    capture: bool,
) -> tuple[int | None, str | None]:
    """Run one command with `text` on stdin: (exit status or None if it never ran, failure reason)."""
    try:
        proc = run(
            argv,
            input=text.encode(),
            # Clipboard daemons (xclip, wl-copy) fork and keep inherited pipes open, which would
            # make run() wait for the timeout; so only tmux gets its stderr captured.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
            timeout=TIMEOUT,
            env=None if env is None else dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"{name} timed out"
    except FileNotFoundError:
        return None, f"{name} not found"
    except Exception as exc:  # never raise from a copy: report instead
        return None, f"{name}: {exc}"[:80]
    return proc.returncode, None if proc.returncode == 0 else _reason(proc, name)


def _native_command(env: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """The clipboard tool that fits this environment and exists, as (name, argv)."""
    path = env.get("PATH")
    candidates: list[tuple[str, list[str]]] = []
    if _platform() == "darwin":
        candidates.append(("pbcopy", ["pbcopy"]))
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        candidates.append(("clip.exe", ["clip.exe"]))
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(("wl-copy", ["wl-copy"]))
    if env.get("DISPLAY"):
        candidates.append(("xclip", ["xclip", "-selection", "clipboard"]))
        candidates.append(("xsel", ["xsel", "--clipboard", "--input"]))
    for name, argv in candidates:
        found = shutil.which(argv[0], path=path)
        if found:
            return name, [found, *argv[1:]]
    return None  # e.g. over SSH with no display: nothing applies, which is not a failure


def copy_text(
    text: str,
    *,
    osc52: Callable[[str], None] | None,
    use_tmux: bool = True,
    use_native: bool = True,
    env: Mapping[str, str] | None = None,
    run: Callable[..., subprocess.CompletedProcess[Any]] = subprocess.run,
) -> CopyResult:
    """Copy `text` every way that applies; never raises. `env` defaults to os.environ."""
    environ = os.environ if env is None else env
    done: list[str] = []
    failed: list[str] = []

    if osc52 is not None:
        try:
            osc52(text)
            done.append(OSC52)
        except Exception as exc:
            failed.append(f"{OSC52}: {exc}"[:100])

    if use_tmux and environ.get("TMUX"):
        # -w also forwards to the outer terminal's clipboard; tmux < 3.2 lacks it, so retry without.
        status, error = _run_tool(run, "tmux", ["tmux", "load-buffer", "-w", "-"], text, env, True)
        if status not in (0, None):  # it ran and failed: maybe just the -w flag
            status, error = _run_tool(run, "tmux", ["tmux", "load-buffer", "-"], text, env, True)
        if error is None:
            done.append(TMUX)
        else:
            failed.append(f"{TMUX}: {error}")

    if use_native:
        native = _native_command(environ)
        if native is not None:
            name, argv = native
            _, error = _run_tool(run, name, argv, text, env, False)
            if error is None:
                done.append(name)
            else:
                failed.append(f"{name}: {error}")

    return CopyResult(text=text, done=tuple(done), failed=tuple(failed))
