"""The word n-gram: an interpolated Kneser-Ney trigram (:mod:`~kbd_lm.ngram.model`) and its
packed file (:mod:`~kbd_lm.ngram.file`). The predictor mixes it with the network; evaluation
uses it as the baseline keyboards ship today. No TensorFlow here."""

from kbd_lm.ngram.model import KneserNeyTrigram

__all__ = ["KneserNeyTrigram"]
