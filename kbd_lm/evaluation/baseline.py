"""The n-gram baseline, built in one place and cached: a Kneser-Ney trigram within a budget.

Export (an n-gram shipped inside the bundle), eval (the baseline rows of the comparison) and
bench (the baseline's latency) all get their model from :func:`ngram_baseline`: trained on
the given splits of a prepared corpus, pruned to ``max_bytes`` when it is larger. A budget
too small for every word drops rare words step by step (``min_count`` 1, 2, 3, 5, ...).

The models are cached as ``<cache_dir>/ngram-<corpus fingerprint>-<max_bytes>-<key>.kn3``
(pruned), ``...-full.kn3`` (before pruning) and ``....json`` (what was built, and how long
it took); ``<key>`` hashes the splits, the smallest word count and the code of
``kbd_lm/ngram/model.py`` and ``kbd_lm/ngram/file.py``, so a changed estimator retrains.

>>> b = ngram_baseline(prepare("chitchat"), 1_500_000, Path("data"))   # doctest: +SKIP
>>> KneserNeyTrigram.load(b.path).size_bytes() <= 1_500_000            # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kbd_lm.common.fsutil import atomic_write_text, read_cache_json
from kbd_lm.ngram import file as ngram_file
from kbd_lm.ngram import model as ngram

log = logging.getLogger(__name__)

# Smallest word counts tried in turn when a budget cannot hold every word.
MIN_COUNTS = (1, 2, 3, 5, 8, 13, 21)
PRUNING_METHOD = (
    "count cut-offs: bigrams below the cut-off dropped, trigrams kept most frequent first "
    "until the budget; KN re-estimated"
)


class Corpus(Protocol):
    """What the baseline needs of a :class:`kbd_lm.dataset.corpus.PreparedCorpus`."""

    name: str

    @property
    def fingerprint(self) -> str: ...

    def units(self, split: str) -> Iterator[str]: ...


@dataclass(frozen=True)
class NgramBaseline:
    """A built (or cached) baseline: the model within the budget, the full one, and facts.

    ``info`` holds ``corpus``, ``fingerprint``, ``splits``, ``budget_bytes``, ``min_count``
    (the one used), ``size_bytes`` and the counts (``vocab``, ``bigrams``, ``trigrams``) of
    the pruned model, ``full_size_bytes`` and ``full_counts``, ``pruning`` (None when the
    full model fit), ``train_seconds``, ``prune_seconds`` and ``cached``.
    """

    path: Path
    full_path: Path
    info: dict[str, Any]

    def load(self) -> ngram.KneserNeyTrigram:
        """The model within the budget."""
        return ngram.KneserNeyTrigram.load(self.path)

    def load_full(self) -> ngram.KneserNeyTrigram:
        """The model before pruning."""
        return ngram.KneserNeyTrigram.load(self.full_path)


def cache_paths(
    corpus: Corpus, max_bytes: int, cache_dir: Path, splits: Sequence[str], min_count: int
) -> tuple[Path, Path, Path]:
    """(pruned model, full model, info JSON) paths of one baseline in ``cache_dir``.

    >>> class C: fingerprint = "abc"
    >>> pruned, full, info = cache_paths(C(), 1000, Path("data"), ["train"], 1)
    >>> pruned.name.startswith("ngram-abc-1000-"), full.name.endswith("-full.kn3"), info.suffix
    (True, True, '.json')
    """
    code = hashlib.sha1(b"".join(Path(m.__file__).read_bytes() for m in (ngram, ngram_file)))
    code = code.hexdigest()
    settings = json.dumps({"splits": list(splits), "min_count": min_count, "code": code})
    key = hashlib.sha1(settings.encode()).hexdigest()[:8]
    stem = Path(cache_dir) / f"ngram-{corpus.fingerprint}-{max_bytes}-{key}"
    return stem.with_suffix(".kn3"), Path(f"{stem}-full.kn3"), stem.with_suffix(".json")


def ngram_baseline(
    corpus: Corpus,
    max_bytes: int,
    cache_dir: Path,
    splits: Sequence[str] = ("train",),
    min_count: int = 1,
) -> NgramBaseline:
    """The Kneser-Ney trigram of ``corpus``'s ``splits``, within ``max_bytes``, cached.

    Words seen fewer than ``min_count`` times are ``<unk>``; when even the unigram model of
    those words does not fit, the next larger count of :data:`MIN_COUNTS` is tried. Raises
    ``ValueError`` when none fits.
    """
    splits = tuple(splits)
    path, full_path, info_path = cache_paths(corpus, max_bytes, cache_dir, splits, min_count)
    info = None
    if path.is_file() and full_path.is_file() and info_path.is_file():
        info = read_cache_json(info_path)  # None when damaged: trained again below
    if info is not None:
        log.info("n-gram baseline: cached at %s", path)
        return NgramBaseline(path, full_path, {**info, "cached": True})
    log.info(
        "n-gram baseline: training on %s of %s (cached afterwards)", "+".join(splits), corpus.name
    )

    def units() -> Iterator[str]:
        for split in splits:
            yield from corpus.units(split)

    for count in [min_count] + [m for m in MIN_COUNTS if m > min_count]:
        start = time.perf_counter()
        full = ngram.KneserNeyTrigram.train(units(), min_count=count)
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        try:
            model = full.pruned(max_bytes) if full.size_bytes() > max_bytes else full
            break
        except ValueError:
            log.info(
                "n-gram: %s bytes cannot hold every word seen %d times", f"{max_bytes:,}", count
            )
    else:
        raise ValueError(f"{max_bytes:,} bytes is too small for any n-gram")
    prune_seconds = time.perf_counter() - start
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    full.save(full_path)
    model.save(path)
    info = {
        "path": str(path),
        "corpus": corpus.name,
        "fingerprint": corpus.fingerprint,
        "splits": list(splits),
        "budget_bytes": max_bytes,
        "min_count": count,
        "size_bytes": model.size_bytes(),
        **model.counts(),
        "full_size_bytes": full.size_bytes(),
        "full_counts": full.counts(),
        "pruning": model.pruning,
        "train_seconds": round(train_seconds, 2),
        "prune_seconds": round(prune_seconds, 2),
    }
    atomic_write_text(info_path, json.dumps(info, indent=2) + "\n")
    return NgramBaseline(path, full_path, {**info, "cached": False})
