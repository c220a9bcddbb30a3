"""The predictor on a real tiny bundle, in the real LiteRT interpreter."""

import math
import subprocess
import sys

import pytest

from kbd_lm.inference.predictor import Predictor
from kbd_lm.text.normalization import WORD_RE


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.load(tiny_bundle)


def words_of(suggestions):
    return [s.word for s in suggestions]


def test_learned_next_words(predictor):
    # The fixture corpus always continues these phrases the same few ways.
    see_you = words_of(predictor.suggest("see you ", k=3))
    assert len(see_you) == 3 and set(see_you) <= {"tomorrow", "later", "soon"}
    assert words_of(predictor.suggest("thank you so "))[0] == "much"
    assert words_of(predictor.suggest("what are you up "))[0] == "to"


@pytest.mark.parametrize("text", ["see you ", "I ", "", "we lo", "how are yo", "Anna, "])
def test_suggestions_are_distinct_whole_words_best_first(predictor, text):
    suggestions = predictor.suggest(text, k=5)
    assert suggestions, text
    words = words_of(suggestions)
    assert all(WORD_RE.fullmatch(w) for w in words)  # no fragments, bytes or control tokens
    assert len({w.lower() for w in words}) == len(words)
    probs = [s.probability for s in suggestions]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)


def test_completion_follows_typed_letters_not_tokenization(predictor):
    for partial in ["to", "tom", "tomo", "tomorro"]:
        words = words_of(predictor.suggest(f"see you {partial}", k=3))
        assert words and all(w.startswith(partial) for w in words)
        assert "tomorrow" in words


@pytest.mark.parametrize("text", ["see you soon", "see you Tomorrow", "I", "how are you", "we lo"])
def test_the_typed_letters_are_never_a_suggestion(predictor, text):
    # A suggestion equal to the letters typed saves no keystroke and the keyboard shows them
    # already: completions are longer (kbd_lm.text.normalization.completes), whatever the
    # model's end.
    typed = text.split()[-1]
    words = words_of(predictor.suggest(text, k=10))
    assert all(len(w) > len(typed) and w.startswith(typed) for w in words), words


def test_the_typed_letters_as_a_whole_word_bound_the_search():
    # No longer word: the floor is the best word's MIN_RATIO share, or nothing to beat.
    from kbd_lm.inference.bundle import DecodingSpec
    from kbd_lm.inference.search import Final, WordSearch

    MIN_RATIO = DecodingSpec().min_ratio

    def floor(finals, k, typed=-math.inf):
        return WordSearch.floor(finals, k, typed, MIN_RATIO)

    assert floor({}, 3) == -math.inf
    # The typed letters as a whole word (log 0.5) set the floor when no word is found yet:
    # "thinkings" after "thinking" is not worth a beam below half a MIN_RATIO.
    assert floor({}, 3, math.log(0.5)) == pytest.approx(math.log(0.5 * MIN_RATIO))
    # ... and when the words found are less likely than them.
    finals = {"ab": Final("ab", math.log(0.01), 0.01)}
    assert floor(finals, 3, math.log(0.5)) == pytest.approx(math.log(0.5 * MIN_RATIO))
    # A likelier word found, or k words found, decide as before.
    assert floor(finals, 3, math.log(1e-9)) == pytest.approx(math.log(0.01 * MIN_RATIO))
    finals = {w: Final(w, 0.0, p) for w, p in (("a", 0.4), ("b", 0.3), ("c", 0.2))}
    assert floor(finals, 3, math.log(0.5)) == pytest.approx(math.log(0.2))


def test_casing(predictor):
    assert predictor.suggest("see you Tom")[0].word.startswith("Tom")  # the user's casing
    first = predictor.suggest("")[0].word  # first word of a message is capitalised
    assert first[0].isupper()
    after_stop = predictor.suggest("see you soon. ")
    assert all(s.word[0].isupper() for s in after_stop)
    assert "I" in words_of(predictor.suggest("", k=10))  # "I" keeps its case


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t",
        "x" * 100_000,
        "word " * 20_000,
        "😀😀 ",
        "日本語 ",
        "Привет мир ",
        "\x00\x07\x1b[31m",
        "\ud800 lone surrogate ",
        "e\u0301",
        "' ",
        "don'",
    ],
)
def test_bad_input_never_raises(predictor, text):
    suggestions = predictor.suggest(text, k=3)
    assert isinstance(suggestions, list) and len(suggestions) <= 3
    assert all(WORD_RE.fullmatch(s.word) for s in suggestions)


def test_cache_does_not_change_answers(tiny_bundle):
    warm = Predictor.load(tiny_bundle)
    texts = ["I like pizza a lot ", "I like pizza a lot see you ", "I like p", "I like pi"]
    warm_answers = [warm.suggest(t) for t in texts]
    cold_answers = [Predictor.load(tiny_bundle).suggest(t) for t in texts]
    assert warm_answers == cold_answers
    assert warm._cache  # the contexts above are cached ...
    warm.clear_cache()  # ... until a new text field (what the bench times) clears them
    assert not warm._cache
    assert [warm.suggest(t) for t in texts] == cold_answers


def test_row_cache_reuses_rows_without_changing_answers(tiny_bundle, monkeypatch):
    # Typing a word letter by letter: later letters revisit the beams of earlier ones.
    from kbd_lm.inference.runtime import StepModel

    typed = ["see you ", *("see you " + "tomorrow"[:n] for n in range(1, 9))]
    cached, fresh = Predictor.load(tiny_bundle), Predictor.load(tiny_bundle)
    rows = {id(cached.ctx_model.interp): 0, id(fresh.ctx_model.interp): 0}
    step = StepModel.step

    def counting_step(self, ids, h, c):
        rows[id(self.interp)] += self.batch
        return step(self, ids, h, c)

    monkeypatch.setattr(StepModel, "step", counting_step)
    for text in typed:
        fresh._words.rows.clear()  # the same predictor without the rows of earlier keystrokes
        assert cached.suggest(text) == fresh.suggest(text), text
    assert rows[id(cached.ctx_model.interp)] < rows[id(fresh.ctx_model.interp)]
    assert 0 < len(cached._words.rows) <= cached.decoding.row_cache == 64  # bounded


def test_restored_caches_make_a_call_do_its_work_again(tiny_bundle, monkeypatch):
    # What the history bench relies on to time two calls fairly.
    from kbd_lm.inference.runtime import StepModel

    p = Predictor.load(tiny_bundle)
    p.suggest("see you ")
    state = p.cache_state()
    rows = []
    step = StepModel.step
    monkeypatch.setattr(StepModel, "step", lambda m, *a: rows.append(m.batch) or step(m, *a))

    def work(text):
        rows.clear()
        answer = p.suggest(text)
        return answer, sum(rows)

    first = work("see you to")
    assert first[1] > 0
    assert work("see you to") == (first[0], 0)  # all cached
    p.restore_cache(state)
    assert work("see you to") == first


def test_a_long_text_is_read_from_a_start_that_moves_in_steps(predictor):
    from kbd_lm.inference.predictor import context_start

    text = "see you later my friend and thank you so much for that " * 20  # 1,100 characters
    # Digits are a piece each: a context of more than 160 pieces is read as its last 48.
    assert len(predictor.decode_input("0123456789 " * 30)[2]) == 48
    assert [context_start(n) for n in (300, 301, 428, 429, 949)] == [0, 128, 128, 256, 768]
    for length in (428, 429, 700):
        cut = text[:length]
        context, _, ids = predictor.decode_input(cut)
        start = context_start(length)
        assert cut[start:].split(" ", 1)[1].startswith(context)  # first (cut) word dropped
        assert ids[0] == 2 and len(ids) <= 160
    # Between two moves the context only grows at its end: its pieces stay a prefix.
    ids_a = predictor.decode_input(text[:430] + " ")[2]
    ids_b = predictor.decode_input(text[:550] + " ")[2]
    assert ids_b[: len(ids_a)] == ids_a


def test_typing_a_long_text_runs_a_few_pieces_per_word(tiny_bundle, monkeypatch):
    # The state for the next reading start is prepared word by word, so the keystroke that
    # moves the start runs no whole context; answers are those of a cold predictor.
    from kbd_lm.inference.runtime import StepModel

    warm = Predictor.load(tiny_bundle)
    pieces = []
    advance, step = StepModel.advance, StepModel.step

    def counting(method):
        def run(self, ids, h, c):
            if self.batch == 1:
                pieces.append(1)
            return method(self, ids, h, c)

        return run

    text = "see you later my friend and thank you so much for that " * 16  # 880 characters
    cuts = [i + 1 for i, ch in enumerate(text) if ch == " "]
    per_word = []
    for cut in cuts:
        monkeypatch.setattr(StepModel, "advance", counting(advance))
        monkeypatch.setattr(StepModel, "step", counting(step))
        pieces.clear()
        answer = warm.suggest(text[:cut])
        per_word.append(len(pieces))
        monkeypatch.setattr(StepModel, "advance", advance)
        monkeypatch.setattr(StepModel, "step", step)
        if cut in cuts[::7]:
            assert answer == Predictor.load(tiny_bundle).suggest(text[:cut]), cut
    # A whole context here is 84-150 of the tiny model's pieces; a call runs its new word's
    # and at most 8 of the next start's context.
    assert max(per_word) <= 16, per_word
    assert sorted(per_word)[len(per_word) // 2] <= 12, per_word


def test_next_word_logprob_agrees_with_suggest(predictor):
    best = predictor.suggest("thank you so ", k=1)[0]
    logp = predictor.next_word_logprob("thank you so ", best.word)
    assert logp <= 0 and math.exp(logp) == pytest.approx(best.probability, rel=0.05)
    assert predictor.next_word_logprob("thank you so ", "zebra") < logp
    assert math.isfinite(predictor.next_word_logprob("", "qwxz"))


def test_next_word_logprobs_of_many_words_are_each_words(predictor):
    # more casing variants than a step has rows: the model runs on them in several steps
    words = ["you", "Tomorrow", "zebra", "qwxz", "I'm", "later", "hello", "the", "iPhone"]
    together = predictor.next_word_logprobs("thank you so ", words)
    alone = [predictor.next_word_logprob("thank you so ", w) for w in words]
    assert together == pytest.approx(alone, abs=1e-5)  # (another batch size: float noise)
    assert predictor.next_word_logprobs("thank you so ", []) == []


def test_tflite_runtime_runs_the_bundle_without_tensorflow_and_agrees_on_the_best_word(
    tiny_bundle, predictor
):
    texts = ["see you ", "I like ", "how are yo"]
    code = (
        "import sys; from kbd_lm.inference.predictor import Predictor;"
        "p = Predictor.load(sys.argv[1], runtime='tflite-runtime');"
        "assert 'tensorflow' not in sys.modules;"
        "[print('|'.join(s.word for s in p.suggest(t))) for t in sys.argv[2:]]"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tiny_bundle), *texts],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    old = out.stdout.strip().splitlines()
    new = ["|".join(words_of(predictor.suggest(t))) for t in texts]
    assert [len(line.split("|")) for line in old] == [3, 3, 3]
    agree = sum(a.split("|")[0] == b.split("|")[0] for a, b in zip(old, new, strict=True))
    assert agree >= 2  # dynamic-range kernels differ slightly between the two runtimes


def test_the_bundle_word_list_completes_words_the_beam_cannot_spell(tiny_bundle, tmp_path):
    import dataclasses
    import shutil

    from kbd_lm.inference import bundle as B
    from kbd_lm.inference.lexicon import FILE, Lexicon

    rare = "Supercalifragilistic"  # many pieces of a 400-piece vocabulary, never in training
    folders = {}
    for name in ("plain", "listed"):
        folder = folders[name] = tmp_path / name
        shutil.copytree(tiny_bundle, folder)
        manifest = B.Bundle.load(folder).manifest
        (folder / FILE).unlink()
        files = {n: e for n, e in manifest.files.items() if n != FILE}
        manifest = dataclasses.replace(manifest, files=files)
        if name == "listed":
            Lexicon({rare: 50, "see": 900, "soon": 400}).save(folder / FILE)
            manifest = manifest.with_file(folder, FILE, shipped=True)
        B.write(folder, manifest)

    plain, listed = Predictor.load(folders["plain"]), Predictor.load(folders["listed"])
    assert plain.lexicon is None and listed.lexicon is not None
    typed = "supercalifragilistic"  # suggestions keep the letters as the user typed them
    made_up = words_of(plain.suggest("I like supe", k=3))
    assert made_up and typed not in made_up
    # The model's own spellings of "supe..." are words the list does not hold: they keep a
    # thousandth of their probability (lexicon.UNLISTED), and the listed word comes first.
    got = listed.suggest("I like supe", k=3)
    assert got[0].word == typed
    assert [s.word for s in got[1:]] == made_up[:2]
    plain_p = {s.word: s.probability for s in plain.suggest("I like supe", k=3)}
    for s in got[1:]:
        assert s.probability == pytest.approx(0.9 * 0.001 * plain_p[s.word], rel=1e-6)
    # A listed word typed in full is no completion of itself.
    assert "see" not in [w.lower() for w in words_of(listed.suggest("we see", k=10))]
    # The word list knows no context: a next word is the model's alone.
    assert listed.suggest("see you ", k=3) == plain.suggest("see you ", k=3)
    # Probabilities stay those of a distribution over the words that fit the letters.
    total = sum(s.probability for s in listed.suggest("I like s", k=10))
    assert 0 < total <= 1.0 + 1e-9


def _rewritten(tiny_bundle, folder, edit):
    """A copy of the tiny bundle whose manifest document ``edit(doc)`` changed."""
    import json
    import shutil

    from kbd_lm.inference import bundle as B

    shutil.copytree(tiny_bundle, folder)
    doc = B.read(folder).to_json()
    edit(doc)
    (folder / B.MANIFEST_FILE).write_text(json.dumps(doc))
    return folder


def test_the_beam_width_and_the_constants_are_the_bundles(predictor, tiny_bundle, tmp_path):
    from kbd_lm.inference.bundle import BundleError

    assert predictor.beam_width == predictor.decoding.beam_width == 8
    assert list(predictor._words.models) == [1, 2, 4, 8]  # the bundle's batch sizes
    assert predictor._cache_size == predictor.decoding.context_cache == 128
    narrow = Predictor.load(tiny_bundle, beam_width=3)
    assert narrow.beam_width == 3 and list(narrow._words.models) == [1, 2, 3]
    with pytest.raises(BundleError, match="beam width of 9 is not possible .* beam width is 8"):
        Predictor.load(tiny_bundle, beam_width=9)

    def other_constants(doc):
        doc["decoding"].update(max_context_tokens=3, short_context_tokens=2)
        doc["decoding"].update(field_hints=["message"])

    other = Predictor.load(_rewritten(tiny_bundle, tmp_path / "other", other_constants))
    text = "I like pizza a lot and "
    _, _, ids = predictor.decode_input(text)
    assert len(ids) > 3 and other.decode_input(text)[2] == ids[-2:]
    with pytest.raises(ValueError, match="unknown hint 'email': use one of message or none"):
        other.suggest("see you ", hint="email")


def test_a_format_2_bundle_answers_as_before(predictor, tiny_bundle, tmp_path):
    """A bundle as kbd-lm 0.8 wrote it: no decoding section, no file roles."""

    def as_format_2(doc):
        doc["format_version"] = 2
        del doc["decoding"]
        for entry in doc["files"].values():
            del entry["role"]

    old = Predictor.load(_rewritten(tiny_bundle, tmp_path / "v2", as_format_2))
    assert old.decoding == predictor.decoding and old.beam_width == 8
    for text in ("see you ", "see you tom", "", "ok. ", "x" * 400 + " see yo"):
        assert old.suggest(text, k=5) == predictor.suggest(text, k=5), text
