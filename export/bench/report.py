"""The bench report in Markdown (``bench.md``, also printed by ``make bench``).

>>> fmt_ms(0.0834), fmt_ms(12.345), fmt_ms(None)
('0.083', '12.35', '-')
"""

from __future__ import annotations

from kbd_lm.common.stats import PERCENTILE_METHOD
from kbd_lm.export.bench.summary import SERIES


def fmt_ms(v: float | None) -> str:
    """A latency in ms with a precision that suits its size ('-' when missing)."""
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "bytes":
        return f"{v:,.0f} B"
    if unit == "ms":
        return f"{fmt_ms(v)} ms"
    return f"{v:.1f} {unit}"


def steal_text(share: float | None) -> str:
    """The hypervisor's share of the measuring core while timing (unknown off Linux)."""
    return "unknown" if share is None else f"{share:.2%}"


def format_report(report: dict) -> str:
    """The Markdown report (``bench.md``, also printed by ``main``): one section per function
    below, in this order; sections without data (no browser, no history...) are left out."""
    sections = (
        _heading,
        _figures_table,
        _latency_section,
        _browser_section,
        _history_section,
        _cold_start_section,
        _memory_section,
        _files_section,
        _presets_section,
        _baseline_section,
        _notes_section,
        _verdict_line,
    )
    lines = [line for section in sections for line in section(report)]
    return "\n".join(lines) + "\n"


def _heading(report: dict) -> list[str]:
    """Title with the verdict, the profile (phone estimate) and the machine measured on."""
    prof, mach = report["profile"], report["machine"]
    s, v = prof["slowdown"], mach["versions"]
    mhz = f"{mach.get('pinned_core_mhz') or mach['cpu_mhz'] or '?'} MHz"
    if mach.get("cpu_max_mhz"):
        mhz += f" (max {mach['cpu_max_mhz']} MHz)"
    return [
        f"# Bench: {report['bundle']['id']}: {_verdict(report)}",
        "",
        f"Profile **{prof['name']}** ({prof['description']}). Phone estimate: {prof['phone']}, "
        f"x{s:.1f} slower than the host ({prof['host_score']:g} / {prof['phone_score']:g}, "
        f"{prof['score_source'] or 'Geekbench 5 single-core, approximate'}).",
        "",
        f"Machine: {mach['cpu_model']}, {mhz}, {mach['cpu_count']} cores, measured pinned to "
        f"core {mach.get('pinned_core')}; "
        f"{mach['python']}; ai-edge-litert {v.get('ai-edge-litert')}, tflite-runtime "
        f"{v.get('tflite-runtime')}, numpy {v.get('numpy')}, sentencepiece "
        f"{v.get('sentencepiece')}; runtime used: {prof['runtime']}, 1 thread, XNNPACK; "
        f"load average {mach['loadavg'][0]} -> {mach.get('loadavg_end', ['?'])[0]}; "
        f"steal while timing {steal_text(report['setup'].get('steal_while_timing'))}.",
        "",
    ]


def _verdict(report: dict) -> str:
    return "PASS" if report["passed"] else "FAIL"


def _figures_table(report: dict) -> list[str]:
    """The summary table: each figure, its phone estimate, its limits and their result."""
    checks = {c["key"]: c for c in report["checks"]}
    rows = _latency_rows(report) + _history_rows(report) + _footprint_rows(report)
    return [
        "| Figure | Measured | Phone est. | Limit | Result |",
        "|---|---|---|---|---|",
        *(_figure_row(checks, *row) for row in rows),
    ]


def _figure_row(checks: dict, figure: str, value: str, phone: str, keys: tuple[str, ...]) -> str:
    """One row of the summary table; ``keys``: the checks that gate this figure, if any ran."""
    gated = [checks[k] for k in keys if k in checks]
    limit = (
        "; ".join(
            f"{'phone ' if k.endswith('phone_p99') else ''}<= {_num(c['limit'], c['unit'])}"
            for k, c in ((k, checks[k]) for k in keys if k in checks)
        )
        or "-"
    )
    result = ("PASS" if all(c["passed"] for c in gated) else "**FAIL**") if gated else ""
    return f"| {figure} | {value} | {phone} | {limit} | {result} |"


def _latency_rows(report: dict) -> list[tuple]:
    """p99 of each gated latency series, measured and on the phone."""
    lat, s = report["latency_ms"], report["profile"]["slowdown"]
    rows = []
    for key in (
        "suggest_next_word",
        "suggest_completion",
        "suggest_new_field",
        "correct_noisy",
        "correct_exact",
        "step_batch1",
        "step_beam",
    ):
        p99 = (lat.get(key) or {}).get("p99")
        rows.append(
            (
                f"{SERIES[key]}, p99",
                _num(p99, "ms"),
                _num(p99 * s if p99 else None, "ms"),
                (f"{key}_p99", f"{key}_phone_p99"),
            )
        )
    return rows


def _history_rows(report: dict) -> list[tuple]:
    """With a full personal history (not gated: next to the plain figure of the same
    keystrokes), learning into it and its file size; none when it was not measured."""
    history, s = report.get("history"), report["profile"]["slowdown"]
    if not history:
        return []
    h, plain = history["suggest_ms"]["history"], history["suggest_ms"]["plain"]
    n = f"{history['history']['entries']:,}"
    rows = []
    for kind in ("next_word", "completion"):
        p99 = h[kind]["p99"]
        rows.append(
            (
                f"suggest, {kind.replace('_', ' ')}, with a full personal history ({n} "
                f"entries), p99 (plain on the same keystrokes: {_num(plain[kind]['p99'], 'ms')})",
                _num(p99, "ms"),
                _num(p99 * s if p99 else None, "ms"),
                (),
            )
        )
    rows.append(
        (
            "learn one message into a full history, p99",
            _num(history["learn_ms"]["full"]["p99"], "ms"),
            "",
            (),
        )
    )
    rows.append(
        (
            f"personal history file at {n} entries",
            _num(history["history"]["file_bytes"], "bytes"),
            "",
            (),
        )
    )
    return rows


def _footprint_rows(report: dict) -> list[tuple]:
    """Cold start, memory and size. The profile gates either the whole process's figures or
    those above the Python harness (``count_python_overhead``)."""
    cold, mem, sizes = report["cold_start_ms"], report["memory_mb"], report["sizes"]
    whole = report["profile"]["count_python_overhead"]
    params, bpp = sizes.get("parameters"), sizes.get("model_bytes_per_parameter")
    shipped = " + ".join(sizes["shipped_files"])
    return [
        (
            "cold start: bundle load + init + first suggestion, median",
            _num(cold["bundle_cold_start_ms"], "ms"),
            "",
            ("cold_start",) if not whole else (),
        ),
        (
            "cold start: process start to first suggestion, median",
            _num(cold["total_ms"], "ms"),
            "",
            ("cold_start",) if whole else (),
        ),
        (
            "bundle load (read + verify) + predictor init, median",
            _num(cold["load_ms"], "ms"),
            "",
            (),
        ),
        (
            "peak RSS above the Python harness (after imports)",
            _num(mem["peak_above_imports"], "MB"),
            "",
            ("peak_rss",) if not whole else (),
        ),
        (
            "peak RSS, whole process (VmHWM)",
            _num(mem["peak_rss"], "MB"),
            "",
            ("peak_rss",) if whole else (),
        ),
        (
            "RSS growth, end of run minus after warm-up",
            _num(mem["growth"], "MB"),
            "",
            ("rss_growth",),
        ),
        (
            f"bundle size (shipped files: {shipped})",
            _num(sizes["shipped_bytes"], "bytes"),
            "",
            ("bundle_bytes",),
        ),
        (
            "parameters; model bytes per parameter",
            f"{params:,}; {bpp:.2f}" if params and bpp else "-",
            "",
            (),
        ),
    ]


def _latency_section(report: dict) -> list[str]:
    """Every latency series: percentiles measured and on the phone; the keystrokes replayed."""
    lat, s, setup = report["latency_ms"], report["profile"]["slowdown"], report["setup"]
    lines = [
        "",
        "## Latency (ms)",
        "",
        f"Warm-up calls are excluded; phone columns are x{s:.1f}; percentiles: "
        f"{PERCENTILE_METHOD}.",
        "",
        "| Series | Calls | Warm-up | p50 | p90 | p99 | max | Phone p50 | Phone p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in SERIES.items():
        if key not in lat:
            continue
        r, ph = lat[key], report["phone_latency_ms"][key]
        lines.append(
            f"| {label} | {r['n']:,} | {r['warmup']:,} | {fmt_ms(r['p50'])} | "
            f"{fmt_ms(r['p90'])} | {fmt_ms(r['p99'])} | {fmt_ms(r['max'])} | {fmt_ms(ph['p50'])} | "
            f"{fmt_ms(ph['p99'])} |"
        )
    return lines + [
        "",
        f"Keystrokes: {setup['replay_units']:,} test units of {setup['corpus']} typed "
        f"character by character (seed {setup['seed']}): "
        f"{setup['keystrokes']['next_word']:,} next-word and "
        f"{setup['keystrokes']['completion']:,} completion calls. New text field: "
        f"{setup['new_field_drafts']:,} drafts (mean {setup['new_field_mean_chars'] or 0:.0f}"
        " characters) with an empty state cache.",
    ]


def _browser_section(report: dict) -> list[str]:
    """The in-browser predictor on the same keystrokes, beside Python (not gated)."""
    browser, lat = report.get("browser_latency_ms"), report["latency_ms"]
    if not browser:
        return []
    lines = [
        "",
        "## In the browser (ms, same keystrokes)",
        "",
        "The JavaScript predictor (`serve/static/kbd/`) on LiteRT.js (WASM, XNNPACK) in "
        "headless Chromium on the host, unpinned, after the same warm-up; Python as "
        "above (pinned). Not gated.",
        "",
        "| Keystrokes | Calls | Python p50 | Python p99 | Browser p50 | Browser p99 |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("next_word", "completion"):
        py, br = lat.get(f"suggest_{kind}") or {}, browser[kind]
        lines.append(
            f"| {kind.replace('_', ' ')} | {br['n']:,} | {fmt_ms(py.get('p50'))} | "
            f"{fmt_ms(py.get('p99'))} | {fmt_ms(br['p50'])} | {fmt_ms(br['p99'])} |"
        )
    return lines


def _history_section(report: dict) -> list[str]:
    """How the personal history was measured, and its table (not gated)."""
    history = report.get("history")
    if not history:
        return []
    # Not at the top: the cold-start child imports this package before it times numpy.
    from kbd_lm.export.bench.history import format_table as history_table

    typed = history["suggest_ms"]["plain"]
    return [
        "",
        "## Personal history (ms)",
        "",
        f"A history filled with the busiest chitchat sender's training messages "
        f"({history['history']['messages_learned']:,} learned) up to its bound of "
        f"{history['history']['max_entries']:,} entries (trimmed once); then chitchat "
        f"test messages typed letter by letter ({typed['next_word']['n']:,} next-word and "
        f"{typed['completion']['n']:,} completion keystrokes), each learned once typed; "
        "suggest timed without and with the history, alternating, in the pinned process "
        "(`kbd_lm.export.bench.history`). Not gated.",
        "",
        history_table(history),
    ]


def _cold_start_section(report: dict) -> list[str]:
    """Medians of the cold-start phases over the fresh processes, and each run's total."""
    cold = report["cold_start_ms"]
    return [
        "",
        f"## Cold start (ms, median of {len(cold['runs'])} fresh processes)",
        "",
        "| Interpreter start | Imports | Bundle load | Predictor init | First suggestion "
        "| Total | Each run (total) |",
        "|---|---|---|---|---|---|---|",
        f"| {fmt_ms(cold['interpreter_start_ms'])} | {fmt_ms(cold['imports_ms'])} | "
        f"{fmt_ms(cold['bundle_load_ms'])} | {fmt_ms(cold['predictor_init_ms'])} | "
        f"{fmt_ms(cold['first_suggest_ms'])} | {fmt_ms(cold['total_ms'])} | "
        f"{', '.join(fmt_ms(r['total_ms']) for r in cold['runs'])} |",
    ]


# The memory readings of the table, in its column order.
_MEMORY_COLUMNS = (
    "rss_after_imports",
    "rss_after_load",
    "rss_after_warmup",
    "rss_end",
    "peak_rss",
    "anon_end",
    "file_end",
)


def _memory_section(report: dict) -> list[str]:
    """RSS of the serving process at each stage, its peak and its make-up at the end."""
    mem = report["memory_mb"]
    cells = (f"{mem[k]:.1f}" if mem[k] is not None else "-" for k in _MEMORY_COLUMNS)
    return [
        "",
        "## Memory (MB)",
        "",
        "RSS of the process serving suggestions (/proc/self/status), read before the "
        "step-only interpreters are created.",
        "",
        "| After imports | After bundle load | After warm-up | End | Peak (VmHWM) | "
        "Anonymous at end | File-backed at end |",
        "|---|---|---|---|---|---|---|",
        "| " + " | ".join(cells) + " |",
    ]


def _files_section(report: dict) -> list[str]:
    """Each bundle file's bytes and whether it ships, the manifest and the shipped total."""
    sizes = report["sizes"]
    lines = ["", "## Files", "", "| File | Bytes | Ships |", "|---|---|---|"]
    for name, size in sizes["files"].items():
        lines.append(f"| {name} | {size:,} | {'yes' if name in sizes['shipped_files'] else ''} |")
    lines.append(f"| manifest.json | {sizes['manifest_json_bytes']:,} | |")
    lines.append(f"| **total shipped** | **{sizes['shipped_bytes']:,}** | |")
    return lines


def _presets_section(report: dict) -> list[str]:
    """The quantization presets export measured; the shipped one re-timed here, pinned."""
    if not report["presets"]:
        return []
    lines = [
        "",
        "## Quantization presets",
        "",
        "Measured by export (step: batch 1, unpinned, at export time); the shipped "
        "preset is also re-timed here, pinned.",
        "",
        "| Preset | Bytes | Top-1 | Top-3 | Max abs dlogp | Step p50 / p99 us (export) "
        "| Step p50 / p99 us (pinned, this run) | Runtime >= |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in report["presets"]:
        pinned = (
            f"{p['pinned_step_p50_us']:.0f} / {p['pinned_step_p99_us']:.0f}"
            if p.get("pinned_step_p50_us")
            else ""
        )
        name = f"**{p['preset']}** (shipped)" if p["shipped"] else p["preset"]
        lines.append(
            f"| {name} | {p['bytes']:,} | {p['top1']:.3f} | {p['top3']:.3f} | "
            f"{p['max_logprob_error']:.3f} | {p['export_step_p50_us']:.0f} / "
            f"{p['export_step_p99_us']:.0f} | {pinned} | {p['min_runtime_version']} |"
        )
    return lines


def _ratio(x: float | None) -> str:
    return f"{x:.2g}x" if x is not None else "-"


def _baseline_section(report: dict) -> list[str]:
    """The n-gram baseline: how it was built and the model / n-gram ratios (or why none)."""
    base = report.get("baseline")
    if not base:
        return []
    if "error" in base:
        return ["", f"N-gram baseline: not available ({base['error']})."]
    r = base["model_over_ngram"]
    return [
        "",
        "## N-gram baseline (same keystrokes, same pinned process)",
        "",
        f"Kneser-Ney trigram trained on the train split of {base['corpus']}, pruned to "
        f"{base['budget_bytes']:,} bytes: {base['size_bytes']:,} bytes, "
        f"{base['vocab']:,} words, {base['bigrams']:,} bigrams, {base['trigrams']:,} "
        f"trigrams ({'cached' if base.get('cached') else 'trained this run'}); "
        f"RSS +{base.get('rss_mb') or 0:.1f} MB once loaded.",
        "",
        "| model / n-gram | p50 | p99 |",
        "|---|---|---|",
        f"| next word | {_ratio(r['next_word_p50'])} | {_ratio(r['next_word_p99'])} |",
        f"| completion | {_ratio(r['completion_p50'])} | {_ratio(r['completion_p99'])} |",
        f"| size | {_ratio(r['size'])} | |",
    ]


def _notes_section(report: dict) -> list[str]:
    if not report["notes"]:
        return []
    return ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]


def _verdict_line(report: dict) -> list[str]:
    """The verdict, with each exceeded limit, or how many limits held."""
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        why = ": " + "; ".join(
            f"{c['figure']} {_num(c['value'], c['unit'])} > {_num(c['limit'], c['unit'])}"
            for c in failed
        )
    else:
        why = f" ({len(report['checks'])} limits)"
    return ["", f"Verdict: **{_verdict(report)}**" + why]
