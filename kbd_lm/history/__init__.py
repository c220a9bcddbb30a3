"""A user's own words: the history (:mod:`~kbd_lm.history.user_history`), how it is mixed
with the model's words (:mod:`~kbd_lm.history.mix`) and what it may learn
(:mod:`~kbd_lm.history.privacy`). No TensorFlow here.

>>> from kbd_lm.history import UserHistory
>>> h = UserHistory()
>>> h.learn("see you soon")
3
"""

from kbd_lm.history.user_history import (
    HistoryConfig,
    HistoryEntry,
    HistoryFileError,
    UserHistory,
)

__all__ = ["HistoryConfig", "HistoryEntry", "HistoryFileError", "UserHistory"]
