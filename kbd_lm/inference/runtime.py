"""The TFLite interpreters that run a bundle: LiteRT (default) or tflite-runtime 2.14.

Both expose the same ``Interpreter`` API; nothing here imports TensorFlow.

>>> interp = make_interpreter(Path("dist/bundle/model.tflite"))   # doctest: +SKIP
>>> runner = interp.get_signature_runner("step")                    # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import numpy as np

Runtime = Literal["litert", "tflite-runtime"]
RUNTIMES: dict[str, str] = {"litert": "ai-edge-litert", "tflite-runtime": "tflite-runtime"}


def runtime_version(runtime: Runtime) -> str:
    try:
        return version(RUNTIMES[runtime])
    except KeyError:
        raise ValueError(f"unknown runtime {runtime!r}; expected one of {list(RUNTIMES)}") from None
    except PackageNotFoundError:
        # An ImportError naming the module, so that `kbd-lm` can name the extra to install.
        raise ModuleNotFoundError(
            f"runtime {runtime!r} is not installed (pip install {RUNTIMES[runtime]})",
            name=RUNTIMES[runtime].replace("-", "_"),
        ) from None


def make_interpreter(
    model_path: Path, runtime: Runtime = "litert", num_threads: int = 1, xnnpack: bool = True
):
    """Create an interpreter for ``model_path`` with ``num_threads`` threads.

    ``xnnpack`` keeps the default delegate (XNNPACK, as on Android); False uses the plain
    builtin kernels only.
    """
    if runtime == "litert":
        from ai_edge_litert import interpreter as mod
    elif runtime == "tflite-runtime":
        from tflite_runtime import interpreter as mod
    else:
        raise ValueError(f"unknown runtime {runtime!r}; expected one of {list(RUNTIMES)}")
    resolver = (
        mod.OpResolverType.AUTO if xnnpack else mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    return mod.Interpreter(
        model_path=str(model_path), num_threads=num_threads, experimental_op_resolver_type=resolver
    )


class StepModel:
    """The bundle's signatures at a fixed batch size: ``step`` and ``advance``.

    ``step(ids [B] int32, h [B, P], c [B, N]) -> (logprobs [B, V], h [B, P], c [B, N])``;
    ``advance(ids, h, c) -> (h, c)`` is the same cell without the output layer (about a fifth
    of the cost), for context tokens whose next-token distribution nobody reads. Bundles
    without ``advance`` fall back to ``step``.

    A model with fixed-batch signatures (``step{B}``, ``advance1``; ``export/signatures.py``)
    runs them as they are, so several batch sizes can share one interpreter (``interp``): the
    weights are loaded and packed for XNNPACK once (see :func:`open_step_models`). Otherwise
    the dynamic ``step`` is resized to ``batch``, which needs an interpreter of its own
    (resizing costs milliseconds, so a caller that needs two batch sizes keeps two).
    """

    def __init__(
        self,
        model_path: Path,
        batch: int = 1,
        runtime: Runtime = "litert",
        num_threads: int = 1,
        xnnpack: bool = True,
        interp=None,
    ) -> None:
        self.runtime, self.batch = runtime, batch
        self.interp = interp or make_interpreter(model_path, runtime, num_threads, xnnpack)
        signatures = self.interp._get_full_signature_list()
        if "step" not in signatures and f"step{batch}" not in signatures:
            raise ValueError(f"{model_path}: no 'step' signature (found {list(signatures)})")
        # The signatures live in different subgraphs; the wrapper's subgraph-indexed calls are
        # what SignatureRunner uses inside, without its per-call dict and resize checks (which
        # cost more than the model itself at every keystroke).
        self._wrap = self.interp._interpreter
        self._sig = {}
        dims, dynamic = {}, []
        for name in ("step", "advance"):
            sig = f"{name}{batch}" if f"{name}{batch}" in signatures else name
            if sig not in signatures or (interp is not None and sig == name):
                continue  # (a shared interpreter runs fixed-batch signatures only)
            runner = self.interp.get_signature_runner(sig)
            details = runner.get_input_details()  # name -> {"index", "shape", ...}
            dims = {key: int(d["shape"][-1]) for key, d in details.items() if key in ("h", "c")}
            self._sig[name] = (
                runner._subgraph_index,
                signatures[sig]["inputs"],
                signatures[sig]["outputs"],
            )
            if sig == name:
                dynamic.append(name)
        if "step" not in self._sig:
            raise ValueError(f"{model_path}: no 'step{batch}' signature to share")
        self.embed_dim, self.units = dims["h"], dims["c"]
        for name, (sub, inputs, _) in self._sig.items():
            if name in dynamic:
                shapes = {"ids": [batch], "h": [batch, self.embed_dim], "c": [batch, self.units]}
                for key, shape in shapes.items():
                    self._wrap.ResizeInputTensor(inputs[key], np.array(shape, np.int32), False, sub)
            self._wrap.AllocateTensors(sub)

    @property
    def has_advance(self) -> bool:
        return "advance" in self._sig

    def zero_state(self, batch: int | None = None):
        b = batch or self.batch
        return np.zeros((b, self.embed_dim), np.float32), np.zeros((b, self.units), np.float32)

    def _run(self, name: str, ids, h, c, outputs: tuple[str, ...]):
        """Set the inputs of signature ``name``, invoke it, return copies of ``outputs``."""
        wrap = self._wrap
        sub, inputs, out = self._sig[name]
        wrap.SetTensor(inputs["ids"], ids, sub)
        wrap.SetTensor(inputs["h"], h, sub)
        wrap.SetTensor(inputs["c"], c, sub)
        wrap.Invoke(sub)
        return tuple(wrap.GetTensor(out[key], sub) for key in outputs)

    def step(self, ids, h, c):
        """One step for ``batch`` rows; returns copies of (logprobs, h, c)."""
        return self._run("step", ids, h, c, ("logprobs", "h_out", "c_out"))

    def advance(self, ids, h, c):
        """The state after ``ids`` without the output layer; returns copies of (h, c)."""
        if "advance" not in self._sig:
            return self.step(ids, h, c)[1:]
        return self._run("advance", ids, h, c, ("h_out", "c_out"))

    def run_windows(self, windows):
        """Log-probs after the last token of each row of ``windows`` [batch, T], from zero state."""
        h, c = self.zero_state()
        logp = None
        for t in range(windows.shape[1]):
            logp, h, c = self.step(np.ascontiguousarray(windows[:, t], np.int32), h, c)
        return logp


def open_step_models(
    model_path: Path,
    batches: tuple[int, ...],
    runtime: Runtime = "litert",
    num_threads: int = 1,
    xnnpack: bool = True,
) -> dict[int, StepModel]:
    """A :class:`StepModel` per batch size, smallest first, sharing one interpreter where the
    model has the fixed-batch signatures (every bundle since format 2: ``step1/2/4/8``).

    One interpreter holds the weights once: four separate ones (one per batch size) took
    about twice the memory and start-up time (docs/experiments.md). Batch sizes without a
    fixed signature get an interpreter of their own, resized.

    >>> models = open_step_models(Path("dist/bundle/model.tflite"), (1, 8))  # doctest: +SKIP
    >>> models[8].step(ids, h, c)[0].shape                                     # doctest: +SKIP
    (8, 8000)
    """
    shared = make_interpreter(model_path, runtime, num_threads, xnnpack)
    signatures = shared._get_full_signature_list()
    models = {}
    for b in sorted(set(batches)):
        if f"step{b}" in signatures:
            models[b] = StepModel(model_path, b, runtime, num_threads, xnnpack, interp=shared)
        else:
            models[b] = StepModel(model_path, b, runtime, num_threads, xnnpack)
    return models


def _main() -> None:
    """``python -m kbd_lm.inference.runtime MODEL WINDOWS.npy OUT.npy RUNTIME``: run in a
    clean process.

    Export uses this to check tflite-runtime, which must not share a process with TensorFlow.
    """
    import sys

    import numpy as np

    model, windows_path, out_path, runtime = sys.argv[1:5]
    windows = np.load(windows_path)
    step = StepModel(Path(model), batch=windows.shape[0], runtime=runtime)  # type: ignore[arg-type]
    np.save(out_path, step.run_windows(windows))


if __name__ == "__main__":
    _main()
