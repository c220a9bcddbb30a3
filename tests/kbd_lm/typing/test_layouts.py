import json
import math

import pytest

from kbd_lm.typing.layouts import LAYOUTS, KeyRow, Layout, LayoutError, get_layout


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_has_the_26_letters_and_the_apostrophe(name):
    keys = LAYOUTS[name].keys
    assert set("abcdefghijklmnopqrstuvwxyz'") <= set(keys)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_key_centre_is_under_its_own_key(name):
    layout = LAYOUTS[name]
    for key, (x, y) in layout.centres.items():
        assert layout.key_at(x, y) == key
        assert layout.nearest_key(x, y) == key
        # a point a little inside each edge of the key is still the key
        for dx, dy in ((0.49, 0), (-0.49, 0), (0, 0.49), (0, -0.49)):
            assert layout.key_at(x + dx, y + dy) == key


def test_key_at_is_none_off_the_keys_and_nearest_key_clamps():
    q = LAYOUTS["qwerty"]
    assert q.key_at(-0.1, 0.5) is None  # left of "q"
    assert q.key_at(5.0, -0.01) is None  # above the top row
    assert q.key_at(1.0, 2.5) is None  # the shift key's place, left of "z"
    assert q.nearest_key(-3.0, 0.5) == "q"
    assert q.nearest_key(5.0, -2.0) == "y"
    assert q.nearest_key(1.0, 2.5) == "z"
    assert q.nearest_key(30.0, 9.0) == "'"


def test_the_layouts_differ_where_they_should():
    q, a, z, d = (LAYOUTS[n] for n in ("qwerty", "azerty", "qwertz", "dvorak"))
    assert q.centre("q") == a.centre("a") == (0.5, 0.5)
    assert q.centre("a") != a.centre("a")
    assert q.centre("m") == (8.0, 2.5) and a.centre("m") == (9.5, 1.5)
    assert q.centre("y") == z.centre("z") and q.centre("z") == z.centre("y")
    assert d.centre("'") == (0.5, 0.5) and d.centre("e") == (2.5, 1.5)
    assert q.width == 10.0 and q.height == 3.0


def test_the_layout_dict_survives_json_and_case():
    q = LAYOUTS["qwerty"]
    doc = json.loads(json.dumps(q.to_dict()))
    assert Layout.from_dict(doc) == q
    assert "G" in q and q.centre("G") == q.centre("g")
    assert "é" not in q


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "other"}, "not a kbd-lm-layout dict"),
        ({"format": "kbd-lm-layout", "version": 1, "name": "x"}, "KeyError"),
        (
            {"format": "kbd-lm-layout", "version": 1, "name": "x", "rows": [{"keys": "aa"}]},
            "repeated",
        ),
        (
            {"format": "kbd-lm-layout", "version": 1, "name": "x", "rows": [{"keys": "A"}]},
            "not lowercase",
        ),
        (
            {
                "format": "kbd-lm-layout",
                "version": 1,
                "name": "x",
                "rows": [{"keys": "ab", "offset": math.inf}],
            },
            "badly offset",
        ),
    ],
)
def test_a_bad_layout_dict_is_refused_with_a_reason(doc, message):
    with pytest.raises(LayoutError, match=message):
        Layout.from_dict(doc)


def test_get_layout_names_the_choices():
    assert get_layout("azerty") is LAYOUTS["azerty"]
    with pytest.raises(ValueError, match="qwerty, azerty, qwertz, dvorak"):
        get_layout("colemak")


def test_custom_key_sizes_scale_the_centres():
    wide = Layout("wide", (KeyRow("ab", 0.0), KeyRow("cd", 1.0)), key_width=2.0, key_height=3.0)
    assert wide.centres == {"a": (1.0, 1.5), "b": (3.0, 1.5), "c": (2.0, 4.5), "d": (4.0, 4.5)}
    assert wide.key_at(3.9, 5.9) == "d"
