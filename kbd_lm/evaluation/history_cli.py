"""``kbd-lm eval --adaptive`` and ``kbd-lm eval --tune-history``: the personal history measured.

    kbd-lm eval --adaptive --bundle dist/bundle max_words=8000
    kbd-lm eval --tune-history --bundle dist/bundle split=valid max_words=4000

Overrides are :class:`~kbd_lm.evaluation.adaptive.AdaptiveConfig` fields. The adaptive
evaluation writes ``adaptive.json`` / ``adaptive.md``; tuning writes ``history-tuning.json``
and prints the best settings. Both into ``--out``, by default the bundle's reports folder
(``dist/bundle.reports``: :func:`~kbd_lm.inference.bundle.reports_dir`).
"""

from __future__ import annotations

import json
from pathlib import Path


def adaptive_command(args) -> int:
    """Run the adaptive evaluation or the weight tuning for the ``eval`` subcommand."""
    from kbd_lm.common.config import load_config
    from kbd_lm.evaluation.adaptive import AdaptiveConfig, format_table, run_adaptive
    from kbd_lm.inference.bundle import reports_dir

    overrides = list(args.overrides)
    if args.tune_history and not any(o.startswith("split=") for o in overrides):
        overrides.append('split="valid"')
    cfg = load_config(AdaptiveConfig, overrides=overrides)
    bundle = Path(args.bundle)
    out = Path(args.out) if args.out else reports_dir(bundle)  # beside the bundle, never inside
    if args.tune_history:
        from kbd_lm.common.fsutil import atomic_write_text
        from kbd_lm.evaluation.history_tune import tune
        from kbd_lm.inference.predictor import Predictor

        result = tune(Predictor.load(bundle), cfg)
        atomic_write_text(out / "history-tuning.json", json.dumps(result, indent=2) + "\n")
        print(f"{result['words']:,} {cfg.split} words; best of {len(result['settings'])}:")
        for r in [result["static"], *result["settings"][:5]]:
            print(
                f"  unigram {r['unigram']:.2f} bigram {r['bigram']:.2f} trigram "
                f"{r['trigram']:.2f} beta {r['beta']:g}: KSR {r['ksr']:.4f} "
                f"top-1 {r['top1']:.4f} top-3 {r['top3']:.4f}"
            )
        print(f"wrote {out / 'history-tuning.json'}")
        return 0
    report = run_adaptive(cfg, bundle, out)
    print(format_table(report["groups"]))
    print(f"wrote {out / 'adaptive.json'} and {out / 'adaptive.md'}")
    return 0
