"""Settings from the config file, the environment and command-line flags."""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from tui.api.budget import MAX_RATE
from tui.api.client import DEFAULT_API_URL
from tui.core import locations

MIN_RATE = 0.1  # one request per 10 s; slower would make any monitor look frozen (and 1e-300 hangs)
MIN_INTERVAL = 0.5  # below this the poller would spin for no visible gain
MAX_INTERVAL = 3600.0  # above an hour a "monitor" would look frozen; likely a unit mistake

FLAG_KEYS = frozenset({"api_url", "rate", "interval", "profile"})
UTF8_BOM = b"\xef\xbb\xbf"
MAX_CONFIG_BYTES = 1024 * 1024  # a config file is a few hundred bytes; a huge one is a mistake


class ConfigError(Exception):
    """A broken config file or bad setting; message is one short line for the user."""


@dataclass(frozen=True)
class CopySettings:
    """Which copy mechanisms to use."""

    osc52: bool = True
    tmux: bool = True
    native: bool = True


@dataclass(frozen=True)
class Settings:
    """Effective settings; `api_key` is a SecretStr so reprs and crash reports show only stars."""

    api_key: SecretStr | None = None
    api_url: str = DEFAULT_API_URL
    rate: float = 5.0
    interval: float = 1.0  # short enough to see a change within ~2 s
    bell: bool = True
    copy: CopySettings = CopySettings()
    profile: str | None = None
    download_dir: Path | None = None  # None: platformdirs' user downloads folder / "batchmon"
    keymap: Mapping[str, str] = field(default_factory=dict)  # binding id -> keys, from the [keymap] table
    warnings: tuple[str, ...] = ()  # said once to the user (stderr, or a toast in the TUI); never hold the key


# File schema. strict=True: TOML is typed, so `rate = "5"` is a mistake worth reporting.
# Every field is optional (None = not given) so layers can be merged key by key.
class _CopyTable(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    osc52: bool | None = None
    tmux: bool | None = None
    native: bool | None = None


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    api_key: str | None = None
    api_url: str | None = None
    rate: float | None = None
    interval: float | None = None
    bell: bool | None = None
    download_dir: str | None = None
    copy_: _CopyTable | None = Field(None, alias="copy")  # "copy" would shadow BaseModel.copy


class _File(_Layer):
    profile: str | None = None  # default profile, used when neither flag nor env chooses one
    keymap: dict[str, str] = {}  # binding id -> keys (checked against the TUI's bindings in tui.ui.keymap)
    profiles: dict[str, _Layer] = {}


_ERROR_TEXT = {
    "extra_forbidden": "unknown setting",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be a table",
    "dict_type": "must be a table",
}


def _pydantic_message(path: Path, exc: ValidationError, known: list[str]) -> str:
    """One short line from the first pydantic error; input values are never echoed."""
    errors = exc.errors()
    err = errors[0]
    where = ".".join(str(part) for part in err["loc"])
    what = _ERROR_TEXT.get(err["type"], err["msg"].lower())
    if err["type"] == "extra_forbidden":
        line = f"{path}: unknown setting '{where}'"
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        if close:
            line += f" (did you mean '{close[0]}'?)"
    else:
        line = f"{path}: {where} {what}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return line


def _read_file(path: Path) -> _File | None:
    """Parse and validate the config file; None when it does not exist.

    A UTF-8 byte-order mark (Notepad writes one) is skipped: TOML forbids it, but it means nothing.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KB; not a config file")
        raw = tomllib.loads(data.removeprefix(UTF8_BOM).decode("utf-8"))
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level: thousands of `[` exhaust the stack
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return _File.model_validate(raw)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    except ValidationError as exc:
        known = [
            "api_key",
            "api_url",
            "rate",
            "interval",
            "bell",
            "copy",
            "profile",
            "profiles",
            "download_dir",
            "keymap",
            "osc52",
            "tmux",
            "native",
        ]
        raise ConfigError(_pydantic_message(path, exc, known)) from None


def _layer_values(layer: _Layer) -> dict[str, Any]:
    """The settings a file layer gives, flattened (`copy.tmux` etc.)."""
    values = layer.model_dump(exclude_none=True, exclude={"copy_"})
    if layer.copy_ is not None:
        for key, value in layer.copy_.model_dump(exclude_none=True).items():
            values[f"copy.{key}"] = value
    return values


def _number(value: object, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number") from None


def load_settings(
    *,
    flags: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Build Settings: flags beat environment, environment beats file, file beats defaults.

    A chosen profile (flag `profile`, else `BATCHMON_PROFILE`, else the file's top-level `profile`)
    overrides the file's top level; environment and flags still beat it.
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    if unknown := set(flags) - FLAG_KEYS:
        raise TypeError(f"unknown flag keys: {sorted(unknown)}")  # programming error, not user error
    path = locations.config_file() if path is None else path
    file = _read_file(path)

    # values[key] and where[key] (for error messages) are filled layer by layer, lowest first.
    values: dict[str, Any] = {}
    where: dict[str, str] = {}

    def put(key: str, value: Any, label: str) -> None:
        values[key] = value
        where[key] = label

    if file is not None:
        for key, value in _layer_values(file).items():
            put(key, value, f"{path}: {key}")

    profile = flags.get("profile") or env.get("BATCHMON_PROFILE") or (file.profile if file else None)
    if profile is not None:
        profile = str(profile)
        profiles = file.profiles if file is not None else {}
        if profile not in profiles:
            available = ", ".join(sorted(profiles)) or "none defined"
            raise ConfigError(f"profile '{profile}' not found in {path} (available: {available})")
        for key, value in _layer_values(profiles[profile]).items():
            put(key, value, f"{path}: profiles.{profile}.{key}")

    # Empty environment variables count as unset, as most tools treat them.
    if env.get("DAILY_API_KEY"):
        put("api_key", env["DAILY_API_KEY"], "DAILY_API_KEY")
    if env.get("DAILY_API_URL"):
        put("api_url", env["DAILY_API_URL"], "DAILY_API_URL")

    for key in ("api_url", "rate", "interval"):
        if key in flags:
            put(key, flags[key], f"--{key.replace('_', '-')}")

    settings = _build(values, where, profile)
    if file is not None and file.keymap:
        settings = dataclasses.replace(settings, keymap=dict(file.keymap))
    if file is not None and _holds_key(file) and (warning := _readable_by_others(path)):
        settings = dataclasses.replace(settings, warnings=(warning,))
    return settings


def _holds_key(file: _File) -> bool:
    return bool(file.api_key) or any(layer.api_key for layer in file.profiles.values())


def _readable_by_others(path: Path) -> str | None:
    """A warning when the file holding an API key can be read by group or others."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o044:
        return None
    return f"{path} holds an API key and others can read it (mode {mode:04o}); run: chmod 600 {path}"


def _build(values: dict[str, Any], where: dict[str, str], profile: str | None) -> Settings:
    """Check ranges and assemble Settings; messages name where the bad value came from."""
    rate = _number(values.get("rate", Settings.rate), where.get("rate", "rate"))
    if not (MIN_RATE <= rate <= MAX_RATE):  # NaN fails too
        raise ConfigError(
            f"{where['rate']} must be between {MIN_RATE:g} and {MAX_RATE:g} requests/s "
            f"(Daily's limit is {MAX_RATE:g}), got {rate:g}"
        )
    interval = _number(values.get("interval", Settings.interval), where.get("interval", "interval"))
    if not (MIN_INTERVAL <= interval <= MAX_INTERVAL):  # NaN fails too
        raise ConfigError(
            f"{where['interval']} must be between {MIN_INTERVAL:g} and {MAX_INTERVAL:g} seconds, got {interval:g}"
        )
    api_url = _api_url(str(values.get("api_url", DEFAULT_API_URL)), where.get("api_url", "api_url"))
    key = _api_key(values.get("api_key"), where.get("api_key", "api_key"))
    defaults = CopySettings()
    return Settings(
        api_key=SecretStr(key) if key else None,
        api_url=api_url.rstrip("/"),  # the client appends paths
        rate=rate,
        interval=interval,
        bell=values.get("bell", True),
        copy=CopySettings(
            osc52=values.get("copy.osc52", defaults.osc52),
            tmux=values.get("copy.tmux", defaults.tmux),
            native=values.get("copy.native", defaults.native),
        ),
        profile=profile,
        download_dir=Path(values["download_dir"]).expanduser() if values.get("download_dir") else None,
    )


def clean_api_key(raw: str | None, label: str) -> str | None:
    """A key typed by the user (the TUI's set-key dialog), checked as one from the file or env is."""
    return _api_key(raw, label)


def _api_key(raw: str | None, label: str) -> str | None:
    """The key without surrounding whitespace; ConfigError (never echoing it) if no header can carry it."""
    key = raw.strip() if raw else None
    if key and any(not char.isprintable() or char.isspace() for char in key):
        raise ConfigError(f"{label} holds spaces or control characters, which no API key has")
    return key or None


def _api_url(raw: str, label: str) -> str:
    """`raw` if it is a usable http(s) base URL, else ConfigError.

    The value is never echoed: a key pasted in the wrong place must not reach the screen.
    """
    url = raw.strip()
    if any(not char.isprintable() or char.isspace() for char in url):
        raise ConfigError(f"{label} must be an http:// or https:// URL without spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": an unbalanced [ or ]
        raise ConfigError(f"{label} is not a valid URL (check the brackets around the host)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{label} must be an http:// or https:// URL")
    try:
        port = parts.port  # ValueError when not a number or out of range
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"{label}: the port must be a number between 1 and 65535")
    try:
        httpx2.URL(url)  # what the client will parse; stricter than urlsplit in places
    except httpx2.InvalidURL:
        raise ConfigError(f"{label} is not a valid URL") from None
    return url


def require_key(settings: Settings) -> str:
    """The API key as a plain string, or ConfigError saying how to set it."""
    if settings.api_key is None or not settings.api_key.get_secret_value():
        raise ConfigError(
            f"no API key: set DAILY_API_KEY (or api_key in {locations.config_file()}), or try `batchmon --demo`"
        )
    return settings.api_key.get_secret_value()
