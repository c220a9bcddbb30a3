"""The TFLite interpreters that run a bundle: LiteRT (default) or tflite-runtime 2.14.

Both expose the same ``Interpreter`` API; nothing here imports TensorFlow.

>>> interp = make_interpreter(Path("dist/bundle/model.tflite"))   # doctest: +SKIP
>>> runner = interp.get_signature_runner("step")                    # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

Runtime = Literal["litert", "tflite-runtime"]
RUNTIMES: dict[str, str] = {"litert": "ai-edge-litert", "tflite-runtime": "tflite-runtime"}


def runtime_version(runtime: Runtime) -> str:
    try:
        return version(RUNTIMES[runtime])
    except KeyError:
        raise ValueError(f"unknown runtime {runtime!r}; expected one of {list(RUNTIMES)}") from None
    except PackageNotFoundError:
        raise RuntimeError(
            f"runtime {runtime!r} is not installed (pip install {RUNTIMES[runtime]})"
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
    """The bundle's ``step`` signature in one interpreter, at a fixed batch size.

    ``step(ids [B] int32, h [B, P], c [B, N]) -> (logprobs [B, V], h [B, P], c [B, N])``.
    Resizing an interpreter costs milliseconds, so a caller that needs two batch sizes (one
    context, a beam) keeps two ``StepModel`` objects.
    """

    def __init__(
        self,
        model_path: Path,
        batch: int = 1,
        runtime: Runtime = "litert",
        num_threads: int = 1,
        xnnpack: bool = True,
        signature: str = "step",
    ) -> None:
        self.runtime, self.batch = runtime, batch
        self.interp = make_interpreter(model_path, runtime, num_threads, xnnpack)
        # Plain tensor access (set_tensor/invoke/get_tensor) by the signature's tensor indices:
        # cheaper per call than a SignatureRunner, which matters at every keystroke.
        signatures = self.interp._get_full_signature_list()
        if signature not in signatures:
            raise ValueError(f"{model_path}: no {signature!r} signature (found {list(signatures)})")
        self._in = signatures[signature]["inputs"]
        self._out = signatures[signature]["outputs"]
        details = {d["index"]: d for d in self.interp.get_input_details()}
        self.units = int(details[self._in["c"]]["shape"][-1])
        self.embed_dim = int(details[self._in["h"]]["shape"][-1])
        self.interp.resize_tensor_input(self._in["ids"], [batch], strict=False)
        self.interp.resize_tensor_input(self._in["h"], [batch, self.embed_dim], strict=False)
        self.interp.resize_tensor_input(self._in["c"], [batch, self.units], strict=False)
        self.interp.allocate_tensors()

    def zero_state(self, batch: int | None = None):
        import numpy as np

        b = batch or self.batch
        return np.zeros((b, self.embed_dim), np.float32), np.zeros((b, self.units), np.float32)

    def step(self, ids, h, c):
        """One step for ``batch`` rows; returns copies of (logprobs, h, c)."""
        interp = self.interp
        interp.set_tensor(self._in["ids"], ids)
        interp.set_tensor(self._in["h"], h)
        interp.set_tensor(self._in["c"], c)
        interp.invoke()
        return (
            interp.get_tensor(self._out["logprobs"]),
            interp.get_tensor(self._out["h_out"]),
            interp.get_tensor(self._out["c_out"]),
        )

    def run_windows(self, windows):
        """Log-probs after the last token of each row of ``windows`` [batch, T], from zero state."""
        import numpy as np

        h, c = self.zero_state()
        logp = None
        for t in range(windows.shape[1]):
            logp, h, c = self.step(np.ascontiguousarray(windows[:, t], np.int32), h, c)
        return logp


def _main() -> None:
    """``python -m kbd_lm.runtime MODEL WINDOWS.npy OUT.npy RUNTIME``: run in a clean process.

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
