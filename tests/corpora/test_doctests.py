"""The examples in the corpora modules' docstrings run."""

import doctest
import importlib

import pytest

MODULES = ["archive", "base", "books", "clean", "mail", "mixtures", "registry", "research"]
MODULES += ["sms", "__init__"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module("kbd_lm.corpora" + ("" if name == "__init__" else f".{name}"))
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
