"""``kbd-lm export`` (or ``python -m kbd_lm.export``): convert a checkpoint into the bundle.

kbd-lm export --checkpoint runs/default --out dist/bundle quantization=int8
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from kbd_lm.common.logs import setup_logging

    parser = argparse.ArgumentParser(prog="kbd-lm export", description=__doc__)
    parser.add_argument("--preset", default="default", help="export preset name or TOML path")
    parser.add_argument("--checkpoint", default=None, help="training output folder")
    parser.add_argument("--out", default=None, help="bundle folder to write")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    setup_logging()

    from kbd_lm.common.config import ConfigError, load_config
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.export.ops import ForeignOpError

    overrides = list(args.overrides)
    if args.checkpoint:
        overrides.append(f"checkpoint={json.dumps(args.checkpoint)}")
    if args.out:
        overrides.append(f"out_dir={json.dumps(args.out)}")
    try:
        cfg = load_config(ExportConfig, "export", args.preset, overrides)
        out = export(Path(cfg.checkpoint), cfg)
    except (ConfigError, FileNotFoundError, ForeignOpError, ValueError) as err:
        logging.getLogger("kbd_lm.export").error("%s", err)
        return 2
    print("\n" + summary(out))
    return 0


def summary(out: Path) -> str:
    """What ``kbd-lm export`` prints about the bundle in ``out``: the files its manifest lists
    (named and ordered by the file table, :data:`kbd_lm.inference.bundle.FILES`), shipped and
    test-only, then every quantization preset measured, the ops and the runtimes verified.

    >>> print(summary(Path("dist/bundle")).splitlines()[0])  # doctest: +SKIP
    wrote dist/bundle/: manifest.json; shipped (1,495,391 bytes): model.tflite (1,226,240 bytes, \
dynamic), tokenizer.model, lexicon.txt.gz, blocklist.txt; test-only: tokenizer.json, ops.txt, \
op_resolver.cc, export_config.toml, train_config.toml, conformance.jsonl
    """
    from kbd_lm.inference.bundle import MANIFEST_FILE, MODEL_FILE, read

    manifest = read(out)
    files = manifest.files
    shipped = [
        f"{name} ({entry.bytes:,} bytes, {manifest.quantization})" if name == MODEL_FILE else name
        for name, entry in files.items()
        if entry.shipped
    ]
    test_only = [name for name, entry in files.items() if not entry.shipped]
    lines = [
        f"wrote {out}/: {MANIFEST_FILE}; shipped ({manifest.shipped_bytes:,} bytes): "
        f"{', '.join(shipped)}; test-only: {', '.join(test_only) or 'none'}",
        "| preset | bytes | top-1 agree | top-3 agree | max dlogp | step p50 us | step p99 us |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in manifest.presets.items():
        lines.append(
            f"| {name} | {r['bytes']:,} | {r['top1']:.3f} | {r['top3']:.3f} | "
            f"{r['max_logprob_error']:.3f} | {r['step_us']['p50']:.0f} | "
            f"{r['step_us']['p99']:.0f} |"
        )
    lines.append("ops: " + ", ".join(f"{op.name} v{op.version}" for op in manifest.ops))
    lines.append(
        f"min runtime {manifest.min_runtime_version}; verified: {manifest.runtimes_verified}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
