"""The demo page and what the browser needs to suggest on the device.

- ``GET /``: the demo page (``static/index.html``, self-contained);
- ``GET /static/...``: ``serve/static/`` (the in-browser predictor ``kbd/*.js`` and, once
  ``make jsdeps`` fetched it, LiteRT.js under ``vendor/``), mounted by :func:`mount_static`;
- ``GET /v1/bundle/{file}``: ``manifest.json`` and the files it lists (``model.tflite``,
  ``tokenizer.json``, ``conformance.jsonl``, ...), nothing else of the bundle folder.

>>> app.include_router(router)                       # doctest: +SKIP
>>> mount_static(app)                                # doctest: +SKIP
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbd_lm.inference.bundle import MANIFEST_FILE
from kbd_lm.serve.deps import LoadedBundle
from kbd_lm.serve.errors import error_responses

STATIC_DIR = Path(__file__).parent.parent / "static"
# The Content-Type of a bundle file by its suffix, any other being BINARY: fixed here rather
# than guessed from the host's mime.types (which differ between hosts), so the schema lists them.
BINARY = "application/octet-stream"  # model.tflite, tokenizer.model, the TOML configs
FILE_TYPES = {
    ".json": "application/json",  # manifest.json, tokenizer.json
    ".jsonl": "application/x-ndjson",  # conformance.jsonl
    ".gz": "application/gzip",  # the lexicon: the page decompresses it itself
    ".txt": "text/plain",  # the blocklist, ops.txt (Starlette adds "; charset=utf-8")
    ".cc": "text/plain",  # op_resolver.cc
}
_FILE_CONTENT = {
    media_type: {"schema": {} if media_type == "application/json" else {"type": "string"}}
    for media_type in [*dict.fromkeys(FILE_TYPES.values()), BINARY]
}

router = APIRouter()


@functools.cache
def demo_page() -> str:
    """The demo page's HTML, read once from the installed package."""
    return resources.files("kbd_lm.serve").joinpath("static/index.html").read_text("utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo() -> HTMLResponse:
    return HTMLResponse(demo_page())


@router.get(
    "/v1/bundle/{name}",
    tags=["model"],
    summary="A file of the loaded bundle (for suggestions computed in the browser)",
    responses={
        200: {"description": "The file, as stored.", "content": _FILE_CONTENT},
        **error_responses("not_found", "unavailable"),
    },
)
async def bundle_file(name: str, bundle: LoadedBundle):
    """``manifest.json`` or a file it lists, as stored (checked at start-up)."""
    if name != MANIFEST_FILE and name not in bundle.manifest.files:
        raise StarletteHTTPException(404, f"{name!r} is not a file of this bundle")
    path = bundle.path / name
    return FileResponse(path, media_type=FILE_TYPES.get(path.suffix, BINARY))


def mount_static(app: FastAPI) -> None:
    """Serve ``serve/static/`` under ``/static`` (a mount: routers cannot carry one)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
