"""``python -m kbd_lm.export.bench``: see :mod:`kbd_lm.export.bench.run`."""

import sys

from kbd_lm.export.bench.run import main

if __name__ == "__main__":
    sys.exit(main())
