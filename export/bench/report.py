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
    """The Markdown report (``bench.md``, also printed by ``main``)."""
    prof, mach, lat = report["profile"], report["machine"], report["latency_ms"]
    s = prof["slowdown"]
    cks = {c["key"]: c for c in report["checks"]}
    verdict = "PASS" if report["passed"] else "FAIL"
    failed = [c for c in report["checks"] if not c["passed"]]
    v = mach["versions"]
    mhz = f"{mach.get('pinned_core_mhz') or mach['cpu_mhz'] or '?'} MHz"
    if mach.get("cpu_max_mhz"):
        mhz += f" (max {mach['cpu_max_mhz']} MHz)"
    lines = [
        f"# Bench: {report['bundle']['id']}: {verdict}",
        "",
        f"Profile **{prof['name']}** ({prof['description']}). Phone estimate: {prof['phone']}, "
        f"x{s:.1f} slower than this machine ({prof['host_score']:g} / {prof['phone_score']:g}, "
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
        "| Figure | Measured | Phone est. | Limit | Result |",
        "|---|---|---|---|---|",
    ]

    def row(figure: str, value: str, phone: str, keys: tuple[str, ...]) -> None:
        gated = [cks[k] for k in keys if k in cks]
        limit = (
            "; ".join(
                f"{'phone ' if k.endswith('phone_p99') else ''}<= {_num(c['limit'], c['unit'])}"
                for k, c in ((k, cks[k]) for k in keys if k in cks)
            )
            or "-"
        )
        result = ("PASS" if all(c["passed"] for c in gated) else "**FAIL**") if gated else ""
        lines.append(f"| {figure} | {value} | {phone} | {limit} | {result} |")

    for key in (
        "suggest_next_word",
        "suggest_completion",
        "suggest_new_field",
        "step_batch1",
        "step_beam",
    ):
        p99 = (lat.get(key) or {}).get("p99")
        row(
            f"{SERIES[key]}, p99",
            _num(p99, "ms"),
            _num(p99 * s if p99 else None, "ms"),
            (f"{key}_p99", f"{key}_phone_p99"),
        )
    history = report.get("history")
    if history:  # not gated: next to the plain figure of the same keystrokes
        h, plain = history["suggest_ms"]["history"], history["suggest_ms"]["plain"]
        n = f"{history['history']['entries']:,}"
        for kind in ("next_word", "completion"):
            p99 = h[kind]["p99"]
            row(
                f"suggest, {kind.replace('_', ' ')}, with a full personal history ({n} "
                f"entries), p99 (plain on the same keystrokes: {_num(plain[kind]['p99'], 'ms')})",
                _num(p99, "ms"),
                _num(p99 * s if p99 else None, "ms"),
                (),
            )
        row(
            "learn one message into a full history, p99",
            _num(history["learn_ms"]["full"]["p99"], "ms"),
            "",
            (),
        )
        row(
            f"personal history file at {n} entries",
            _num(history["history"]["file_bytes"], "bytes"),
            "",
            (),
        )
    cold, mem, sizes = report["cold_start_ms"], report["memory_mb"], report["sizes"]
    row(
        "cold start: bundle load + init + first suggestion, median",
        _num(cold["bundle_cold_start_ms"], "ms"),
        "",
        ("cold_start",) if not prof["count_python_overhead"] else (),
    )
    row(
        "cold start: process start to first suggestion, median",
        _num(cold["total_ms"], "ms"),
        "",
        ("cold_start",) if prof["count_python_overhead"] else (),
    )
    row("bundle load (read + verify) + predictor init, median", _num(cold["load_ms"], "ms"), "", ())
    row(
        "peak RSS above the Python harness (after imports)",
        _num(mem["peak_above_imports"], "MB"),
        "",
        ("peak_rss",) if not prof["count_python_overhead"] else (),
    )
    row(
        "peak RSS, whole process (VmHWM)",
        _num(mem["peak_rss"], "MB"),
        "",
        ("peak_rss",) if prof["count_python_overhead"] else (),
    )
    row(
        "RSS growth, end of run minus after warm-up", _num(mem["growth"], "MB"), "", ("rss_growth",)
    )
    row(
        "bundle size (shipped files: " + " + ".join(sizes["shipped_files"]) + ")",
        _num(sizes["shipped_bytes"], "bytes"),
        "",
        ("bundle_bytes",),
    )
    params = sizes.get("parameters")
    bpp = sizes.get("model_bytes_per_parameter")
    row(
        "parameters; model bytes per parameter",
        f"{params:,}; {bpp:.2f}" if params and bpp else "-",
        "",
        (),
    )

    lines += [
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
    setup = report["setup"]
    lines += [
        "",
        f"Keystrokes: {setup['replay_units']:,} test units of {setup['corpus']} typed "
        f"character by character (seed {setup['seed']}): "
        f"{setup['keystrokes']['next_word']:,} next-word and "
        f"{setup['keystrokes']['completion']:,} completion calls. New text field: "
        f"{setup['new_field_drafts']:,} drafts (mean {setup['new_field_mean_chars'] or 0:.0f}"
        " characters) with an empty state cache.",
    ]

    browser = report.get("browser_latency_ms")
    if browser:
        lines += [
            "",
            "## In the browser (ms, same keystrokes)",
            "",
            "The JavaScript predictor (`serve/static/kbd/`) on LiteRT.js (WASM, XNNPACK) in "
            "headless Chromium on this machine, unpinned, after the same warm-up; Python as "
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

    if history:
        # Not at the top: the cold-start child imports this package before it times numpy.
        from kbd_lm.export.bench.history import format_table as history_table

        typed = history["suggest_ms"]["plain"]
        lines += [
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

    lines += [
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

    lines += [
        "",
        "## Memory (MB)",
        "",
        "RSS of the process serving suggestions (/proc/self/status), read before the "
        "step-only interpreters are created.",
        "",
        "| After imports | After bundle load | After warm-up | End | Peak (VmHWM) | "
        "Anonymous at end | File-backed at end |",
        "|---|---|---|---|---|---|---|",
        "| "
        + " | ".join(
            f"{mem[k]:.1f}" if mem[k] is not None else "-"
            for k in (
                "rss_after_imports",
                "rss_after_load",
                "rss_after_warmup",
                "rss_end",
                "peak_rss",
                "anon_end",
                "file_end",
            )
        )
        + " |",
    ]

    lines += ["", "## Files", "", "| File | Bytes | Ships |", "|---|---|---|"]
    for name, size in sizes["files"].items():
        lines.append(f"| {name} | {size:,} | {'yes' if name in sizes['shipped_files'] else ''} |")
    lines.append(f"| manifest.json | {sizes['manifest_json_bytes']:,} | |")
    lines.append(f"| **total shipped** | **{sizes['shipped_bytes']:,}** | |")

    if report["presets"]:
        lines += [
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

    base = report.get("baseline")
    if base and "error" not in base:
        r = base["lstm_over_ngram"]
        f = lambda x: f"{x:.2g}x" if x is not None else "-"  # noqa: E731
        lines += [
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
            f"| next word | {f(r['next_word_p50'])} | {f(r['next_word_p99'])} |",
            f"| completion | {f(r['completion_p50'])} | {f(r['completion_p99'])} |",
            f"| size | {f(r['size'])} | |",
        ]
    elif base:
        lines += ["", f"N-gram baseline: not available ({base['error']})."]

    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    lines += [
        "",
        f"Verdict: **{verdict}**"
        + (
            ": "
            + "; ".join(
                f"{c['figure']} {_num(c['value'], c['unit'])} > {_num(c['limit'], c['unit'])}"
                for c in failed
            )
            if failed
            else f" ({len(report['checks'])} limits)"
        ),
    ]
    return "\n".join(lines) + "\n"
