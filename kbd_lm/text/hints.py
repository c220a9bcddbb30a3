"""Field hints: the kind of text field an app says the user is typing in.

A keyboard knows the field it serves (Android's ``EditorInfo.inputType``: a short message, an
e-mail, a long message; iOS's text content types), and people type differently in each. A
model trained with hints (``TrainConfig.hint_share``) reads one control piece right after BOS,
``BOS <hint:NAME> pieces``, and predicts for that kind of text; without a hint it predicts
for text of any kind. The tokenizer holds the pieces
(:attr:`kbd_lm.text.tokenizer.Tokenizer.hint_ids`),
the bundle's manifest lists them (``tokenizer.hints``), and every decoder reads them
(docs/decoding.md, section 3).

>>> HINTS
('message', 'email', 'prose')
>>> hint_piece("email")
'<hint:email>'
"""

from __future__ import annotations

# message: chat, SMS, social posts; email: e-mail bodies; prose: longer writing (notes, books,
# speeches). The order is the order of the control ids a tokenizer gives them.
HINTS = ("message", "email", "prose")


def hint_piece(name: str) -> str:
    """The control piece of a field hint."""
    return f"<hint:{name}>"
