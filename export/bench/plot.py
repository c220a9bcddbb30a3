"""The bench plot (``bench.png``): latency histograms and tail curves of every series."""

from __future__ import annotations

from pathlib import Path

from kbd_lm.common.stats import percentiles
from kbd_lm.export.bench.report import fmt_ms
from kbd_lm.export.bench.summary import SERIES


def plot_latency(report: dict, samples: dict, path: Path) -> None:
    """Draw latency histograms and tail curves (log x) into a PNG at ``path`` (Agg backend)."""
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from kbd_lm.common.fsutil import atomic_write_bytes

    styles = {
        "suggest_next_word": ("tab:blue", "-"),
        "suggest_completion": ("tab:orange", "-"),
        "suggest_new_field": ("tab:purple", "-"),
        "ngram_next_word": ("tab:blue", ":"),
        "ngram_completion": ("tab:orange", ":"),
        "step_batch1": ("tab:gray", "--"),
        "step_beam": ("black", "--"),
    }
    series = {k: np.asarray(v) / 1000.0 for k, v in samples.items() if len(v) and k in styles}
    prof = report["profile"]
    limit = prof["suggest_p99_ms"]
    fig = Figure(figsize=(15, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    hist_keys = [
        k
        for k in ("suggest_next_word", "suggest_completion", "ngram_next_word", "ngram_completion")
        if k in series
    ]
    allv = np.concatenate([series[k] for k in hist_keys] or list(series.values()))
    lo, hi = max(allv.min(), 1e-4), allv.max()
    if limit > 0:
        hi = max(hi, limit * 1.2)
    bins = np.logspace(np.log10(lo * 0.9), np.log10(hi * 1.1), 70)
    for key in hist_keys:
        color, ls = styles[key]
        x = series[key]
        ax1.hist(
            x,
            bins=bins,
            weights=np.full(len(x), 1 / len(x)),
            histtype="step",
            color=color,
            linestyle=ls,
            linewidth=1.6,
            label=f"{SERIES[key]} (n={len(x):,})",
        )
    ax1.set_xscale("log")
    ax1.set_xlabel("latency per call (ms, log scale)")
    ax1.set_ylabel("fraction of calls")
    ax1.set_title("suggest latency per keystroke: model (solid) vs n-gram (dotted)")
    for key, x in series.items():
        color, ls = styles[key]
        xs = np.sort(x)
        surv = 1.0 - np.arange(len(xs)) / len(xs)
        ax2.step(
            xs,
            surv,
            where="post",
            color=color,
            linestyle=ls,
            linewidth=1.5,
            label=f"{SERIES[key]}: p99 {fmt_ms(percentiles(x, (99,))['p99'])} ms",
        )
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("latency per call (ms, log scale)")
    ax2.set_ylabel("fraction of calls slower than x")
    ax2.set_title("tails: where each curve crosses 1% is its p99")
    ax2.axhline(0.01, color="gray", linewidth=0.8, linestyle="-.")
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
