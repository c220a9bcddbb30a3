"""``kbd-lm``: one command for every stage (also ``python -m kbd_lm``).

    kbd-lm corpora --mixture default
    kbd-lm train --preset default epochs=12 units=512
    kbd-lm export --checkpoint runs/default --out dist/bundle
    kbd-lm eval --bundle dist/bundle max_words=5000
    kbd-lm eval --typing --bundle dist/bundle --limit 300
    kbd-lm bench --bundle dist/bundle --profile phone-a76
    kbd-lm serve --bundle dist/bundle --port 8000
    kbd-lm loadtest --bundle dist/bundle --rates 50,100,200
    kbd-lm suggest --bundle dist/bundle "see you "
    kbd-lm conformance --bundle dist/bundle --runtime tflite-runtime
    kbd-lm conformance --bundle dist/bundle --engine native

``train``, ``eval``, ``suggest`` and ``conformance`` are defined here; ``corpora``,
``export``, ``bench``, ``serve`` and ``loadtest`` hand their arguments to the ``main(argv)`` of
the module that ``python -m`` runs for them (``kbd_lm.dataset.report``, ``kbd_lm.export``,
``kbd_lm.export.bench``, ``kbd_lm.serve``, ``kbd_lm.export.bench.loadtest``), imported only
when asked for. This file is the top floor:
the only module of ``kbd_lm`` that reaches into ``export`` and ``serve``. A stage whose
extra is not installed (``pip install 'kbd-lm[serve]'``...) stops with one line naming the
extra and exit status 2.

Overrides are ``key=value`` pairs checked against the stage's config dataclass.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import sys
import time
from pathlib import Path

from kbd_lm.common.logs import setup_logging
from kbd_lm.text.hints import HINTS
from kbd_lm.typing.layouts import LAYOUTS

LAYOUT_NAMES = tuple(LAYOUTS)  # `suggest --layout`

# subcommand -> (the module `python -m` runs for it, help line)
DELEGATED = {
    "corpora": ("kbd_lm.dataset.report", "fetch and prepare the corpora, print a summary"),
    "export": ("kbd_lm.export", "convert a checkpoint into the on-device bundle"),
    "bench": ("kbd_lm.export.bench", "measure a bundle against a phone budget"),
    "serve": ("kbd_lm.serve", "run the HTTP server on a bundle"),
    "loadtest": ("kbd_lm.export.bench.loadtest", "open-loop HTTP load test of the server"),
}
# Top-level import name of a missing module -> the extra of `pip install 'kbd-lm[extra]'`
# that brings it (pyproject.toml's [project.optional-dependencies]).
EXTRAS = {
    "tensorflow": "train",
    "keras": "train",
    "chitchat_dataset": "train",
    "fastapi": "serve",
    "starlette": "serve",
    "uvicorn": "serve",
    "pydantic": "serve",
    "pydantic_settings": "serve",
    "prometheus_client": "serve",
    "matplotlib": "bench",
    "httpx": "bench",
    "tflite_runtime": "tflite-runtime",
    "symspellpy": "eval",
}


# The extras a command cannot start without, checked before it does any work (so that a
# missing plotting library does not surface after minutes of benchmarking). Other missing
# modules (the chitchat corpus for eval, tflite-runtime for suggest) are reported when met.
NEEDS = {
    "train": ("train",),
    "export": ("train",),
    "bench": ("bench",),
    "serve": ("serve",),
    "loadtest": ("bench", "serve"),
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra that installs the module ``err`` is about, or None if it is none of ours.

    >>> missing_extra(ModuleNotFoundError("No module named 'fastapi'", name="fastapi"))
    'serve'
    >>> missing_extra(ModuleNotFoundError("No module named 'x.y'", name="x.y")) is None
    True
    """
    return EXTRAS.get((err.name or "").split(".")[0])


def _check_extras(command: str) -> None:
    """Raise ModuleNotFoundError for the first module of ``command``'s extras not installed."""
    for extra in NEEDS.get(command, ()):
        for module, owner in EXTRAS.items():
            if owner == extra and importlib.util.find_spec(module) is None:
                raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def _train(args) -> int:
    from kbd_lm.common.config import load_config
    from kbd_lm.training.config import TrainConfig, TrainError
    from kbd_lm.training.loop import train

    cfg = load_config(TrainConfig, "train", args.preset, args.overrides)
    if args.workers > 1:  # this process only starts and watches the workers
        from kbd_lm.training.launch import launch

        return launch(args.workers, ["--preset", args.preset, *args.overrides])
    try:
        out = train(cfg)
    except TrainError as err:
        logging.getLogger("kbd_lm").error("%s", err)
        return 2
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
    from kbd_lm.inference.predictor import Predictor

    predictor = Predictor.load(args.bundle, runtime=args.runtime, engine=args.engine)
    for text in args.text:
        t = time.perf_counter()
        suggestions = predictor.suggest(
            text, k=args.k, hint=args.hint, correct=args.correct, layout=args.layout
        )
        ms = (time.perf_counter() - t) * 1000
        # "*": the autocorrection, what space would commit (--correct only)
        shown = "  ".join(
            f"{'*' if s.autocorrect else ''}{s.word} ({s.probability:.3f})" for s in suggestions
        )
        print(f"{text!r} -> {shown or '(none)'}   [{ms:.2f} ms]")
    return 0


def _eval(args) -> int:
    if args.adaptive or args.tune_history:  # the personal history (kbd_lm.evaluation.history_cli)
        from kbd_lm.evaluation.history_cli import adaptive_command

        return adaptive_command(args)
    from kbd_lm.common.config import load_config

    if args.kinds:
        return _eval_kinds(args)
    if args.typing:
        return _eval_typing(args)
    from kbd_lm.evaluation.metrics import EvalConfig, format_table, run_eval
    from kbd_lm.inference.bundle import reports_dir

    cfg = load_config(EvalConfig, "eval", args.preset or "default", args.overrides)
    bundle = Path(args.bundle) if args.bundle else None
    out = Path(args.out) if args.out else (reports_dir(bundle) if bundle else Path("dist"))
    report = run_eval(cfg, bundle, out)
    print(format_table(report["systems"]))
    print(f"wrote {out / 'eval.json'} and {out / 'eval.md'}")
    return 0


def _eval_kinds(args) -> int:
    from kbd_lm.common.config import load_config
    from kbd_lm.evaluation.kinds import KindsEvalConfig, run_kinds_eval
    from kbd_lm.inference.bundle import reports_dir

    cfg = load_config(KindsEvalConfig, "eval", args.preset or "kinds", args.overrides)
    bundles = {"bundle": Path(args.bundle)}
    for item in args.compare:
        name, _, folder = item.rpartition("=")
        bundles[name or Path(folder).name] = Path(folder)
    bundles = {f"{_model_name(path)} ({name})": path for name, path in bundles.items()}
    out = Path(args.out) if args.out else reports_dir(args.bundle)
    report = run_kinds_eval(cfg, bundles, out)
    print(
        f"wrote {out / 'eval-kinds.json'} and {out / 'eval-kinds.md'}: "
        f"{len(report['rows'])} kinds, {len(report['macro'])} systems, "
        f"{report['seconds'] / 60:.1f} min"
    )
    return 0


def _eval_typing(args) -> int:
    from kbd_lm.common.config import load_config
    from kbd_lm.evaluation.correctors import default_correctors
    from kbd_lm.evaluation.typing import TypingEvalConfig, format_typing, run_typing_eval
    from kbd_lm.inference.bundle import reports_dir

    limit = [f"max_words={args.limit}"] if args.limit else []
    # --tune: the valid split unless an override names another
    split = (
        ['split="valid"']
        if args.tune and not any(o.startswith("split=") for o in args.overrides)
        else []
    )
    cfg = load_config(
        TypingEvalConfig, "eval", args.preset or "typing", [*split, *args.overrides, *limit]
    )
    bundle = Path(args.bundle) if args.bundle else None
    out = Path(args.out) if args.out else (reports_dir(bundle) if bundle else Path("dist"))
    if args.tune:  # autocorrect_margin swept (kbd_lm.evaluation.typing_tune)
        from kbd_lm.evaluation.typing_tune import format_sweep, run_margin_sweep

        if bundle is None:
            raise SystemExit("eval --typing --tune: needs a bundle (--bundle DIR)")
        report = run_margin_sweep(cfg, bundle, out)
        print(format_sweep(report))
        print(f"wrote {out / 'eval-typing-tune.json'} and {out / 'eval-typing-tune.md'}")
        return 0
    report = run_typing_eval(cfg, default_correctors(cfg, bundle), out)
    print(format_typing(report))
    print(f"wrote {out / 'eval-typing.json'} and {out / 'eval-typing.md'}")
    return 0


def _model_name(folder: Path) -> str:
    from kbd_lm.inference.bundle import Bundle

    return Bundle.load(folder).manifest.model_name


def _version() -> str:
    import kbd_lm

    return kbd_lm.__version__


def _add_delegated(sub, name: str) -> None:
    # No options of its own: everything after the name goes to the module's parser.
    module, help_text = DELEGATED[name]
    sub.add_parser(name, help=help_text, add_help=False).set_defaults(module=module)


def _conformance(args) -> int:
    if args.engine == "native":
        from kbd_lm.inference.native_engine import check_native

        report, library = check_native(Path(args.bundle))
        where = f"native {library}"
    else:
        from kbd_lm.inference.conformance import check_bundle

        report, where = check_bundle(Path(args.bundle), args.runtime), args.runtime
    for f in report.failures:
        print(f"case {f['id']} ({f['kind']}): {f['reason']}")
    print(f"{report.summary()} [{where}]")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kbd-lm",
        description="Next-word prediction for mobile keyboards: train, export, evaluate, "
        "benchmark and serve a TFLite bundle.",
        epilog="`kbd-lm COMMAND --help` shows a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    verbose = "debug logging (train, eval, suggest, conformance)"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_delegated(sub, "corpora")

    p = sub.add_parser("train", help="train the tokenizer and the model")
    p.add_argument("--preset", default="default", help="preset name or TOML path")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes on the host (multi_worker)"
    )
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_train)

    _add_delegated(sub, "export")

    p = sub.add_parser("eval", help="keyboard metrics of the bundle and the n-gram baseline")
    p.add_argument("--bundle", default="dist/bundle", help="bundle folder ('' for baseline only)")
    p.add_argument("--preset", default=None, help="preset name or TOML path")
    p.add_argument(
        "--out", default=None, help="output folder (default: BUNDLE.reports beside the bundle)"
    )
    p.add_argument(
        "--kinds", action="store_true", help="one row per kind of text (chat, SMS, e-mail, ...)"
    )
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="with --kinds: another bundle in the same table (repeatable)",
    )
    p.add_argument(
        "--typing", action="store_true", help="correction of simulated touch typing, per kind"
    )
    p.add_argument(
        "--limit", type=int, default=None, metavar="N", help="with --typing: words per kind"
    )
    p.add_argument("--tune", action="store_true", help="with --typing: sweep autocorrect_margin")
    p.add_argument("--adaptive", action="store_true", help="personal history: static vs adaptive")
    p.add_argument("--tune-history", action="store_true", help="choose history weights (valid)")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_eval)

    for name in ("bench", "serve", "loadtest"):
        _add_delegated(sub, name)

    p = sub.add_parser("suggest", help="suggest words for the text before the cursor")
    p.add_argument("--bundle", default="dist/bundle")
    p.add_argument("--runtime", default="litert", choices=["litert", "tflite-runtime"])
    p.add_argument("-k", type=int, default=3)
    _add_engine(p)
    p.add_argument(
        "--hint", choices=HINTS, help="the kind of text field (bundles trained with hints)"
    )
    p.add_argument(
        "--correct",
        action="store_true",
        help="also correct typing errors in the word being typed (* marks the autocorrection)",
    )
    p.add_argument("--layout", default="qwerty", choices=LAYOUT_NAMES, help="with --correct")
    p.add_argument("text", nargs="+")
    p.set_defaults(func=_suggest)

    p = sub.add_parser("conformance", help="check the predictor against the bundle's vectors")
    p.add_argument("--bundle", default="dist/bundle")
    p.add_argument("--runtime", default="litert", choices=["litert", "tflite-runtime"])
    _add_engine(p)
    p.set_defaults(func=_conformance)
    return parser


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        default="python",
        choices=["python", "native"],
        help="python (the reference) or native (libkbd_lm.so: make native, or KBD_LM_NATIVE_LIB)",
    )


def _delegate(module: str, argv: list[str]) -> int:
    """Run ``python -m module`` in this process: its ``main(argv)`` (or its __main__'s)."""
    mod = importlib.import_module(module)
    if not hasattr(mod, "main"):
        mod = importlib.import_module(f"{module}.__main__")
    return mod.main(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the command, return its status."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    module = getattr(args, "module", None)
    if rest and module is None:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if getattr(args, "engine", None) == "native" and args.runtime != "litert":
        parser.error("--engine native runs on LiteRT: --runtime litert only")
    from kbd_lm.common.config import ConfigError
    from kbd_lm.inference.bundle import BundleError
    from kbd_lm.inference.native_engine import NativeLibraryError

    log = logging.getLogger("kbd_lm")
    try:
        _check_extras(args.command)
        if module is not None:
            return _delegate(module, rest)
        setup_logging("debug" if args.verbose else "info")
        return args.func(args)
    except ModuleNotFoundError as err:
        extra = missing_extra(err)
        if extra is None:
            raise
        sys.stderr.write(
            f"kbd-lm {args.command}: needs the [{extra}] extra (no module {err.name!r}): "
            f"pip install 'kbd-lm[{extra}]'\n"
        )
        return 2
    except (ConfigError, BundleError, FileNotFoundError, NativeLibraryError) as err:
        log.error("%s", err)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
