from kbd_lm.corpora.research import detokenize


def test_known_text_is_left_out_and_the_key_is_the_sentence(read_fixture):
    units, tally = read_fixture("sentences")
    assert tally["sentences"] == 17 and len(units) == 15
    assert tally["tv_transcript_sentences"] == 1 and tally["sms_sentences"] == 1
    texts = {u.text for u in units}
    assert "All right, c'mere, gimme your feet." not in texts  # Friends
    assert not any(t.startswith("Ok i found dis pierre cardin") for t in texts)  # an SMS
    assert all(u.key == u.text for u in units if "<" not in u.text)


def test_brown_is_untagged_and_detokenised(read_fixture):
    units, tally = read_fixture("brown")
    assert tally["samples"] == 2  # ca01, cr09; cats.txt is not a sample
    assert units[0].key == "brown:ca01"
    assert units[0].text.startswith(
        "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
        'election produced "no evidence" that any irregularities took place.'
    )
    assert not any("/" in u.text.split()[0] for u in units)
    assert (
        detokenize(["(", "see", "p.", "3", ")", ";", "it's", "$", "5", "."])
        == "(see p. 3); it's $5."
    )


def test_vader_snippets_are_unescaped_and_handles_replaced(read_fixture):
    units, tally = read_fixture("vader")
    kinds = {u.key.split(":")[0] for u in units}
    assert kinds == {"tweet", "movie", "amazon", "nyt"}
    assert {u.key for u in units if u.key.startswith("amazon:")} == {"amazon:1"}  # one review
    texts = "\n".join(u.text for u in units)
    assert "@anonymous" not in texts and "<user>" in texts and "&amp;" not in texts
    assert "url_removed" not in texts
    assert 'new "Conan"' in texts and tally["quote_marks_folded"] >= 2
    assert tally["tweet_lines"] == 11
