"""Corpus preparation: normalise, split and cache the units of a recipe or mixture, and the report
of ``kbd-lm corpora``."""
