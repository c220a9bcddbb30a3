def test_speeches_are_keys_and_cut_into_sentence_groups(read_fixture):
    units, tally = read_fixture("sotu")
    assert tally["speeches"] == 2  # the .txt twin is not read
    assert {u.key for u in units} == {"sotu:1790_george_washington_n", "sotu:2016_barack_obama_d"}
    assert all(len(u.text) <= 600 for u in units)
    assert units[0].text.startswith("Fellow-Citizens of the Senate and House of Representatives:")
    # Titles do not end sentences: no unit starts in the middle of "Mr. Speaker".
    assert not any(u.text.startswith("Speaker,") for u in units)
