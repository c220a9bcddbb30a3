"""kbd-lm: next-word prediction for mobile keyboards.

>>> import kbd_lm
>>> predictor = kbd_lm.Predictor.load("dist/bundle")   # doctest: +SKIP
>>> predictor.suggest("see you ", k=3)                  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["Predictor", "Suggestion", "Bundle", "BundleError", "__version__"]


def __getattr__(name: str):
    # Lazy, so that `import kbd_lm.train` does not load the predictor and vice versa.
    if name == "Predictor":
        from kbd_lm.predict import Predictor

        return Predictor
    if name == "Suggestion":
        from kbd_lm.suggestion import Suggestion

        return Suggestion
    if name == "__version__":
        # The installed distribution's version (pyproject.toml), e.g. "0.1.0".
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("kbd-lm")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    if name in ("Bundle", "BundleError"):
        from kbd_lm import bundle

        return getattr(bundle, name)
    raise AttributeError(f"module 'kbd_lm' has no attribute {name!r}")
