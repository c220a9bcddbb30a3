"""Corpus preparation: normalise, split and cache the units of a corpus recipe.

``prepare("chitchat")`` reads the recipe once, normalises every unit with
:func:`kbd_lm.text.normalize`, assigns it to train/valid/test by the rule in
:mod:`kbd_lm.corpora`, and caches one unit per line under ``data/corpus-<hash>/``.
The cache is rebuilt when the source or the normalisation changes.

>>> prepared = prepare("chitchat")          # doctest: +SKIP
>>> next(prepared.units("test"))            # doctest: +SKIP
'Hello'
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kbd_lm.corpora import SPLITS, resolve, split_of
from kbd_lm.fsutil import Progress, atomic_dir
from kbd_lm.text import normalize

log = logging.getLogger(__name__)

# Bump when normalize() or the preparation rules change, so every cache is rebuilt.
PREP_VERSION = 1
# A unit longer than this is not something a person typed into a keyboard: junk.
MAX_UNIT_CHARS = 2000
DEFAULT_CACHE = Path("data")


@dataclass(frozen=True)
class PreparedCorpus:
    """A corpus normalised and split on disk: ``<root>/{train,valid,test}.txt``."""

    root: Path
    name: str
    stats: dict

    def path(self, split: str) -> Path:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return self.root / f"{split}.txt"

    def units(self, split: str) -> Iterator[str]:
        """The normalised units of one split, in corpus order."""
        with self.path(split).open(encoding="utf-8") as fh:
            for line in fh:
                yield line.rstrip("\n")

    @property
    def fingerprint(self) -> str:
        return self.stats["fingerprint"]


def prepare(corpus: str = "chitchat", cache_dir: Path = DEFAULT_CACHE) -> PreparedCorpus:
    """Normalise and split ``corpus`` (a recipe name or a path), reusing the cache if valid.

    Returns the prepared corpus; its ``stats`` count units per split and what was skipped
    (undecodable bytes, empty after normalisation, over-long units).
    """
    source = resolve(corpus)
    key = hashlib.sha1(f"{source.fingerprint}|prep{PREP_VERSION}".encode()).hexdigest()[:12]
    root = Path(cache_dir) / f"corpus-{key}"
    stats_path = root / "stats.json"
    if stats_path.is_file():
        stats = json.loads(stats_path.read_text())
        log.info("corpus %s: cached at %s", source.name, root)
        return PreparedCorpus(root, source.name, stats)

    log.info("corpus %s: preparing into %s", source.name, root)
    counts: Counter[str] = Counter()
    words: Counter[str] = Counter()
    progress = Progress("units", every=5.0, logger=log)
    with atomic_dir(root) as tmp:
        files = {s: (tmp / f"{s}.txt").open("w", encoding="utf-8") for s in SPLITS}
        try:
            for unit in source.units():
                progress.update()
                if isinstance(unit.text, bytes):
                    counts["skipped_undecodable"] += 1
                    continue
                text = normalize(unit.text)
                if not text:
                    counts["skipped_empty"] += 1
                    continue
                if len(text) > MAX_UNIT_CHARS:
                    counts["skipped_too_long"] += 1
                    continue
                split = split_of(unit.key)
                files[split].write(text + "\n")
                counts[f"units_{split}"] += 1
                words[split] += len(text.split())
        finally:
            for fh in files.values():
                fh.close()
        stats = {
            "name": source.name,
            "fingerprint": key,
            "source_fingerprint": source.fingerprint,
            "split_rule": "sha1(key) % 10: 0 -> test, 1 -> valid, else train",
            **{k: counts[k] for k in sorted(counts)},
            **{f"words_{s}": words[s] for s in SPLITS},
        }
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2))
    skipped = {k: v for k, v in stats.items() if k.startswith("skipped")}
    log.info(
        "corpus %s: %s train / %s valid / %s test units, skipped %s",
        source.name,
        counts["units_train"],
        counts["units_valid"],
        counts["units_test"],
        skipped or "nothing",
    )
    return PreparedCorpus(root, source.name, stats)
