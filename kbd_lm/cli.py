"""``kbd-lm``: a thin command line over the library (train, suggest, eval).

    kbd-lm train --preset default epochs=12 units=512
    kbd-lm suggest --bundle dist/bundle "see you "
    kbd-lm eval --bundle dist/bundle max_words=5000

Overrides are ``key=value`` pairs checked against the stage's config dataclass.
Export, benchmark and server have their own entry points (``python -m kbd_lm.export``,
``python -m kbd_lm.export.bench``, ``python -m kbd_lm.serve``) so that this package never
imports them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path


def setup_logging(verbose: bool = False) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _train(args) -> int:
    from kbd_lm.config import load_config
    from kbd_lm.train import TrainConfig, train

    cfg = load_config(TrainConfig, "train", args.preset, args.overrides)
    out = train(cfg)
    summary = json.loads((out / "summary.json").read_text())
    print(f"wrote {out}/ (weights.npz, tokenizer.model, config.toml, history.json, summary.json)")
    print(
        f"parameters {summary['parameters']:,}  vocab {summary['vocab_size']:,}  "
        f"epochs {summary['epochs_run']}  {summary['train_minutes']:.1f} min  "
        f"{summary['tokens_per_second']:,.0f} tokens/s  valid perplexity "
        f"{summary['valid_ppl_token']:.2f}/token {summary['valid_ppl_word']:.1f}/word"
    )
    return 0


def _suggest(args) -> int:
    from kbd_lm.predict import Predictor

    predictor = Predictor.load(args.bundle, runtime=args.runtime)
    for text in args.text:
        t = time.perf_counter()
        suggestions = predictor.suggest(text, k=args.k)
        ms = (time.perf_counter() - t) * 1000
        shown = "  ".join(f"{s.word} ({s.probability:.3f})" for s in suggestions)
        print(f"{text!r} -> {shown or '(none)'}   [{ms:.2f} ms]")
    return 0


def _eval(args) -> int:
    from kbd_lm.config import load_config

    if args.adaptive or args.tune_history:
        from kbd_lm.history_cli import adaptive_command

        return adaptive_command(args)
    from kbd_lm.evaluate import EvalConfig, format_table, run_eval

    cfg = load_config(EvalConfig, "eval", args.preset, args.overrides)
    bundle = Path(args.bundle) if args.bundle else None
    out = Path(args.out) if args.out else (bundle or Path("dist"))
    report = run_eval(cfg, bundle, out)
    print(format_table(report["systems"]))
    print(f"wrote {out / 'eval.json'} and {out / 'eval.md'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kbd-lm", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train the tokenizer and the model")
    p.add_argument("--preset", default="default", help="preset name or TOML path")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_train)

    p = sub.add_parser("suggest", help="suggest words for the text before the cursor")
    p.add_argument("--bundle", default="dist/bundle")
    p.add_argument("--runtime", default="litert", choices=["litert", "tflite-runtime"])
    p.add_argument("-k", type=int, default=3)
    p.add_argument("text", nargs="+")
    p.set_defaults(func=_suggest)

    p = sub.add_parser("eval", help="keyboard metrics of the bundle and the n-gram baseline")
    p.add_argument("--bundle", default="dist/bundle", help="bundle folder ('' for baseline only)")
    p.add_argument("--preset", default=None, help="preset name or TOML path")
    p.add_argument("--out", default=None, help="output folder (default: the bundle folder)")
    p.add_argument("--adaptive", action="store_true", help="personal history: static vs adaptive")
    p.add_argument("--tune-history", action="store_true", help="choose history weights (valid)")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from kbd_lm.bundle import BundleError
    from kbd_lm.config import ConfigError
    from kbd_lm.train import TrainError

    try:
        return args.func(args)
    except (ConfigError, BundleError, FileNotFoundError, TrainError) as err:
        logging.getLogger("kbd_lm").error("%s", err)
        return 2
    except KeyboardInterrupt:
        logging.getLogger("kbd_lm").error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
