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
    manifest = json.loads((out / "manifest.json").read_text())
    print(
        f"\nwrote {out}/: model.tflite ({manifest['files']['model.tflite']['bytes']:,} bytes, "
        f"{manifest['quantization']}), tokenizer.model, manifest.json, ops.txt, op_resolver.cc"
    )
    print("| preset | bytes | top-1 agree | top-3 agree | max dlogp | step p50 us | step p99 us |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in manifest["presets"].items():
        print(
            f"| {name} | {r['bytes']:,} | {r['top1']:.3f} | {r['top3']:.3f} | "
            f"{r['max_logprob_error']:.3f} | {r['step_us']['p50']:.0f} | "
            f"{r['step_us']['p99']:.0f} |"
        )
    print("ops: " + ", ".join(f"{o['name']} v{o['version']}" for o in manifest["ops"]))
    print(
        f"min runtime {manifest['min_runtime_version']}; verified: {manifest['runtimes_verified']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
