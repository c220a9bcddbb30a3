"""Typo correction over HTTP: ``correct``, ``layout`` and ``taps`` on ``POST /v1/predict-next``.

The real app on the tiny bundle (which has typing.json) through FastAPI's TestClient, its
answers compared with ``Predictor.suggest(..., correct=..., layout=..., taps=...)`` on the same
bundle.
"""

from __future__ import annotations

import json

import pytest

from kbd_lm.inference.predictor import Predictor
from kbd_lm.serve.app import get_typing
from kbd_lm.serve.schemas import PREDICT_EXAMPLES
from kbd_lm.typing.layouts import LAYOUTS

PATH = "/v1/predict-next"
JSON = {"content-type": "application/json"}
QWERTY = LAYOUTS["qwerty"]


@pytest.fixture(scope="module")
def predictor(tiny_bundle) -> Predictor:
    """A predictor of its own, to compare the API's answers with."""
    return Predictor.load(tiny_bundle)


def centres(word: str, layout: str = "qwerty") -> list[list[float]]:
    """The key centres of ``word``'s letters: the taps of exact typing."""
    return [list(LAYOUTS[layout].centre(ch)) for ch in word]


def as_dicts(suggestions) -> list[dict]:
    return [
        {"word": s.word, "probability": s.probability, "kind": s.kind, "autocorrect": s.autocorrect}
        for s in suggestions
    ]


def assert_same(answer: list[dict], expected: list[dict]) -> None:
    """Same words, kinds and autocorrect flags in the same order; the same probabilities."""
    assert [(s["word"], s["kind"], s["autocorrect"]) for s in answer] == [
        (s["word"], s["kind"], s["autocorrect"]) for s in expected
    ]
    assert [s["probability"] for s in answer] == pytest.approx(
        [s["probability"] for s in expected], rel=1e-5
    )


@pytest.mark.parametrize(
    "text", ["see you ", "see you tom", "see you tomorow", "rhe", "", "I'm goin"]
)
def test_correct_false_answers_as_before(client, predictor, text):
    """Without correction (left out or false, any layout): exactly Predictor.suggest's words
    and probabilities without correction, each a "next" word or a "completion", none marked
    autocorrect."""
    expected = as_dicts(predictor.suggest(text, k=3))
    for extra in ({}, {"correct": False}, {"correct": False, "layout": "dvorak"}):
        r = client.post(PATH, json={"text": text, "k": 3, **extra})
        assert r.status_code == 200, r.text
        answer = r.json()["suggestions"]
        assert_same(answer, expected)
        kind = "completion" if text and not text.endswith(" ") else "next"
        assert all(s["kind"] == kind and s["autocorrect"] is False for s in answer)


@pytest.mark.parametrize("text", ["see you tomorow", "rhe", "see you tom", "I'm goin"])
def test_correct_true_answers_as_the_predictor(client, predictor, text):
    expected = as_dicts(predictor.suggest(text, k=3, correct=True))
    r = client.post(PATH, json={"text": text, "k": 3, "correct": True})
    assert r.status_code == 200, r.text
    assert_same(r.json()["suggestions"], expected)


def test_a_typo_is_corrected_and_marked_for_autocorrect(client):
    """ "see you tomorow": the made-up completions of the typed letters give way to the word."""
    before = client.post(PATH, json={"text": "see you tomorow"}).json()["suggestions"]
    assert "tomorrow" not in [s["word"] for s in before]
    after = client.post(PATH, json={"text": "see you tomorow", "correct": True}).json()
    first = after["suggestions"][0]
    assert (first["word"], first["kind"], first["autocorrect"]) == ("tomorrow", "correction", True)
    assert not any(s["autocorrect"] for s in after["suggestions"][1:])
    typed_case = client.post(PATH, json={"text": "see you Tomorow", "correct": True}).json()
    assert typed_case["suggestions"][0]["word"] == "Tomorrow"


@pytest.mark.parametrize(
    ("text", "layout", "taps"),
    [
        ("see you tom", "qwerty", centres("yin")),  # "tom" typed, the fingers near y, i, n
        ("see you tom", "qwerty", centres("tom")),
        ("see you tomorow", "dvorak", centres("tomorow", "dvorak")),
        ("I don'", "qwerty", centres("don'")),  # the partial word ends in its apostrophe
    ],
)
def test_taps_reach_the_predictor(client, predictor, text, layout, taps):
    expected = predictor.suggest(
        text, k=3, correct=True, layout=layout, taps=[tuple(t) for t in taps]
    )
    body = {"text": text, "k": 3, "correct": True, "layout": layout, "taps": taps}
    r = client.post(PATH, json=body)
    assert r.status_code == 200, r.text
    assert_same(r.json()["suggestions"], as_dicts(expected))


def test_taps_change_the_answer(client):
    """Touches near y, i and n while "tom" was typed: the channel reads the taps, not the
    key centres of t, o and m (other words in the strip)."""
    plain = {"text": "see you tom", "correct": True}
    without = client.post(PATH, json=plain).json()["suggestions"]
    with_taps = client.post(PATH, json={**plain, "taps": centres("yin")}).json()["suggestions"]
    assert [s["word"] for s in without] != [s["word"] for s in with_taps]
    assert "in" in [s["word"] for s in with_taps] and "in" not in [s["word"] for s in without]


def test_a_layout_is_read(client, predictor):
    """The same letters are other slips on AZERTY than on QWERTY: the predictor's answer for
    the layout named."""
    text = "see you tomorow"
    for layout in ("azerty", "qwertz"):
        r = client.post(PATH, json={"text": text, "correct": True, "layout": layout})
        expected = predictor.suggest(text, correct=True, layout=layout)
        assert_same(r.json()["suggestions"], as_dicts(expected))


# (body, the field the 422 names, its type): every way the correction fields can be wrong.
INVALID = [
    ({"text": "see you tom", "taps": centres("tom")}, ["taps"], "taps_without_correct"),
    (
        {"text": "see you tom", "correct": False, "taps": centres("tom")},
        ["taps"],
        "taps_without_correct",
    ),
    ({"text": "see you tom", "correct": True, "taps": centres("to")}, ["taps"], "taps_count"),
    ({"text": "see you tom", "correct": True, "taps": centres("tomo")}, ["taps"], "taps_count"),
    ({"text": "see you tom", "correct": True, "taps": []}, ["taps"], "taps_count"),
    ({"text": "see you ", "correct": True, "taps": centres("t")}, ["taps"], "taps_count"),
    ({"text": "I don'", "correct": True, "taps": centres("don")}, ["taps"], "taps_count"),
    ({"text": "see you tom", "correct": True, "layout": "colemak"}, ["layout"], "unknown_layout"),
    ({"text": "see you tom", "layout": "QWERTY"}, ["layout"], "unknown_layout"),
    (
        {"text": "see you t", "correct": True, "taps": [[10.01, 0.5]]},
        ["taps", 0],
        "tap_outside_layout",
    ),
    (
        {"text": "see you t", "correct": True, "taps": [[4.5, 3.5]]},
        ["taps", 0],
        "tap_outside_layout",
    ),
    (
        {"text": "see you t", "correct": True, "taps": [[-0.1, 0.5]]},
        ["taps", 0, 0],
        "greater_than_equal",
    ),
    ({"text": "see you t", "correct": True, "taps": [[4.5]]}, ["taps", 0], "too_short"),
    ({"text": "see you t", "correct": True, "taps": [[4.5, 0.5, 1]]}, ["taps", 0], "too_long"),
    ({"text": "see you t", "correct": True, "taps": [["4.5", 0.5]]}, ["taps", 0, 0], "float_type"),
    ({"text": "see you t", "correct": True, "taps": [4.5, 0.5]}, ["taps", 0], "list_type"),
    ({"text": "see you t", "correct": "yes"}, ["correct"], "bool_type"),
    ({"text": "see you t", "correct": 1}, ["correct"], "bool_type"),
    ({"text": "see you t", "layout": 7}, ["layout"], "string_type"),
]


@pytest.mark.parametrize(("body", "loc", "kind"), INVALID, ids=[json.dumps(b) for b, *_ in INVALID])
def test_wrong_correction_fields_are_422(client, body, loc, kind):
    r = client.post(PATH, json=body)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["error"] == "invalid_request"
    first = answer["details"][0]  # (a list of two numbers for taps is two wrong taps)
    assert (first["loc"], first["type"]) == (["body", *loc], kind)
    assert answer["message"].startswith(".".join(str(x) for x in loc) + ": ")
    # It never quotes what was typed or the touch points.
    assert "tom" not in answer["message"] and "don'" not in answer["message"]
    taps = [tap for tap in body.get("taps") or [] if isinstance(tap, list)]
    for value in (v for tap in taps for v in tap if isinstance(v, float)):
        assert str(value) not in answer["message"], value


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_coordinate_that_is_not_finite_is_422(client, value):
    """Python's JSON reader takes NaN and Infinity: the schema's finite numbers refuse them."""
    body = b'{"text": "see you t", "correct": true, "taps": [[' + value + b", 0.5]]}"
    r = client.post(PATH, content=body, headers=JSON)
    assert r.status_code == 422, r.text
    (detail,) = r.json()["details"]
    assert detail["loc"] == ["body", "taps", 0, 0]
    assert detail["type"] in ("finite_number", "greater_than_equal")


def test_the_count_is_of_the_partial_word_the_predictor_reads(client, predictor):
    """A long text is cut at its start (keep_end), never inside the word being typed; the
    partial word after punctuation is the letters after it."""
    text = "see you later, my friend! " * 60 + "tomorow"
    r = client.post(PATH, json={"text": text, "correct": True, "taps": centres("tomorow")})
    assert r.status_code == 200, r.text
    r = client.post(PATH, json={"text": "ok,tomorow", "correct": True, "taps": centres("tomorow")})
    assert r.status_code == 200, r.text
    taps = [tuple(t) for t in centres("tomorow")]
    assert_same(
        r.json()["suggestions"],
        as_dicts(predictor.suggest("ok,tomorow", k=3, correct=True, taps=taps)),
    )


def test_a_bundle_without_typing_refuses_correction(client):
    """A bundle of format 4 without typing.json does not correct: correct=true is a 422 that
    says so; without it the answer is as before and the layout is not read."""
    client.app.dependency_overrides[get_typing] = lambda: None
    try:
        r = client.post(PATH, json={"text": "see you tomorow", "correct": True})
        assert r.status_code == 422, r.text
        assert r.json()["details"][0]["type"] == "no_typing"
        assert "typing.json" in r.json()["message"]
        r = client.post(PATH, json={"text": "see you tomorow", "layout": "colemak"})
        assert r.status_code == 200, r.text
    finally:
        client.app.dependency_overrides.clear()


def test_openapi_lists_the_correction_fields(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    request = schemas["PredictRequest"]["properties"]
    assert request["correct"]["type"] == "boolean" and request["correct"]["default"] is False
    assert request["layout"]["default"] == "qwerty"
    tap = request["taps"]["anyOf"][0]["items"]
    assert (tap["minItems"], tap["maxItems"], tap["items"]["minimum"]) == (2, 2, 0)
    assert schemas["PredictRequest"]["required"] == ["text"]
    out = schemas["SuggestionOut"]
    assert out["properties"]["kind"]["enum"] == ["next", "completion", "correction"]
    assert out["properties"]["autocorrect"]["type"] == "boolean"
    assert set(out["required"]) == {"word", "probability", "kind", "autocorrect"}
    op = spec["paths"][PATH]["post"]
    assert "422" in op["responses"] and "invalid_request" in op["responses"]["422"]["x-error-codes"]
    assert {"correction", "correction with taps"} <= set(
        op["requestBody"]["content"]["application/json"]["examples"]
    )


@pytest.mark.parametrize("name", sorted(PREDICT_EXAMPLES))
def test_every_documented_example_is_answered(client, name):
    r = client.post(PATH, json=PREDICT_EXAMPLES[name]["value"])
    assert r.status_code == 200, r.text
