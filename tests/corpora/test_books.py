from collections import Counter

from kbd_lm.corpora.books import book_units, gutenberg_bodies, is_heading


def test_headings():
    assert is_heading("CHAPTER I. Down the Rabbit-Hole") and is_heading("[BOOK I.  INSCRIPTIONS]")
    assert is_heading("Actus Primus. Scoena Prima.") and is_heading("=Research Topics=")
    assert not is_heading("Exactly.") and not is_heading("I said so.")


def test_chapters_are_keys_and_hard_wraps_are_joined(read_fixture):
    units, tally = read_fixture("gutenberg")
    assert tally["books"] == 5
    alice = [u for u in units if u.key.startswith("carroll-alice:")]
    assert alice[0].key == "carroll-alice:2"  # after "[Alice's ...]" and "CHAPTER I."
    assert alice[0].text.startswith("Alice was beginning to get very tired of sitting by her")
    assert "\n" not in alice[0].text and "sister on the bank" in alice[0].text
    assert tally["headings"] >= 4 and tally["joined_line_breaks"] > 20


def test_bible_verses_are_units_and_chapters_keys(read_fixture):
    units, tally = read_fixture("gutenberg")
    bible = [u for u in units if u.key.startswith("bible-kjv:")]
    assert bible[0].text == "In the beginning God created the heaven and the earth."
    assert all(":" not in u.text[:4] for u in bible)  # no "1:2" left in front
    assert len({u.key for u in bible}) == 1  # all of chapter 1 of Genesis
    assert tally["verse_numbers"] == len(bible)


def test_plays_lose_speaker_labels_and_stage_directions(read_fixture):
    units, tally = read_fixture("gutenberg")
    hamlet = [u.text for u in units if u.key.startswith("shakespeare-hamlet:")]
    assert hamlet[:2] == ["Who's there?", "Nay answer me: Stand & vnfold your selfe"]
    assert not any(t.startswith(("Enter", "Exit", "Bar.", "Fran.")) for t in hamlet)
    assert tally["speaker_labels"] >= 20 and tally["stage_directions"] >= 2
    caesar = [u.text for u in units if u.key.startswith("shakespeare-caesar:")]
    assert "Cæsar, my Lord" in caesar  # a Latin-1 file decoded
    bryant = [u.text for u in units if u.key.startswith("bryant-stories:")]
    assert bryant and not any("\r" in t for t in bryant)  # CRLF file


def test_big_txt_keeps_the_books_only(read_fixture):
    units, tally = read_fixture("bigtxt")
    texts = "\n".join(u.text for u in units)
    assert "Project Gutenberg" not in texts and "xrange" not in texts and "palpable" not in texts
    assert units[-1].text.startswith('"Seven!" I answered')
    assert {u.key.rsplit(":", 1)[0] for u in units} == {"The Adventures Of Sherlock Holmes"}
    assert tally["boilerplate_lines"] > 40 and tally["word_list_lines"] >= 4
    assert tally["index_or_contents_lines"] >= 10  # the list of the twelve adventures


def test_sections_are_cut_when_a_book_has_no_headings():
    lines = [line for i in range(250) for line in (f"Paragraph {i} of a long story.", "")]
    units = list(book_units(lines, "b", Counter()))
    assert [u.key for u in units].count("b:0") == 100 and units[-1].key == "b:2"


def test_a_file_without_start_marker_is_one_body_cut_at_its_end():
    tally = Counter()
    text = "Story text.\n\nMore text.\nEnd of the Project Gutenberg EBook\nsmall print\n"
    assert list(gutenberg_bodies(text, tally)) == [("", ["Story text.", "", "More text."])]
    assert tally["boilerplate_lines"] == 2
