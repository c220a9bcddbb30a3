"""typing.json: the layouts, channel parameters and thresholds a bundle carries."""

import dataclasses
import gzip
import json

import pytest

from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import LAYOUTS, KeyRow, Layout
from kbd_lm.typing.spec import FILE, TypingError, TypingSpec


def test_round_trip_keeps_every_layout_parameter_and_threshold(tmp_path):
    spec = TypingSpec(
        layouts=(*LAYOUTS.values(), Layout("tiny", (KeyRow("ab", 0.25),), 1.2, 0.9)),
        channel=ChannelParams(touch_spread=0.35, omission=0.02, missing_apostrophe=0.1),
        autocorrect_margin=1.5,
        autocorrect_strip_ratio=0.2,
        completion_bonus=4.0,
        unlisted_min=0.1,
    )
    spec.save(tmp_path / FILE)
    back = TypingSpec.load(tmp_path / FILE)
    assert back == spec
    assert back.layout("tiny").centre("b") == (0.25 + 1.5 * 1.2, 0.45)
    assert back.channel.to_dict() == spec.channel.to_dict()  # every field of ChannelParams
    doc = json.loads((tmp_path / FILE).read_text())
    assert set(doc) == {"format", "version", "layouts", "channel", "correction"}
    assert set(doc["channel"]) == {f.name for f in dataclasses.fields(ChannelParams)}
    assert [d["name"] for d in doc["layouts"]] == ["qwerty", "azerty", "qwertz", "dvorak", "tiny"]
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file


def test_the_default_file_is_small():
    """What it adds to a bundle's shipped bytes (docs/bundle.md: the budget)."""
    text = json.dumps(TypingSpec().to_json(), separators=(",", ":")) + "\n"
    assert len(text.encode()) == 1090 and len(gzip.compress(text.encode(), 9)) < 400


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format="x"), "typing.json: not a kbd-lm-typing file"),
        (lambda d: d.update(version=2), "version 2 is not supported"),
        (lambda d: d.pop("correction"), "typing.json: correction: missing"),
        (lambda d: d.update(colour=1), "typing.json: colour: unknown field"),
        (lambda d: d["channel"].pop("omission"), "typing.json: channel.omission: missing"),
        (lambda d: d["channel"].update(omision=0.1), "channel.omision: unknown field"),
        (lambda d: d["channel"].update(insertion="0.1"), "channel.insertion: '0.1' is not a"),
        (lambda d: d["channel"].update(omission=1.5), "typing.json: channel: omission must be"),
        (lambda d: d["correction"].update(unlisted_min=2), "correction.unlisted_min: must be"),
        (lambda d: d["correction"].update(autocorrect_margin=None), "autocorrect_margin: None"),
        (lambda d: d["correction"].pop("completion_bonus"), "correction.completion_bonus: missing"),
        (
            lambda d: d["correction"].update(autocorrect_strip_ratio=0),
            "correction.autocorrect_strip_ratio: must be in",
        ),
        (lambda d: d.update(layouts=[]), "typing.json: layouts: expected a non-empty list"),
        (lambda d: d["layouts"][2].update(rows=[]), "typing.json: layouts\\[2\\]: layout 'qwertz'"),
        (lambda d: d["layouts"][1].update(name="qwerty"), "two layouts have the same name"),
    ],
)
def test_a_wrong_document_names_the_file_and_the_field(edit, message):
    doc = TypingSpec().to_json()
    edit(doc)
    with pytest.raises(TypingError, match=message):
        TypingSpec.from_json(doc)


def test_an_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(TypingError, match=f"{tmp_path / FILE}: missing file"):
        TypingSpec.load(tmp_path / FILE)
    (tmp_path / FILE).write_text("{not json")
    with pytest.raises(TypingError, match=f"{tmp_path / FILE}: not valid JSON"):
        TypingSpec.load(tmp_path / FILE)


def test_an_unknown_layout_lists_the_bundles_layouts():
    spec = TypingSpec(layouts=(LAYOUTS["dvorak"],))
    assert spec.layout("dvorak") is LAYOUTS["dvorak"]
    with pytest.raises(ValueError, match="unknown layout 'qwerty': use one of dvorak"):
        spec.layout("qwerty")
