"""Write the history ctest's golden file: message sequences and the history file the Python
UserHistory (kbd_lm/history/user_history.py) writes after learning them, which the native
history must write byte for byte (native/tests/history.cc). ctest runs it (the fixture
history_golden, native/CMakeLists.txt), so the file is never committed:

    .venv/bin/python native/tools/gen_history_golden.py native/build/history_golden.jsonl
"""

import json
import sys
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.history.user_history import UserHistory

# Each sequence exercises a rule of docs/decoding.md section 9.2.
SEQUENCES = [
    [["see you at Anneliese's place", "text"], ["see you soon", "text"]],
    [["Call 555 123 4567. Ok bye", "text"], ["my pin is 1234", "password"]],
    [["mail me at a.b@example.co.uk or www.Example.com/x now", "text"]],
    [["visit example.com-foo and http://x.y today", "text"], ["ſtuff.uk and K.co", "text"]],
    [["hunter2024 is not a word but a8f3k2l9x0 is neither", "text"]],
    [["İstanbul and ΟΔΟΣ Σ ok", "text"], ["I bought an iPhone. NASA said hi", "text"]],
    [["U.S. is big. Yes!! ok? fine", "text"], ["ok", "email"], ["Ok ok OK", "text"]],
    [["word " * 3 + "x" * 41 + " after", "text"], ["don't stop rock'n'roll", "text"]],
    [[f"message {i} about the weather in Paris", "text"] for i in range(30)],
]


def main(out: Path) -> None:
    lines = []
    for messages in SEQUENCES:
        history = UserHistory()
        for text, field in messages:
            history.learn(text, field)
        data = history.to_bytes().decode("utf-8")
        lines.append(json.dumps({"learn": messages, "file": data}, ensure_ascii=False) + "\n")
    atomic_write_text(out, "".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
