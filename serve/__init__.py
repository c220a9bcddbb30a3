"""HTTP service for a kbd-lm bundle: ``kbd-lm serve --bundle dist/bundle``.

Modules: :mod:`~kbd_lm.serve.app` (the FastAPI factory ``create_app``: lifespan, routers,
middleware), :mod:`~kbd_lm.serve.routes` (one router per concern),
:mod:`~kbd_lm.serve.deps` (what routes get, overridable in tests),
:mod:`~kbd_lm.serve.errors` (the JSON error body and its handlers),
:mod:`~kbd_lm.serve.settings` (``KBD_LM_*`` environment settings),
:mod:`~kbd_lm.serve.pool` (a pool of predictors, one interpreter set each; sheds overload),
:mod:`~kbd_lm.serve.workers` (``--workers N`` server processes, metrics added up). The load
test is a client of the server and lives beside the benchmark: :mod:`kbd_lm.export.bench.loadtest`.

Nothing here imports TensorFlow: a serving process only needs the TFLite runtime.
"""
