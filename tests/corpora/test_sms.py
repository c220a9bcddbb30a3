from kbd_lm.corpora.base import split_of
from kbd_lm.corpora.sms import BLOCK, js_strings


def test_js_string_literals_are_unescaped():
    source = (
        'module.exports=\n[ \'I\\\'ll go\', "say \\"hi\\"",\n'
        "  'a\\\\b\\nc', 'caf\\u00e9 \\x41' ]\n"
    )
    assert js_strings(source) == ["I'll go", 'say "hi"', "a\\b\nc", "café A"]


def test_sms_messages_are_read_scrubbed_and_keyed_by_block(read_fixture):
    units, tally = read_fixture("sms")
    assert tally["messages"] == len(units) == 47  # 40 first messages + 6 private + 1 shared
    assert units[0].text == "Bugis oso near wat..."
    assert units[0].key == "sms:0" and units[BLOCK].key == "sms:1"
    assert {u.key for u in units[:BLOCK]} == {"sms:0"}
    texts = "\n".join(u.text for u in units)
    assert "67441233" not in texts and "call <phone> look for irene" in texts
    assert "hotmail" not in texts.lower() and "Mine is <email>. Sis is <email>" in texts
    assert "<url>, log in" in texts
    assert (tally["replaced_phone"], tally["replaced_email"], tally["replaced_url"]) == (3, 3, 2)
    # A block of messages (about one contributor's) never straddles two splits.
    assert len({split_of(u.key) for u in units[:BLOCK]}) == 1
