"""The server's routes, one :class:`fastapi.APIRouter` per concern, included by
:func:`kbd_lm.serve.app.create_app` in this order:

- :mod:`.predict`: ``POST /v1/predict-next``;
- :mod:`.ops`: ``GET /healthz``, ``/readyz``, ``/v1/model``, ``/metrics``;
- :mod:`.web`: ``GET /`` (the demo page), ``/static/...`` and ``/v1/bundle/{file}`` (what the
  browser needs to suggest on the device);
- :mod:`.users`: ``/v1/users/{user}/...`` (personal histories), only where
  :func:`kbd_lm.serve.users.enabled` allows them.

Routes take what they need from :mod:`kbd_lm.serve.deps`; their errors are answered by
:mod:`kbd_lm.serve.errors`.
"""
