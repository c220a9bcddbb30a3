import pytest

from kbd_lm.corpora import RECIPES
from kbd_lm.corpora.mixtures import MIXTURES, Mixture


def test_named_mixtures_use_known_recipes_and_broad_adds_research_sources():
    default, broad = MIXTURES["default"], MIXTURES["broad"]
    assert all(name in RECIPES for name in broad.sources)
    assert set(broad.sources) - set(default.sources) == {"sentences", "brown", "vader"}
    assert broad.sources[: len(default.sources)] == default.sources  # same dedupe order
    assert not default.caveat and "research use only" in broad.caveat
    assert default.weights["sms"] + default.weights["email"] >= 0.3  # leans toward messages


def test_weights_are_checked():
    with pytest.raises(ValueError, match="weights"):
        Mixture("x", {"sms": -1.0})
    with pytest.raises(ValueError, match="weights"):
        Mixture("x", {"sms": 0.0})
