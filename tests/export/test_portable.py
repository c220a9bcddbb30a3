"""tokenizer.json: the pieces and the text rules as data, equal to what Python does."""

import json
import unicodedata

from kbd_lm.export import portable as P
from kbd_lm.inference.conformance import NEWER_THAN_PINNED
from kbd_lm.text.normalization import normalize
from kbd_lm.text.tokenizer import Tokenizer


def test_tables_agree_with_python_on_every_code_point_class():
    t = P.text_tables()
    assert t["unicode_version"] == unicodedata.unidata_version
    for ch in ["a", "Z", "é", "ß", "Ж", "5", "٣", "中", "_", "'", "-", " ", "\u0301", "😀"]:
        assert P.in_ranges(ord(ch), t["alnum"]) == ch.isalnum(), ch
    for ch in ["\x07", "\u200b", "\u00ad", "\ue000", "\ufeff", NEWER_THAN_PINNED]:
        assert P.in_ranges(ord(ch), t["drop"]), repr(ch)
        assert normalize(f"a{ch}b") == "ab"
    for ch in ["a", " ", "\u200d", "\ufe0f", "😀"]:
        assert not P.in_ranges(ord(ch), t["drop"]), repr(ch)
    assert {ord(c) for c in " \t\n\u00a0\u3000\x1c"} <= set(t["space"])
    assert t["apostrophes"]["\u2019"] == "'"


def test_tokenizer_json_in_the_bundle_matches_sentencepiece(tiny_bundle):
    data = json.loads((tiny_bundle / P.TOKENIZER_JSON).read_text())
    tok = Tokenizer.load(tiny_bundle / "tokenizer.model")
    assert [p[0] for p in data["pieces"]] == tok.pieces()
    assert [p[1] for p in data["pieces"]] == [tok.sp.get_score(i) for i in range(tok.vocab_size)]
    assert data["normalizer"]["add_dummy_prefix"] and data["normalizer"]["byte_fallback"]
    assert not data["normalizer"]["remove_extra_whitespaces"]
    types = [p[2] for p in data["pieces"]]
    assert types.count(P.BYTE) == 256 and types[:4] == [P.CONTROL, P.UNKNOWN, P.CONTROL, P.CONTROL]
    normal = [p[1] for p in data["pieces"] if p[2] == P.NORMAL]
    assert data["normalizer"]["unk_score"] == min(normal) - P.UNK_PENALTY
