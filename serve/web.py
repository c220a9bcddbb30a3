"""What the browser needs to suggest on the device: static scripts and the bundle's files.

- ``GET /static/...``: ``serve/static/`` (the in-browser predictor ``kbd/*.js`` and, once
  ``make jsdeps`` fetched it, LiteRT.js under ``vendor/``);
- ``GET /v1/bundle/{file}``: ``manifest.json`` and the files it lists (``model.tflite``,
  ``tokenizer.json``, ``conformance.jsonl``, ...), nothing else of the bundle folder.

>>> app = FastAPI()                                  # doctest: +SKIP
>>> mount_web(app, get_bundle)                       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbd_lm.inference.bundle import MANIFEST_FILE, Bundle

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {
    ".tflite": "application/octet-stream",
    ".jsonl": "application/x-ndjson",
    ".gz": "application/gzip",  # the lexicon: the page decompresses it itself
}


def mount_web(app: FastAPI, get_bundle) -> None:
    """Add the static folder and the bundle-file route to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(
        "/v1/bundle/{name}",
        tags=["model"],
        summary="A file of the loaded bundle (for suggestions computed in the browser)",
        responses={404: {"description": "Not a file of the bundle's manifest."}},
    )
    async def bundle_file(name: str, bundle: Bundle = Depends(get_bundle)):  # noqa: B008
        """``manifest.json`` or a file it lists, as stored (checked at start-up)."""
        if name != MANIFEST_FILE and name not in bundle.manifest.files:
            raise StarletteHTTPException(404, f"{name!r} is not a file of this bundle")
        path = bundle.path / name
        return FileResponse(path, media_type=_TYPES.get(path.suffix))
