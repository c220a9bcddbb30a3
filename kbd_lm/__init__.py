"""kbd-lm: next-word prediction for mobile keyboards.

>>> import kbd_lm
>>> predictor = kbd_lm.Predictor.load("dist/bundle")   # doctest: +SKIP
>>> predictor.suggest("see you ", k=3)                  # doctest: +SKIP

The library is in rooms: ``text``, ``inference``, ``history``, ``ngram`` and ``common`` run a
bundle and never import TensorFlow; ``dataset``, ``training`` and ``evaluation`` build and
measure one; ``kbd_lm.export``, ``kbd_lm.serve`` and ``kbd_lm.corpora`` live in the
repository's top-level folders of those names. ``pyproject.toml``'s import-linter contracts
hold these floors.
"""

from __future__ import annotations

from kbd_lm import _moved

__all__ = ["Predictor", "Suggestion", "Bundle", "BundleError", "__version__"]

_moved.install()  # 0.8 module paths still import, with a DeprecationWarning, until 0.10

# Lazy, so that `import kbd_lm.training` does not load the predictor and vice versa.
_LAZY = {
    "Predictor": "kbd_lm.inference.predictor",
    "Suggestion": "kbd_lm.inference.suggestion",
    "Bundle": "kbd_lm.inference.bundle",
    "BundleError": "kbd_lm.inference.bundle",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        # The installed distribution's version (pyproject.toml), e.g. "0.9.0".
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("kbd-lm")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'kbd_lm' has no attribute {name!r}")
