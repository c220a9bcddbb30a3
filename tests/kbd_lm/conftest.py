"""Fixtures shared by the kbd_lm tests of corpus preparation and its report."""

from pathlib import Path

import pytest

from kbd_lm.corpora import PACKAGE_RECIPES, RECIPES
from kbd_lm.corpora.mixtures import MIXTURES, Mixture

FIXTURES = Path(__file__).parents[1] / "corpora" / "fixtures"


@pytest.fixture
def fixture_mixture(monkeypatch):
    """A mixture of the SMS and nlp-corpus 4.4.0 fixtures, registered as ``fixmix``."""
    sms = PACKAGE_RECIPES["sms"].source_from(FIXTURES / "nlp-corpus-3.3.0")
    sentences = PACKAGE_RECIPES["sentences"].source_from(
        FIXTURES / "nlp-corpus-4.4.0", also=[FIXTURES / "nlp-corpus-3.3.0"]
    )
    monkeypatch.setitem(RECIPES, "sms", lambda _: sms)
    monkeypatch.setitem(RECIPES, "sentences", lambda _: sentences)
    mix = Mixture("fixmix", {"sms": 0.5, "sentences": 0.5}, caveat="research only")
    monkeypatch.setitem(MIXTURES, "fixmix", mix)
    return mix
