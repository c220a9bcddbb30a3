"""The native engine: ``Predictor.load(bundle, engine="native")`` answers from ``libkbd_lm.so``.

The native decoder (``native/``, docs/native.md) answers ``suggest`` as the Python predictor
does, from the same bundle, on LiteRT's C API. This module calls its C interface
(``native/include/kbd_lm.h``) through :mod:`ctypes`, so ``pip install kbd-lm`` needs no
compiler; the library is built with ``make native``. It is found at :data:`LIB_ENV` (a path)
or else at ``native/build/libkbd_lm.so`` of the source tree. There is no fallback: without
the library, :func:`load_library` raises :class:`NativeLibraryError` naming the file.

>>> p = NativePredictor.load("dist/bundle")                       # doctest: +SKIP
>>> [s.word for s in p.suggest("see you ")]                       # doctest: +SKIP
['tomorrow', 'later', 'soon']
>>> h = p.new_history(); h.learn("lunch at Quattro?")             # doctest: +SKIP
3
>>> [s.word for s in p.suggest("see you at Qu", history=h)]       # doctest: +SKIP
['Quattro', ...]
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import re
import threading
import weakref
from pathlib import Path

from kbd_lm.history.user_history import save_history_file
from kbd_lm.inference.bundle import BundleError
from kbd_lm.inference.suggestion import KINDS, Suggestion

log = logging.getLogger(__name__)

LIB_ENV = "KBD_LM_NATIVE_LIB"  # a path to libkbd_lm.so, overriding the build folder's
# Where `make native` writes the library (Makefile's NATIVE_LIB), from the source tree's root.
BUILT_LIB = Path("native") / "build" / "libkbd_lm.so"
_ROOT = Path(__file__).resolve().parents[2]  # kbd_lm/inference/ -> the source tree

# kbd_lm_status (kbd_lm.h)
OK, ERR_ARGUMENT, ERR_BUNDLE, ERR_NOT_IMPLEMENTED = 0, 1, 2, 5
_SURROGATES = re.compile("[\ud800-\udfff]")


class NativeLibraryError(RuntimeError):
    """``libkbd_lm.so`` is missing or cannot be loaded (the CLI exits 2 with the message)."""


class NativeError(RuntimeError):
    """The library failed with KBD_LM_ERR_RUNTIME, _MEMORY or _INTERNAL (message included)."""


class _Suggestion(ctypes.Structure):
    # kind: kbd_lm_kind (0 next, 1 completion, 2 correction), the order of suggestion.KINDS
    _fields_ = [("word", ctypes.c_char_p), ("probability", ctypes.c_double), ("kind", ctypes.c_int)]


class _Suggestions(ctypes.Structure):
    # autocorrect: 1 when items[0] is what space commits
    _fields_ = [
        ("count", ctypes.c_size_t),
        ("items", ctypes.POINTER(_Suggestion)),
        ("autocorrect", ctypes.c_int),
    ]


class _Options(ctypes.Structure):
    _fields_ = [
        ("hint", ctypes.c_char_p),
        ("history", ctypes.c_void_p),
        ("correction", ctypes.c_int),
    ]


class _Typing(ctypes.Structure):
    # taps: 2 * tap_count doubles, x and y per letter (NaN, NaN: none for that letter)
    _fields_ = [
        ("layout", ctypes.c_char_p),
        ("taps", ctypes.POINTER(ctypes.c_double)),
        ("tap_count", ctypes.c_size_t),
    ]


class _Input(ctypes.Structure):
    _fields_ = [
        ("context", ctypes.c_char_p),
        ("partial", ctypes.c_char_p),
        ("ids", ctypes.POINTER(ctypes.c_int32)),
        ("count", ctypes.c_size_t),
    ]


_P, _S, _SZ = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
# name -> (argument types, result type); every kbd_lm_status function returns c_int
_SIGNATURES = {
    "kbd_lm_version": ([], _S),
    "kbd_lm_last_error": ([], _S),
    "kbd_lm_status_name": ([ctypes.c_int], _S),
    "kbd_lm_open": ([_S, ctypes.POINTER(_P)], ctypes.c_int),
    "kbd_lm_free": ([_P], None),
    "kbd_lm_suggest": (
        [
            _P,
            _S,
            _SZ,
            ctypes.c_int,
            ctypes.POINTER(_Options),
            ctypes.POINTER(ctypes.POINTER(_Suggestions)),
        ],
        ctypes.c_int,
    ),
    "kbd_lm_suggest_typing": (
        [
            _P,
            _S,
            _SZ,
            ctypes.c_int,
            ctypes.POINTER(_Options),
            ctypes.POINTER(_Typing),
            ctypes.POINTER(ctypes.POINTER(_Suggestions)),
        ],
        ctypes.c_int,
    ),
    "kbd_lm_suggestions_free": ([ctypes.POINTER(_Suggestions)], None),
    "kbd_lm_clear_cache": ([_P], ctypes.c_int),
    "kbd_lm_decode_input": (
        [_P, _S, _SZ, _S, ctypes.POINTER(ctypes.POINTER(_Input))],
        ctypes.c_int,
    ),
    "kbd_lm_input_free": ([ctypes.POINTER(_Input)], None),
    "kbd_lm_blocklist_add": ([_P, _S], ctypes.c_int),
    "kbd_lm_blocklist_remove": ([_P, _S], ctypes.c_int),
    "kbd_lm_blocklist_enable": ([_P, ctypes.c_int], ctypes.c_int),
    "kbd_lm_history_create": ([_P, ctypes.POINTER(_P)], ctypes.c_int),
    "kbd_lm_history_learn": ([_P, _S, _SZ, _S, ctypes.POINTER(_SZ)], ctypes.c_int),
    "kbd_lm_history_forget": ([_P, _S, ctypes.POINTER(ctypes.c_int)], ctypes.c_int),
    "kbd_lm_history_save": (
        [_P, ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(_SZ)],
        ctypes.c_int,
    ),
    "kbd_lm_history_load": ([_P, ctypes.c_char_p, _SZ, ctypes.POINTER(_P)], ctypes.c_int),
    "kbd_lm_history_free": ([_P], None),
    "kbd_lm_bytes_free": ([ctypes.POINTER(ctypes.c_uint8)], None),
}

_loaded: dict[Path, ctypes.CDLL] = {}
_lock = threading.Lock()


def library_path() -> Path:
    """The library this process uses: ``$KBD_LM_NATIVE_LIB``, else ``native/build/libkbd_lm.so``
    of the source tree (``make native`` writes it)."""
    given = os.environ.get(LIB_ENV)
    return Path(given).resolve() if given else _ROOT / BUILT_LIB


def load_library(path: str | Path | None = None) -> tuple[ctypes.CDLL, Path]:
    """(the loaded library with its functions declared, its path); loaded once per path.

    Raises :class:`NativeLibraryError` naming the file when it is missing or cannot be
    loaded (for example a ``libLiteRt.so`` it needs is not found).
    """
    path = Path(path).resolve() if path is not None else library_path()
    with _lock:
        if path in _loaded:
            return _loaded[path], path
        if not path.is_file():
            raise NativeLibraryError(
                f"native engine: {path} not found: build it with `make native`, or set "
                f"{LIB_ENV} to a libkbd_lm.so (the native engine never falls back to Python)"
            )
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as err:
            raise NativeLibraryError(f"native engine: {path} cannot be loaded: {err}") from err
        for name, (args, result) in _SIGNATURES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError as err:
                raise NativeLibraryError(f"native engine: {path} has no {name}()") from err
            fn.argtypes, fn.restype = args, result
        _loaded[path] = lib
        log.debug("native engine: %s (libkbd_lm %s)", path, lib.kbd_lm_version().decode())
        return lib, path


def _check(lib: ctypes.CDLL, status: int, what: str) -> None:
    """Raise the Python error for a kbd_lm_status: ValueError for a bad argument (as the
    Python predictor raises for an unknown hint), BundleError, NotImplementedError or
    NativeError, with the library's message (the calling thread's last error)."""
    if status == OK:
        return
    message = f"{what}: {lib.kbd_lm_last_error().decode('utf-8', 'replace')}"
    if status == ERR_ARGUMENT:
        raise ValueError(message)
    if status == ERR_BUNDLE:
        raise BundleError(message)
    if status == ERR_NOT_IMPLEMENTED:
        raise NotImplementedError(message)
    raise NativeError(f"{lib.kbd_lm_status_name(status).decode()}: {message}")


def _utf8(text: str | None) -> bytes:
    """``text`` as the library reads it: UTF-8 (None is "", as for the Python predictor).

    A Python string may hold lone surrogates, which have no UTF-8 (the library refuses
    what is not UTF-8). Normalisation drops them (category Cs, decoding.md section 1), so
    each becomes U+FFFF, which it drops as well (Cn): one code point for one, so that where
    the reading starts (counted in code points, section 2) and the answer stay Python's.
    """
    text = text or ""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\uffff", text).encode("utf-8")


class NativeHistory:
    """A user's personal history held by the native library (``kbd_lm_history_*``), for
    ``NativePredictor.suggest(history=...)``. Learns and saves as
    :class:`~kbd_lm.history.user_history.UserHistory` does: the file is the same, byte for
    byte, so ``to_bytes`` of one is ``from_bytes`` of the other.

    >>> h = NativePredictor.load("dist/bundle").new_history()   # doctest: +SKIP
    >>> h.learn("see you at the Krusty Krab"), h.forget("krusty")  # doctest: +SKIP
    (7, True)
    """

    def __init__(self, lib: ctypes.CDLL, handle: ctypes.c_void_p) -> None:
        self._lib, self._handle = lib, handle
        self._finalizer = weakref.finalize(self, lib.kbd_lm_history_free, handle)
        self.load_error: str | None = None  # why the file it was loaded from was not read

    def learn(self, text: str, field: str = "text") -> int:
        """Learn a committed text; returns the number of words learned (0 in a sensitive
        field: "password", "email", "url", "number", "incognito")."""
        data, learned = _utf8(text), ctypes.c_size_t(0)
        status = self._lib.kbd_lm_history_learn(
            self._handle, data, len(data), _utf8(field), ctypes.byref(learned)
        )
        _check(self._lib, status, "history learn")
        return learned.value

    def forget(self, word: str) -> bool:
        """Remove ``word`` and every sequence holding it; whether it was there."""
        found = ctypes.c_int(0)
        status = self._lib.kbd_lm_history_forget(self._handle, _utf8(word), ctypes.byref(found))
        _check(self._lib, status, "history forget")
        return bool(found.value)

    def to_bytes(self) -> bytes:
        """The history file (kbd_lm/history/user_history.py's format)."""
        out, size = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_size_t(0)
        status = self._lib.kbd_lm_history_save(self._handle, ctypes.byref(out), ctypes.byref(size))
        _check(self._lib, status, "history save")
        try:
            return ctypes.string_at(out, size.value)
        finally:
            self._lib.kbd_lm_bytes_free(out)

    def save(self, path: str | os.PathLike) -> None:
        """Write the history to ``path`` atomically, as ``UserHistory.save`` does (a damaged
        file it replaces is kept aside as ``<name>.damaged``)."""
        save_history_file(self, path)

    def close(self) -> None:
        """Free the native history now (else when it is garbage collected)."""
        self._finalizer()


class NativePredictor:
    """Suggests words from a bundle through ``libkbd_lm.so``: the same :class:`Suggestion`
    lists as :class:`~kbd_lm.inference.predictor.Predictor`. One instance may be shared by
    threads (the library serialises calls on it; ctypes releases the GIL during them)."""

    def __init__(self, bundle_dir: str | Path, library: str | Path | None = None) -> None:
        """Open ``bundle_dir`` with the library (``library``, else :func:`library_path`).
        Raises NativeLibraryError without the library, BundleError for a bundle it refuses
        (a damaged n-gram file included, naming it and the field)."""
        self._lib, self.library = load_library(library)
        self.path = Path(bundle_dir)
        handle = ctypes.c_void_p()
        status = self._lib.kbd_lm_open(_utf8(str(self.path)), ctypes.byref(handle))
        _check(self._lib, status, f"native engine: {self.path}")
        self._handle = handle
        self._finalizer = weakref.finalize(self, self._lib.kbd_lm_free, handle)

    @classmethod
    def load(cls, bundle_dir: str | Path, library: str | Path | None = None) -> NativePredictor:
        """Open a bundle folder (the library checks its manifest and checksums)."""
        return cls(bundle_dir, library)

    @property
    def version(self) -> str:
        """The library's version, pyproject.toml's (for example "0.10.0.dev0")."""
        return self._lib.kbd_lm_version().decode()

    def close(self) -> None:
        """Free the native predictor now (else when it is garbage collected)."""
        self._finalizer()

    def new_history(self) -> NativeHistory:
        """An empty history that reads text with this bundle's tables."""
        handle = ctypes.c_void_p()
        _check(
            self._lib,
            self._lib.kbd_lm_history_create(self._handle, ctypes.byref(handle)),
            "history",
        )
        return NativeHistory(self._lib, handle)

    def history_from_bytes(self, data: bytes) -> NativeHistory:
        """A history read from its file's bytes (as ``UserHistory.to_bytes`` writes them); a
        damaged file is a ValueError naming the line."""
        handle = ctypes.c_void_p()
        status = self._lib.kbd_lm_history_load(self._handle, data, len(data), ctypes.byref(handle))
        _check(self._lib, status, "history load")
        return NativeHistory(self._lib, handle)

    def load_history(self, path: str | os.PathLike, strict: bool = False) -> NativeHistory:
        """Read a history file as ``UserHistory.load`` does: a missing file is an empty
        history; a damaged one raises ValueError if ``strict``, else is logged and gives an
        empty history with the message in ``load_error``."""
        path = Path(path)
        try:
            return self.history_from_bytes(path.read_bytes())
        except FileNotFoundError:
            return self.new_history()
        except OSError as err:
            problem = ValueError(f"{path}: cannot read ({err.strerror or err})")
        except ValueError as err:
            problem = ValueError(f"{path}: {err}")
        if strict:
            raise problem
        log.warning("%s; starting with an empty history", problem)
        history = self.new_history()
        history.load_error = str(problem)
        return history

    def suggest(
        self,
        text: str,
        k: int = 3,
        history: NativeHistory | None = None,
        hint: str | None = None,
        correct: bool = False,
        layout: str | None = None,
        taps: object = None,
    ) -> list[Suggestion]:
        """Up to ``k`` words, best first, for the text before the cursor (as
        :meth:`Predictor.suggest <kbd_lm.inference.predictor.Predictor.suggest>`, each with
        its ``kind`` and ``autocorrect``). ``correct=True``: typo correction on the keyboard
        ``layout`` (None: "qwerty"), with the touch points ``taps`` ((x, y) in key units or
        None, one per letter of the partial word) when given; a bad layout or taps is a
        ValueError."""
        if history is not None and not isinstance(history, NativeHistory):
            raise TypeError(
                f"the native engine mixes a NativeHistory (predictor.new_history()), not a "
                f"{type(history).__name__}: pass its bytes to history_from_bytes()"
            )
        options = _Options(None if hint is None else _utf8(hint), None, int(bool(correct)))
        if history is not None:
            options.history = history._handle
        data = _utf8(text)
        typing = _typing(layout, taps)
        out = ctypes.POINTER(_Suggestions)()
        status = self._lib.kbd_lm_suggest_typing(
            self._handle,
            data,
            len(data),
            k,
            ctypes.byref(options),
            ctypes.byref(typing),
            ctypes.byref(out),
        )
        _check(self._lib, status, "suggest")
        try:
            got = out.contents
            return [
                Suggestion(
                    s.word.decode("utf-8"),
                    s.probability,
                    KINDS[s.kind],
                    autocorrect=bool(got.autocorrect) and i == 0,
                )
                for i, s in enumerate(got.items[j] for j in range(got.count))
            ]
        finally:
            self._lib.kbd_lm_suggestions_free(out)

    def clear_cache(self) -> None:
        """Forget every cached context state, model row and correction prior (as
        :meth:`Predictor.clear_cache <kbd_lm.inference.predictor.Predictor.clear_cache>`)."""
        _check(self._lib, self._lib.kbd_lm_clear_cache(self._handle), "clear_cache")

    def decode_input(self, text: str, hint: str | None = None) -> tuple[str, str, list[int]]:
        """(context, partial word, model input ids) of the text before the cursor."""
        data = _utf8(text)
        out = ctypes.POINTER(_Input)()
        status = self._lib.kbd_lm_decode_input(
            self._handle, data, len(data), None if hint is None else _utf8(hint), ctypes.byref(out)
        )
        _check(self._lib, status, "decode_input")
        try:
            got = out.contents
            ids = [got.ids[i] for i in range(got.count)]
            return got.context.decode("utf-8"), got.partial.decode("utf-8"), ids
        finally:
            self._lib.kbd_lm_input_free(out)

    def block(self, entry: str) -> None:
        """Add a word or phrase to the blocklist."""
        _check(self._lib, self._lib.kbd_lm_blocklist_add(self._handle, _utf8(entry)), "blocklist")

    def unblock(self, entry: str) -> None:
        """Remove a word or phrase from the blocklist."""
        status = self._lib.kbd_lm_blocklist_remove(self._handle, _utf8(entry))
        _check(self._lib, status, "blocklist")

    def enable_blocklist(self, enabled: bool) -> None:
        """Switch the blocklist filter on or off."""
        status = self._lib.kbd_lm_blocklist_enable(self._handle, int(enabled))
        _check(self._lib, status, "blocklist")


def _typing(layout: str | None, taps) -> _Typing:
    """The C struct of a call's keyboard: ``taps`` a sequence of (x, y) or None per letter.

    >>> t = _typing("azerty", [(0.5, 1.5), None]); (t.layout, t.tap_count, t.taps[1], t.taps[2])
    (b'azerty', 2, 1.5, nan)
    """
    typing = _Typing(None if layout is None else _utf8(layout), None, 0)
    if taps is not None:
        flat = []
        for tap in taps:
            flat.extend((math.nan, math.nan) if tap is None else (float(tap[0]), float(tap[1])))
        typing.taps = (ctypes.c_double * len(flat))(*flat)
        typing.tap_count = len(flat) // 2
    return typing


def run_native(predictor: NativePredictor, cases: list[dict]) -> list[dict]:
    """The native engine's results on conformance ``cases``, in the form
    :func:`~kbd_lm.inference.conformance.compare_results` reads: as
    :func:`~kbd_lm.inference.conformance.run_python`, with a :class:`NativeHistory` for a
    case that learns and the library's blocklist for one that adds to it; a typo case
    (``"correct": true``) with correction on its layout and taps, its kinds and
    autocorrection in the results."""
    from kbd_lm.inference.conformance import case_result, case_typing

    results = []
    for case in cases:
        typing = case_typing(case)
        hint = case.get("hint")
        decoded = predictor.decode_input(case["text"], hint=hint)
        history = None
        if case.get("learn"):
            history = predictor.new_history()
            for message in case["learn"]:
                history.learn(message["text"], message.get("field", "text"))
        added = case.get("blocklist_add") or []
        for entry in added:
            predictor.block(entry)
        try:
            got = predictor.suggest(case["text"], k=case["k"], history=history, hint=hint, **typing)
        finally:
            for entry in added:
                predictor.unblock(entry)
            if history is not None:
                history.close()
        results.append(case_result(case, decoded, got))
    return results


def check_native(bundle_dir: str | Path, library: str | Path | None = None):
    """Run the native engine on every conformance vector of ``bundle_dir``: (the
    :class:`~kbd_lm.inference.conformance.Report`, the library's path). Compared with the
    tolerance of the ``litert`` runtime, which the library runs on; typo cases too."""
    from kbd_lm.inference.bundle import CONFORMANCE_FILE
    from kbd_lm.inference.conformance import compare_results, read_vectors
    from kbd_lm.inference.tolerance import tolerance_for

    predictor = NativePredictor.load(bundle_dir, library)
    path = Path(bundle_dir) / CONFORMANCE_FILE
    if not path.is_file():
        raise BundleError(f"{path}: no conformance vectors (re-export the bundle)")
    header, cases = read_vectors(path)
    results = run_native(predictor, cases)
    tol = tolerance_for(header, "litert")
    return compare_results(cases, results, tol), predictor.library
