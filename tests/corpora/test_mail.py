import email

from kbd_lm.corpora.mail import body_paragraphs, thread_of


def test_thread_key_drops_reply_prefixes_and_list_tags():
    msg = email.message_from_string("Subject: Re: [Spambayes] RE: Fwd: Speed  test\n\nhi\n")
    assert thread_of(msg, "x") == "speed test"
    assert thread_of(email.message_from_string("\n\nno subject"), "file-1") == "file-1"


def test_body_keeps_what_the_author_wrote():
    from collections import Counter

    body = (
        "On Mon, Bob Smith wrote:\n"
        "> quoted line\n"
        "N> supercite quote\n"
        "    Date:  Wed, 21 Aug 2002\n"
        "\n"
        "I agree with this,\n"
        "mostly.\n"
        "\n"
        "18:19:03 exec pick {4852-4852}\n"
        "\n"
        "Call me at +1 (555) 123-4567 or see http://x.org/a.\n"
        "\n"
        "-- \n"
        "Bob, http://bob.example.com\n"
    )
    tally = Counter()
    assert list(body_paragraphs(body, tally)) == [
        "I agree with this, mostly.",
        "Call me at <phone> or see <url>.",
    ]
    assert tally["quoted_lines"] == 2 and tally["attribution_lines"] == 1
    assert tally["header_lines"] == 1 and tally["signatures"] == 1
    assert tally["non_prose_lines"] == 1 and tally["joined_line_breaks"] == 1
    assert tally["replaced_phone"] == 1 and tally["replaced_url"] == 1


def test_ham_mails_are_parsed_and_spam_is_never_read(read_fixture):
    units, tally = read_fixture("email")
    assert tally["mails"] == 5  # 3 easy-ham-1, 1 easy-ham-2, 1 hard-ham-1; spam-1 unread
    assert tally["mails_without_plain_text"] == 1  # the HTML-only one
    keys = {u.key for u in units}
    assert {
        "mail:new sequences window",
        "mail:nothing like mama used to make",
        "mail:speed",
    } <= keys
    texts = "\n".join(u.text for u in units)
    assert "I can't reproduce this error" not in texts  # "  | " quoted in exmh style
    assert "Isn't it just basically" not in texts  # "> " quoted
    assert "Stewart Smith" not in texts and "Yahoo! Groups" not in texts  # signature, footer
    assert "virtualcities" not in texts and "<url>" in texts
    assert "That's one of the worst non-smiles ever." in texts
    assert "If the frequency of my laptop's disk chirps are any indication, I'd say hammie" in texts
    assert tally["signatures"] >= 1 and tally["footers_or_forwards"] >= 1
