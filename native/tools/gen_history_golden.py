"""Write native/tests/data/history_golden.jsonl: message sequences and the history file the
Python UserHistory (kbd_lm/history/user_history.py) writes after learning them, which the
native history must write byte for byte (native/tests/history.cc).

    .venv/bin/python native/tools/gen_history_golden.py > native/tests/data/history_golden.jsonl
"""

import json
import sys

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


def main() -> None:
    for messages in SEQUENCES:
        history = UserHistory()
        for text, field in messages:
            history.learn(text, field)
        data = history.to_bytes().decode("utf-8")
        sys.stdout.write(json.dumps({"learn": messages, "file": data}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
