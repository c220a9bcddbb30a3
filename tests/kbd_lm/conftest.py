"""Fixtures shared by the kbd_lm tests of corpus preparation and its report."""

from pathlib import Path

import pytest

from kbd_lm.corpora import PACKAGE_RECIPES, RECIPES
from kbd_lm.corpora.mixtures import MIXTURES, Mixture

FIXTURES = Path(__file__).parents[1] / "corpora" / "fixtures"


# An SMS message of the fixture, and text of one's own, for the de-duplication tests.
SHARED = "Ok i found dis pierre cardin one which looks normal costs 20 its on sale."
OWN = [SHARED, "s <email>", "A line of my own text, typed here"]  # "s <email>": an SMS too


@pytest.fixture
def own_lines() -> list[str]:
    """The plain-text source of ``fixmix``: an SMS message (4+ words), a short one, new text."""
    return OWN


@pytest.fixture
def fixture_mixture(monkeypatch, tmp_path):
    """SMS, nlp-corpus 4.4.0 and plain-text fixtures in a mixture registered as ``fixmix``."""
    sms = PACKAGE_RECIPES["sms"].source_from(FIXTURES / "nlp-corpus-3.3.0")
    sentences = PACKAGE_RECIPES["sentences"].source_from(
        FIXTURES / "nlp-corpus-4.4.0", also=[FIXTURES / "nlp-corpus-3.3.0"]
    )
    monkeypatch.setitem(RECIPES, "sms", lambda _: sms)
    monkeypatch.setitem(RECIPES, "sentences", lambda _: sentences)
    own = tmp_path / "own"
    own.mkdir()
    (own / "own.txt").write_text("\n".join(OWN) + "\n")
    weights = {"sms": 0.5, "sentences": 0.3, str(own): 0.2}
    mix = Mixture("fixmix", weights, caveat="research only")
    monkeypatch.setitem(MIXTURES, "fixmix", mix)
    return mix
