"""Frozen dataclass configs loaded from TOML, overridable from the command line.

Every pipeline stage has one config dataclass. ``load_config`` reads a preset (a TOML file
shipped in ``kbd_lm/configs/<stage>/`` or any path), applies ``key=value`` overrides and
checks every key and type: unknown keys and wrong types are errors, never silently ignored.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     lr: float = 0.1
...     name: str = "x"
>>> load_config(Demo, overrides=["lr=0.5"])
Demo(lr=0.5, name='x')
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CONFIG_DIR = Path(__file__).parents[1] / "configs"


class ConfigError(ValueError):
    """A config file or override that does not match the config dataclass."""


def preset_path(stage: str, preset: str) -> Path:
    """Resolve a preset name ("default", "tiny") or a path to a TOML file."""
    candidate = Path(preset)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"config file not found: {candidate}")
        return candidate
    path = CONFIG_DIR / stage / f"{preset}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIG_DIR / stage).glob("*.toml"))
        raise ConfigError(f"unknown {stage} preset {preset!r}; known presets: {', '.join(known)}")
    return path


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """Return ``value`` converted to ``annotation`` if that is lossless, else raise."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(name, value, option)
            except ConfigError:
                continue
        raise ConfigError(f"{name}: expected {annotation}, got {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise ConfigError(f"{name}: expected one of {list(allowed)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        (inner, *_) = typing.get_args(annotation) or (Any,)
        return tuple(_check_type(name, v, inner) for v in value)
    if annotation is Any:
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is bool and not isinstance(value, bool):
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if annotation is int and isinstance(value, bool):
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    if not isinstance(value, annotation):
        raise ConfigError(
            f"{name}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is read as TOML, falling back to a bare string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value")
    key, raw = (part.strip() for part in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def from_dict(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    """Build ``cls`` from a mapping, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    renamed = getattr(cls, "RENAMED", {})  # a config's old key -> its new name
    for key in unknown:
        if key in renamed:
            raise ConfigError(f"{source}: {key} is now called {renamed[key]}; rename it")
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)} for {cls.__name__}; "
            f"known keys: {', '.join(sorted(fields))}"
        )
    checked = {k: _check_type(f"{source}: {k}", v, hints[k]) for k, v in data.items()}
    return cls(**checked)


def load_config(
    cls: type[T],
    stage: str | None = None,
    preset: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> T:
    """Load ``cls`` from a preset TOML file, then apply ``key=value`` overrides.

    Args:
        cls: a frozen dataclass whose fields all have defaults.
        stage: the folder under ``kbd_lm/configs`` holding this stage's presets.
        preset: preset name or path; None means the dataclass defaults.
        overrides: strings such as ``"epochs=3"`` or ``'cell="gru"'``.
    Returns:
        A validated instance of ``cls``.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if preset is not None:
        path = preset_path(stage or "", preset)
        source = str(path)
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path}: not valid TOML: {err}") from err
    base = from_dict(cls, data, source)
    if not overrides:
        return base
    merged = dataclasses.asdict(base)
    for item in overrides:
        key, value = _parse_override(item)
        if key not in merged:
            from_dict(cls, {key: value}, "command line")  # raises with the list of keys
        merged[key] = value
    return from_dict(cls, merged, "command line")


def to_toml(config: Any) -> str:
    """Serialise a flat config dataclass as TOML (the resolved config saved with artifacts)."""
    lines = []
    for key, value in dataclasses.asdict(config).items():
        if value is None:
            continue  # TOML has no null: an absent key means the default (None)
        if isinstance(value, tuple):
            value = list(value)
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
