"""Server settings from ``KBD_LM_*`` environment variables (pydantic-settings).

Nothing is read at import time: call :func:`load_settings` (or ``ServeSettings()``) when the
server starts, so that tests and the command line can set values first.

>>> s = ServeSettings(bundle="dist/bundle", pool_size=4)
>>> (s.port, s.max_text_chars, s.runs_on, s.predictors)
(8000, 1000, 'threads', 4)
>>> s = ServeSettings(bundle="dist/bundle")
>>> (s.runs_on, s.predictors)
('loop', 1)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
# What a browser sends as Origin: scheme://host[:port], no path, no trailing slash.
_ORIGIN_RE = re.compile(r"https?://[^/\s]+")


class ServeSettings(BaseSettings):
    """Everything the server can be told; each field is also ``KBD_LM_<FIELD>`` (any case)."""

    model_config = SettingsConfigDict(env_prefix="KBD_LM_", extra="ignore")

    bundle: Path | None = Field(None, description="bundle folder (model.tflite, manifest.json…)")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port)")
    workers: int = Field(
        1, ge=1, le=64, description="server processes on the port, each with its own pool"
    )
    executor: Literal["loop", "threads"] | None = Field(
        None,
        description="where suggestions run: 'loop', one at a time on the server's event loop "
        "(the most answers a second from one process: no interpreter lock shared with worker "
        "threads); 'threads', each in a worker thread on one of pool_size predictors. "
        "Default: 'loop', or 'threads' when a pool_size above 1 is set (as before 0.9)",
    )
    pool_size: int | None = Field(
        None,
        ge=1,
        le=64,
        description="predictors serving requests in parallel in threads (default 2); "
        "the loop runs one",
    )
    num_threads: int = Field(1, ge=1, le=16, description="threads per TFLite interpreter")
    beam_width: int | None = Field(
        None,
        ge=1,
        description="beam width of the word search; default: the bundle's (manifest "
        "decoding.beam_width), which a setting may only lower",
    )
    runtime: Literal["litert", "tflite-runtime"] = Field("litert", description="TFLite runtime")
    engine: Literal["python", "native"] = Field(
        "python",
        description="the decoder: the Python predictor, or the native library libkbd_lm.so "
        "(make native; KBD_LM_NATIVE_LIB names another), on LiteRT with the bundle's settings",
    )
    max_body_bytes: int = Field(
        16_384, ge=64, le=16 * 1024 * 1024, description="largest request body accepted (bytes)"
    )
    max_text_chars: int = Field(
        1000, ge=1, le=100_000, description="only this many characters at the end of a text count"
    )
    queue_wait_ms: float = Field(
        100.0,
        gt=0,
        le=60_000,
        description="wait at most this long for a free predictor, then answer 503 with "
        "Retry-After (sheds overload instead of queueing it)",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="web page origins allowed to call the API from a browser, comma-separated "
        "(e.g. https://app.example.com,http://localhost:3000; '*' for any); none by default",
    )
    log_level: LogLevel = Field("info", description="server log level")
    access_log: bool = Field(True, description="one log line per request (uvicorn access log)")
    # Personal histories (kbd_lm.serve.users, kbd_lm.serve.history_store).
    api_keys: str = Field(
        "", repr=False, description="comma-separated API keys; set: every /v1 route needs one"
    )
    history_db: Path = Field(
        Path("data/histories.sqlite3"), description="SQLite file of the users' histories"
    )
    history_max_users: int = Field(10_000, ge=1, description="users the history store accepts")
    history_max_db_bytes: int = Field(
        1 << 30, ge=1 << 16, description="history store size (database + WAL) accepted"
    )
    history_max_entries: int = Field(20_000, ge=100, description="entries per user history")
    history_max_bytes: int = Field(1_000_000, ge=4096, description="bytes per user history")

    @property
    def runs_on(self) -> str:
        """The executor: ``executor``, else ``"threads"`` when ``pool_size`` is above 1 (the
        settings of 0.8 keep their meaning), else ``"loop"``."""
        if self.executor is not None:
            return self.executor
        return "threads" if (self.pool_size or 1) > 1 else "loop"

    @property
    def predictors(self) -> int:
        """How many predictors the pool holds: one on the loop (one suggestion runs at a
        time there), ``pool_size`` (default 2) in threads."""
        return 1 if self.runs_on == "loop" else self.pool_size or 2

    @model_validator(mode="after")
    def _pool_size_with_threads(self):
        if self.executor == "loop" and self.pool_size not in (None, 1):
            raise ValueError(
                f"pool_size {self.pool_size} (KBD_LM_POOL_SIZE, --pool-size) needs executor "
                "'threads' (KBD_LM_EXECUTOR, --executor): executor 'loop' runs one predictor"
            )
        return self

    @model_validator(mode="after")
    def _native_runs_the_bundles_settings(self):
        # The native engine runs LiteRT with the bundle's beam width (never a fallback to the
        # Python predictor): a setting it cannot honour is refused at start-up.
        if self.engine == "native":
            if self.runtime != "litert":
                raise ValueError(
                    f"engine 'native' (KBD_LM_ENGINE, --engine) runs on LiteRT: runtime "
                    f"{self.runtime!r} (KBD_LM_RUNTIME) cannot be used with it"
                )
            if self.beam_width is not None:
                raise ValueError(
                    "engine 'native' (KBD_LM_ENGINE, --engine) runs the bundle's beam width: "
                    "leave beam_width (KBD_LM_BEAM_WIDTH) unset"
                )
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value):
        # KBD_LM_CORS_ORIGINS="https://a.example,https://b.example": a list, not JSON.
        if isinstance(value, str):
            value = [o.strip() for o in value.split(",") if o.strip()]
        for origin in value:
            if origin != "*" and not _ORIGIN_RE.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] without a path "
                    "or trailing slash, e.g. https://app.example.com, or '*' for any"
                )
        return value

    @model_validator(mode="after")
    def _beam_within_the_bundle(self):
        # The model was exported for the bundle's beam width: a wider beam is refused here,
        # at start-up, naming both values. A bundle that cannot be read is left to the
        # start-up's own error (kbd_lm.serve.app).
        if self.beam_width is None or self.bundle is None:
            return self
        from kbd_lm.inference.bundle import BundleError, read

        try:
            bundle_width = read(self.bundle).decoding.beam_width
        except (BundleError, OSError):
            return self
        if self.beam_width > bundle_width:
            raise ValueError(
                f"beam_width {self.beam_width} (KBD_LM_BEAM_WIDTH) is more than the bundle's "
                f"beam width {bundle_width} ({self.bundle}/manifest.json decoding.beam_width): "
                f"set {bundle_width} or less, or leave it unset for {bundle_width}"
            )
        return self


def settings_env(settings: ServeSettings) -> dict[str, str]:
    """The ``KBD_LM_*`` variables that make ``ServeSettings()`` equal ``settings``.

    >>> settings_env(ServeSettings(bundle="b", cors_origins=["http://a.b"]))["KBD_LM_CORS_ORIGINS"]
    'http://a.b'
    """
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"KBD_LM_{name.upper()}"] = str(value)
    return env


def load_settings(**overrides) -> ServeSettings:
    """Settings from the environment, then ``overrides`` (None values are ignored)."""
    return ServeSettings(**{k: v for k, v in overrides.items() if v is not None})
