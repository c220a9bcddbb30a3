"""The gated figures: a profile's limits applied to a bench report.

A limit of 0 in the profile is reported, not gated. A figure passes when it is at most its
limit; a missing figure fails.

>>> Check("x", "x", 1.5, 2.0, "ms").passed, Check("y", "y", None, 2.0, "ms").passed
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from kbd_lm.export.bench.profile import BudgetConfig
from kbd_lm.export.bench.summary import SERIES


@dataclass(frozen=True)
class Check:
    """One gated figure: passes when ``value <= limit`` (a missing value fails)."""

    key: str
    figure: str
    value: float | None
    limit: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.limit


def checks(report: dict, profile: BudgetConfig) -> list[Check]:
    """The limits of ``profile`` (those > 0) applied to a report's figures.

    >>> r = {"latency_ms": {"suggest_next_word": {"p99": 1.0}}, "sizes": {"shipped_bytes": 9}}
    >>> [(c.key, c.passed) for c in checks(r, BudgetConfig(bundle_bytes=10, cold_start_ms=0,
    ...      peak_rss_mb=0, suggest_p99_ms=0.5))]
    [('suggest_next_word_p99', False), ('suggest_completion_p99', False), ('bundle_bytes', True)]
    """
    lat = report.get("latency_ms", {})
    p99 = {key: (lat.get(key) or {}).get("p99") for key in SERIES}
    s = profile.slowdown
    out = []
    for key in ("suggest_next_word", "suggest_completion"):
        if profile.suggest_p99_ms > 0:
            out.append(
                Check(f"{key}_p99", f"{SERIES[key]} p99", p99[key], profile.suggest_p99_ms, "ms")
            )
    for key in ("suggest_next_word", "suggest_completion"):
        if profile.phone_suggest_p99_ms > 0:
            out.append(
                Check(
                    f"{key}_phone_p99",
                    f"{SERIES[key]} p99, phone est.",
                    p99[key] * s if p99[key] is not None else None,
                    profile.phone_suggest_p99_ms,
                    "ms",
                )
            )
    if profile.new_field_p99_ms > 0:
        out.append(
            Check(
                "suggest_new_field_p99",
                f"{SERIES['suggest_new_field']} p99",
                p99["suggest_new_field"],
                profile.new_field_p99_ms,
                "ms",
            )
        )
    if profile.correct_p99_ms > 0:
        out.append(
            Check(
                "correct_noisy_p99",
                f"{SERIES['correct_noisy']} p99",
                p99["correct_noisy"],
                profile.correct_p99_ms,
                "ms",
            )
        )
    cold = report.get("cold_start_ms", {})
    mem = report.get("memory_mb", {})
    others = (  # key, limit, figure, value, unit
        (
            "cold_start",
            profile.cold_start_ms,
            cold.get("gated_label", "cold start"),
            cold.get("gated_median"),
            "ms",
        ),
        (
            "peak_rss",
            profile.peak_rss_mb,
            mem.get("gated_label", "peak RSS"),
            mem.get("gated_peak"),
            "MB",
        ),
        ("rss_growth", profile.rss_growth_mb, "RSS growth after warm-up", mem.get("growth"), "MB"),
        (
            "bundle_bytes",
            profile.bundle_bytes,
            "bundle size (shipped files)",
            report.get("sizes", {}).get("shipped_bytes"),
            "bytes",
        ),
    )
    out += [
        Check(key, figure, value, limit, unit)
        for key, limit, figure, value, unit in others
        if limit > 0
    ]
    return out
