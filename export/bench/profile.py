"""Budget profiles: the limits a bundle must hold and how much to measure.

A profile is a TOML file in ``export/bench/budgets/`` (``default``, ``phone-a76``,
``phone-a55``) or any path, loaded into :class:`BudgetConfig`; ``key=value`` overrides
change single fields.

>>> load_profile("phone-a76", ["calls=50"]).calls
50
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BUDGET_DIR = Path(__file__).parent / "budgets"


@dataclass(frozen=True)
class BudgetConfig:
    """A budget profile: limits (0 = reported, not gated) and how much to measure.

    Latency limits are on the host's core; ``phone_suggest_p99_ms`` applies to the latency
    projected to the phone core (measured x ``slowdown``). See
    ``export/bench/budgets/default.toml`` for what each field means.

    >>> BudgetConfig(phone_score=500.0, host_score=1000.0).slowdown
    2.0
    """

    name: str = "default"
    description: str = ""
    phone: str = "mid-range Cortex-A76-class core"
    phone_score: float = 575.0  # Geekbench 5 single-core of the phone core (approximate)
    host_score: float = 1100.0  # Geekbench 5 single-core assumed for the host's core
    score_source: str = ""
    suggest_p99_ms: float = 2.0
    phone_suggest_p99_ms: float = 0.0
    new_field_p99_ms: float = 0.0
    correct_p99_ms: float = 0.0
    cold_start_ms: float = 150.0
    peak_rss_mb: float = 40.0
    rss_growth_mb: float = 0.0
    bundle_bytes: int = 1_500_000
    count_python_overhead: bool = False
    calls: int = 1000
    warmup: int = 200
    cold_starts: int = 5
    seed: int = 0
    runtime: Literal["litert", "tflite-runtime"] = "litert"
    beam_width: int = 0  # 0: the bundle's (manifest decoding.beam_width); else at most that
    k: int = 3
    cpu: int = -1
    baseline: bool = True
    baseline_bytes: int = 1_500_000
    history_units: int = 80  # chitchat test messages typed with a full personal history; 0 = off
    # "native": time libkbd_lm.so beside the Python predictor (export/bench/native.py) under
    # the native_* limits instead of the phone budget (budgets/native.toml)
    engine: Literal["python", "native"] = "python"
    native_completion_p99_ms: float = 0.0
    native_cold_start_ms: float = 0.0

    @property
    def slowdown(self) -> float:
        """How many times slower the phone core is than the host's (host / phone score)."""
        return self.host_score / self.phone_score

    def check(self) -> BudgetConfig:
        """Refuse values that cannot be measured; returns self."""
        from kbd_lm.common.config import ConfigError

        if self.phone_score <= 0 or self.host_score <= 0:
            raise ConfigError(f"profile {self.name}: phone_score and host_score must be > 0")
        for key in ("calls", "k", "cold_starts"):
            if getattr(self, key) < 1:
                raise ConfigError(f"profile {self.name}: {key} must be >= 1")
        for key in ("warmup", "history_units", "beam_width"):
            if getattr(self, key) < 0:
                raise ConfigError(f"profile {self.name}: {key} must be >= 0")
        return self

    def beam_width_for(self, decoding) -> int:
        """The beam width to measure: the profile's, or the bundle's when 0; wider than the
        bundle's (``decoding``, its manifest's) is a ConfigError naming both.

        >>> from kbd_lm.inference.decoding import DecodingSpec
        >>> spec = DecodingSpec()  # beam width 8
        >>> BudgetConfig().beam_width_for(spec), BudgetConfig(beam_width=4).beam_width_for(spec)
        (8, 4)
        """
        from kbd_lm.common.config import ConfigError

        if self.beam_width > decoding.beam_width:
            raise ConfigError(
                f"profile {self.name}: beam_width {self.beam_width} is more than the bundle's "
                f"beam width {decoding.beam_width} (manifest decoding.beam_width)"
            )
        return self.beam_width or decoding.beam_width


def profile_names() -> list[str]:
    """Names of the profiles shipped in ``export/bench/budgets/`` (e.g. ``['default', ...]``)."""
    return sorted(p.stem for p in BUDGET_DIR.glob("*.toml"))


def load_profile(
    profile: str = "default", overrides: list[str] | tuple[str, ...] = ()
) -> BudgetConfig:
    """A :class:`BudgetConfig` from a profile name or a TOML path, plus ``key=value`` overrides.

    Unknown keys and wrong types are errors (:class:`kbd_lm.common.config.ConfigError`).

    >>> load_profile("default", ["calls=50"]).calls
    50
    """
    from kbd_lm.common.config import ConfigError, load_config

    path = Path(profile)
    if path.suffix != ".toml":
        path = BUDGET_DIR / f"{profile}.toml"
        if not path.is_file():
            raise ConfigError(
                f"unknown budget profile {profile!r}; known profiles: "
                f"{', '.join(profile_names())} (or a path to a .toml file)"
            )
    elif not path.is_file():
        raise ConfigError(f"budget profile not found: {path}")
    return load_config(BudgetConfig, preset=str(path), overrides=list(overrides)).check()
