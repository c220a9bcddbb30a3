"""Module paths of kbd-lm 0.8 that moved into rooms in 0.9: they still import, with a
:class:`DeprecationWarning` naming the new path, until 0.10 removes them.

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     import kbd_lm.predict as old
>>> old.__name__, caught[0].category.__name__
('kbd_lm.inference.predictor', 'DeprecationWarning')

One table and one finder, installed by ``import kbd_lm``; nothing else keeps an old path.
``kbd_lm.text``, ``kbd_lm.history`` and ``kbd_lm.ngram`` are packages now, whose
``__init__`` exports the names the old modules' users imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old module (0.8) -> its module since 0.9
MOVED = {
    "kbd_lm.adaptive": "kbd_lm.evaluation.adaptive",
    "kbd_lm.baseline": "kbd_lm.evaluation.baseline",
    "kbd_lm.blocklist": "kbd_lm.inference.blocklist",
    "kbd_lm.bundle": "kbd_lm.inference.bundle",
    "kbd_lm.checkpoint": "kbd_lm.training.checkpoint",
    "kbd_lm.cluster": "kbd_lm.training.cluster",
    "kbd_lm.config": "kbd_lm.common.config",
    "kbd_lm.conformance": "kbd_lm.inference.conformance",
    "kbd_lm.corpus": "kbd_lm.dataset.corpus",
    "kbd_lm.corpus_report": "kbd_lm.dataset.report",
    "kbd_lm.evaluate": "kbd_lm.evaluation.metrics",
    "kbd_lm.evaluate_kinds": "kbd_lm.evaluation.kinds",
    "kbd_lm.fsutil": "kbd_lm.common.fsutil",
    "kbd_lm.hints": "kbd_lm.text.hints",
    "kbd_lm.history_bench": "kbd_lm.export.bench.history",
    "kbd_lm.history_cli": "kbd_lm.evaluation.history_cli",
    "kbd_lm.history_mix": "kbd_lm.history.mix",
    "kbd_lm.history_tune": "kbd_lm.evaluation.history_tune",
    "kbd_lm.keystrokes": "kbd_lm.evaluation.keystrokes",
    "kbd_lm.launch": "kbd_lm.training.launch",
    "kbd_lm.lexicon": "kbd_lm.inference.lexicon",
    "kbd_lm.lexicon_tune": "kbd_lm.evaluation.lexicon_tune",
    "kbd_lm.logs": "kbd_lm.common.logs",
    "kbd_lm.model": "kbd_lm.training.model",
    "kbd_lm.ngram_file": "kbd_lm.ngram.file",
    "kbd_lm.optim": "kbd_lm.training.optim",
    "kbd_lm.pieces": "kbd_lm.inference.pieces",
    "kbd_lm.portable": "kbd_lm.export.portable",
    "kbd_lm.predict": "kbd_lm.inference.predictor",
    "kbd_lm.privacy": "kbd_lm.history.privacy",
    "kbd_lm.runtime": "kbd_lm.inference.runtime",
    "kbd_lm.stats": "kbd_lm.common.stats",
    "kbd_lm.suggestion": "kbd_lm.inference.suggestion",
    "kbd_lm.tokenizer": "kbd_lm.text.tokenizer",
    "kbd_lm.train": "kbd_lm.training.loop",
    "kbd_lm.train_config": "kbd_lm.training.config",
    "kbd_lm.trainset": "kbd_lm.training.data",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old path as the module at its new path (the same module object)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new} in kbd-lm 0.9; the old path goes in 0.10",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module):
        pass  # the new module ran when it was imported


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import kbd_lm`` calls this)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
