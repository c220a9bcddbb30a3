"""Logging set-up for every command (train, export, eval, bench, serve, loadtest, suggest).

Library modules only log (``logging.getLogger(__name__)``); a command's entry point calls
:func:`setup_logging` once, before it does any work, so that every stage prints the same
line format to stderr:

    14:02:07 INFO kbd_lm.training.loop: epoch 3/20: ...

>>> setup_logging("debug" if verbose else "info")  # doctest: +SKIP
>>> setup_logging("info", child=True)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A measuring child process (bench) tags its lines with its process id.
CHILD_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
DATE_FORMAT = "%H:%M:%S"
# Third-party loggers that print a line per request or per file at INFO.
QUIET_LOGGERS = ("httpx", "httpcore", "matplotlib", "PIL")


def setup_logging(level: str | int = "info", *, child: bool = False) -> None:
    """Send log records of ``level`` and above to stderr in the one kbd-lm format.

    ``level``: a name (``"debug"``, ``"info"``, ``"warning"``…, any case) or a ``logging``
    constant. ``child``: tag lines with the process id (for measuring child processes).
    When the root logger already has handlers (an application or a test runner embedding
    us owns them), only the level is set. Also keeps TensorFlow's
    C++ start-up chatter off (``TF_CPP_MIN_LOG_LEVEL=2`` unless already set), which only
    works before TensorFlow is imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if isinstance(level, str):
        level = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger()
    if root.handlers:
        root.setLevel(level)
    else:
        logging.basicConfig(
            level=level,
            format=CHILD_FORMAT if child else FORMAT,
            datefmt=DATE_FORMAT,
            stream=sys.stderr,
        )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
