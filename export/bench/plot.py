"""The bench plot (``bench.png``): latency histograms and tail curves of every series."""

from __future__ import annotations

from pathlib import Path

from kbd_lm.common.stats import percentiles
from kbd_lm.export.bench.report import fmt_ms
from kbd_lm.export.bench.summary import SERIES

# Colour and line style of each series: the model solid, the n-gram dotted, the step dashed.
STYLES = {
    "suggest_next_word": ("tab:blue", "-"),
    "suggest_completion": ("tab:orange", "-"),
    "suggest_new_field": ("tab:purple", "-"),
    "correct_noisy": ("tab:red", "-"),
    "correct_exact": ("tab:green", "-"),
    "ngram_next_word": ("tab:blue", ":"),
    "ngram_completion": ("tab:orange", ":"),
    "step_batch1": ("tab:gray", "--"),
    "step_beam": ("black", "--"),
}
# The keystroke series of the histogram (the others have latencies of another scale).
HISTOGRAM_SERIES = (
    "suggest_next_word",
    "suggest_completion",
    "ngram_next_word",
    "ngram_completion",
)


def plot_latency(report: dict, samples: dict, path: Path) -> None:
    """Draw latency histograms and tail curves (log x) into a PNG at ``path`` (Agg backend).

    ``samples``: microseconds by series (``bench.json``'s ``samples_us``); the profile's
    suggest p99 limit, when set, is a red line on both panels.
    """
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from kbd_lm.common.fsutil import atomic_write_bytes

    series = {k: np.asarray(v) / 1000.0 for k, v in samples.items() if len(v) and k in STYLES}
    prof = report["profile"]
    limit = prof["suggest_p99_ms"]
    fig = Figure(figsize=(15, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    _histograms(ax1, series, limit)
    _tails(ax2, series)
    for ax in (ax1, ax2):
        if limit > 0:
            ax.axvline(
                limit,
                color="red",
                linewidth=1.2,
                linestyle="--",
                label=f"limit p99 <= {limit:g} ms ({prof['name']})",
            )
        ax.grid(True, which="both", alpha=0.25)
    ax1.legend(fontsize=8, loc="upper right")
    ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    mach = report["machine"]
    fig.suptitle(
        f"{report['bundle']['id']}: {mach['cpu_model']}, pinned core "
        f"{mach.get('pinned_core')}, {prof['runtime']} 1 thread, XNNPACK; "
        f"{'PASS' if report['passed'] else 'FAIL'} ({prof['name']})",
        fontsize=11,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(Path(path), buf.getvalue())


def _histograms(ax, series: dict, limit: float) -> None:
    """Left panel: the share of keystrokes by latency (ms, log bins up to past the limit)."""
    import numpy as np

    keys = [k for k in HISTOGRAM_SERIES if k in series]
    allv = np.concatenate([series[k] for k in keys] or list(series.values()))
    lo, hi = max(allv.min(), 1e-4), allv.max()
    if limit > 0:
        hi = max(hi, limit * 1.2)
    bins = np.logspace(np.log10(lo * 0.9), np.log10(hi * 1.1), 70)
    for key in keys:
        color, ls = STYLES[key]
        x = series[key]
        ax.hist(
            x,
            bins=bins,
            weights=np.full(len(x), 1 / len(x)),
            histtype="step",
            color=color,
            linestyle=ls,
            linewidth=1.6,
            label=f"{SERIES[key]} (n={len(x):,})",
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency per call (ms, log scale)")
    ax.set_ylabel("fraction of calls")
    ax.set_title("suggest latency per keystroke: model (solid) vs n-gram (dotted)")


def _tails(ax, series: dict) -> None:
    """Right panel: the share of calls slower than x, every series (log-log), with 1% marked."""
    import numpy as np

    for key, x in series.items():
        color, ls = STYLES[key]
        xs = np.sort(x)
        surv = 1.0 - np.arange(len(xs)) / len(xs)
        ax.step(
            xs,
            surv,
            where="post",
            color=color,
            linestyle=ls,
            linewidth=1.5,
            label=f"{SERIES[key]}: p99 {fmt_ms(percentiles(x, (99,))['p99'])} ms",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("latency per call (ms, log scale)")
    ax.set_ylabel("fraction of calls slower than x")
    ax.set_title("tails: where each curve crosses 1% is its p99")
    ax.axhline(0.01, color="gray", linewidth=0.8, linestyle="-.")
