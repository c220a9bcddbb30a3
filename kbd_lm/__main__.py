"""``python -m kbd_lm``: the ``kbd-lm`` command (see :mod:`kbd_lm.cli`)."""

import sys

from kbd_lm.cli import main

if __name__ == "__main__":
    sys.exit(main())
