from collections import Counter

import pytest

from kbd_lm.corpora.clean import (
    has_words,
    is_prose,
    join_wrapped,
    paragraphs,
    scrub_private,
    sentence_groups,
    split_long,
)


@pytest.mark.parametrize(
    ("text", "want", "kind"),
    [
        ("call 67441233 now", "call <phone> now", "phone"),
        ("tel +65 9123 4567.", "tel <phone>.", "phone"),
        ("(555) 123-4567 pls", "<phone> pls", "phone"),
        ("mail z_x@hotmail.Com or <a.b@c.org>", "mail <email> or <email>", "email"),
        ("see http://x.org/a?b=1, ok", "see <url>, ok", "url"),
        ("go 2 www.nus.edu.sg then", "go 2 <url> then", "url"),
        ("<http://www.x.com/a.htm>", "<url>", "url"),
        ("sms ON to77333 now", "sms ON to<number> now", "number"),
        ("postcode 358007.", "postcode <number>.", "number"),
    ],
)
def test_private_details_are_replaced_and_counted(text, want, kind):
    tally = Counter()
    assert scrub_private(text, tally) == want
    assert tally[f"replaced_{kind}"] == want.count(f"<{kind}>")
    assert sum(tally.values()) == tally[f"replaced_{kind}"]


@pytest.mark.parametrize(
    "text", ["in 1999 and 2002", "at 10:30 on 16/1/04", "$450,000,000 collected", "room 1234"]
)
def test_years_times_and_amounts_are_kept(text):
    tally = Counter()
    assert scrub_private(text, tally) == text and not tally


def test_two_numbers_in_a_row_are_two_phones():
    tally = Counter()
    assert (
        scrub_private("Ps tel 64549808 98388367 4 mrs ong", tally)
        == "Ps tel <phone> <phone> 4 mrs ong"
    )
    assert tally == Counter(replaced_phone=2)


def test_paragraphs_join_hard_wraps_and_count_them():
    tally = Counter()
    blocks = list(paragraphs(["It was a dark", "  and stormy night.", "", "", "Next one.", ""]))
    assert blocks == [["It was a dark", "  and stormy night."], ["Next one."]]
    assert [join_wrapped(b, tally) for b in blocks] == [
        "It was a dark and stormy night.",
        "Next one.",
    ]
    assert tally["joined_line_breaks"] == 1


def test_prose_placeholders_and_long_paragraphs():
    assert is_prose("Well, that's all--everything,\" said Natasha.")
    assert not is_prose("18:19:03 exec pick 4852-4852 {1 hit}")
    assert not is_prose("| 12 | 345 | 6.7 |")
    assert has_words("see <url> now") and not has_words("<url> <email>")
    tally = Counter()
    long = " ".join(f"Sentence number {i} is here." for i in range(100))
    groups = list(split_long(long, tally))
    assert len(groups) > 1 and all(len(g) <= 600 for g in groups)
    assert " ".join(groups) == long and tally["long_paragraphs_split"] == 1
    assert list(split_long("Short.", tally)) == ["Short."]
    assert list(sentence_groups('He said "Go." Then "Stop!" ok? Yes.', Counter(), 14)) == [
        'He said "Go."',
        'Then "Stop!" ok?',
        "Yes.",
    ]
