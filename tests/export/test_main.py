"""What ``kbd-lm export`` prints about the bundle it wrote."""

from __future__ import annotations

import re

from kbd_lm.export.__main__ import summary
from kbd_lm.inference.bundle import FILES, MANIFEST_FILE, MODEL_FILE, read


def test_the_summary_names_the_manifests_files_as_the_file_table_does(tiny_bundle):
    manifest = read(tiny_bundle)
    first, header, _, *rows = summary(tiny_bundle).splitlines()
    head, shipped, test_only = re.fullmatch(
        r"wrote (.*); shipped \([\d,]+ bytes\): (.*); test-only: (.*)", first
    ).groups()
    assert head == f"{tiny_bundle}/: {MANIFEST_FILE}"
    model = f"{MODEL_FILE} ({manifest.files[MODEL_FILE].bytes:,} bytes, {manifest.quantization})"
    assert shipped.startswith(model + ", ")
    assert f"shipped ({manifest.shipped_bytes:,} bytes)" in first
    # Each side lists the manifest's files in the file table's order, flagged as it says.
    listed = [f for f in FILES if f.name in manifest.files]
    assert re.sub(r" \([^)]*\)", "", shipped).split(", ") == [f.name for f in listed if f.shipped]
    assert test_only.split(", ") == [f.name for f in listed if not f.shipped]
    assert header.startswith("| preset | bytes |")
    assert [row.split(" | ")[0].lstrip("| ") for row in rows[:-2]] == list(manifest.presets)
    assert rows[-2].startswith("ops: ") and rows[-1].startswith("min runtime ")
