"""Choosing the word list's share (``lexicon_weight``) on validation text, never on test.

``tune(bundle_dir, weights)`` samples whole units of every source's validation split of a
mixture, measures keystroke savings (the figure the word list is for) with each weight on the
same words, and returns the table; the best weight becomes
:data:`kbd_lm.inference.lexicon.DEFAULT_WEIGHT`.

>>> best_weight({0.0: {"ksr": 0.5}, 0.2: {"ksr": 0.52}, 0.4: {"ksr": 0.51}})
0.2
"""

from __future__ import annotations

import logging
from pathlib import Path

from kbd_lm.evaluation.metrics import evaluate_system, sample_words

log = logging.getLogger(__name__)


def best_weight(results: dict[float, dict]) -> float:
    """The weight with the highest KSR (the smaller weight on a tie)."""
    return max(sorted(results), key=lambda w: results[w]["ksr"])


def tune(
    bundle_dir: Path,
    weights=(0.0, 0.1, 0.2, 0.4),
    mixture: str = "default",
    words_per_source: int = 500,
    seed: int = 0,
    cache_dir: Path = Path("data"),
) -> dict[float, dict]:
    """KSR, top-3 and completion accuracy of the bundle for each word-list weight."""
    from kbd_lm.dataset.corpus import prepare_mixture
    from kbd_lm.inference.predictor import Predictor

    mix = prepare_mixture(mixture, cache_dir)
    units = []
    for pc in mix.sources.values():
        units += sample_words(pc.units("valid"), words_per_source, seed)
    predictor = Predictor.load(bundle_dir)
    results = {}
    for weight in weights:
        predictor.lexicon_weight = weight
        r = evaluate_system(predictor, units, f"lexicon weight {weight}")
        results[weight] = {"ksr": r["ksr"], "top3": r["top3"], "completion": r["completion_top3"]}
        log.info(
            "lexicon weight %.2f: KSR %.4f, completion@1/2/3 %s",
            weight,
            r["ksr"],
            r["completion_top3"],
        )
    return results
