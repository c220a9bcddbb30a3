"""The OpenAPI document lists every status each route can answer, and the server keeps to it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from kbd_lm.serve import openapi
from kbd_lm.serve.app import create_app
from kbd_lm.serve.errors import ERROR_SCHEMA_REF, ERRORS
from kbd_lm.serve.settings import ServeSettings

LOCAL = "http://127.0.0.1:8000"
JSON = {"content-type": "application/json"}
# Every operation's statuses with user histories on (0.9.0). Before 0.9.0 the schema listed
# 200 and 422 only for the user routes, 200/404/422 for /v1/bundle/{name} and no 401 or 403.
STATUSES = {
    ("post", "/v1/predict-next"): ["200", "400", "401", "403", "413", "415", "422", "503"],
    ("get", "/healthz"): ["200"],
    ("get", "/readyz"): ["200", "503"],
    ("get", "/v1/model"): ["200", "401", "503"],
    ("get", "/metrics"): ["200"],
    ("get", "/v1/bundle/{name}"): ["200", "401", "404", "503"],
    ("post", "/v1/users/{user}/learn"): [
        *["200", "400", "401", "403", "405", "413", "415", "422", "507"]
    ],
    ("get", "/v1/users/{user}/history"): ["200", "401", "403", "405", "422"],
    ("delete", "/v1/users/{user}/words/{word}"): ["200", "401", "403", "405", "422"],
    ("delete", "/v1/users/{user}"): ["204", "401", "403", "405", "422"],
}


def make_app(tiny_bundle, tmp_path, **overrides):
    defaults = {"pool_size": 1, "access_log": False, "history_db": tmp_path / "h.sqlite3"}
    settings = ServeSettings(bundle=tiny_bundle, **{**defaults, **overrides})
    return create_app(settings=settings)


@pytest.fixture
def client(tiny_bundle, tmp_path):
    # One user at most, so that a second user's learn meets the store's limit (507).
    with TestClient(make_app(tiny_bundle, tmp_path, history_max_users=1), base_url=LOCAL) as c:
        yield c


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").json()


def test_every_route_lists_its_statuses(spec):
    found = {
        (method, path): sorted(op["responses"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert found == STATUSES


def test_every_error_has_the_error_body_and_its_codes(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) < 400:
                    continue
                where = f"{method} {path} {status}"
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_SCHEMA_REF}, where
                codes = response["x-error-codes"]
                assert codes and all(ERRORS[c].status == int(status) for c in codes), where
                assert all(f"`{c}`" in response["description"] for c in codes), where
    assert "ErrorResponse" in spec["components"]["schemas"]
    # FastAPI's own 422 body ({"detail": ...}) is not what the server answers.
    assert "HTTPValidationError" not in json.dumps(spec)


def test_headers_are_documented_where_they_are_sent(spec):
    predict = spec["paths"]["/v1/predict-next"]["post"]["responses"]
    # 503 `busy` carries Retry-After, `unavailable` does not: documented, not required.
    assert predict["503"]["headers"]["Retry-After"]["required"] is False
    assert predict["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "when API keys are set" in predict["401"]["description"]
    learn = spec["paths"]["/v1/users/{user}/learn"]["post"]["responses"]
    assert learn["405"]["headers"]["Allow"]["required"] is True


def test_the_table_names_every_layer_of_the_stack(tiny_bundle, tmp_path):
    # Every layer on: CORS and the access log too. A layer added to the stack without a row
    # in openapi.LAYERS (what it answers before the routes) fails here.
    app = make_app(tiny_bundle, tmp_path, cors_origins=["https://a.example"], access_log=True)
    stack = [m.cls.__name__ for m in app.user_middleware]  # outermost first
    assert stack == [layer.name for layer in openapi.LAYERS]


def test_an_error_declared_without_codes_is_refused():
    op = {"responses": {"200": {}, "404": {"description": "Not there."}}}
    with pytest.raises(ValueError, match="GET /v1/x documents 404 without error codes"):
        openapi.document_operation("get", "/v1/x", op)


OTHER_HOST = {"headers": {"host": "a.example"}}


def _learn(user="u1", body=b'{"text": "see you"}', headers=JSON):
    return ("post", f"/v1/users/{user}/learn", {"content": body, "headers": headers})


# A request that gets each error code of the layers and routes: (operation, request, status,
# code). The schemathesis run (test_schemathesis.py) covers what it generates; these are the
# answers it cannot reach (another Host, a full store) and those it found undocumented.
ANSWERS = [
    ("learn empty", _learn(body=b""), 400, "missing_body"),
    ("learn not UTF-8", _learn(body=b'{"text": "\xff"}'), 400, "invalid_utf8"),
    ("learn not JSON", _learn(body=b'{"text": '), 400, "invalid_json"),
    ("learn too large", _learn(body=b"x" * 20_000), 413, "body_too_large"),
    (
        "learn as text",
        _learn(headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    ),
    ("learn wrong field", _learn(body=b'{"text": "a", "field": "pin"}'), 422, "invalid_request"),
    ("learn 2nd user", _learn(user="u2"), 507, "http_507"),
    ("bad user id", ("get", "/v1/users/a b/history", {}), 422, "invalid_request"),
    ("user route preflight", ("options", "/v1/users/u1/learn", {}), 405, "method_not_allowed"),
    ("user route, other Host", ("get", "/v1/users/u1/history", OTHER_HOST), 403, "forbidden_host"),
    (
        "history, other Host",
        ("post", "/v1/predict-next", {"json": {"text": "a ", "user": "u1"}, **OTHER_HOST}),
        403,
        "http_403",
    ),
    ("not a bundle file", ("get", "/v1/bundle/histories.sqlite3", {}), 404, "not_found"),
]


@pytest.mark.parametrize(
    ("name", "request_", "status", "code"), ANSWERS, ids=[a[0] for a in ANSWERS]
)
def test_what_the_server_answers_is_documented(client, spec, name, request_, status, code):
    assert client.post("/v1/users/u1/learn", json={"text": "see you"}).status_code == 200
    method, path, kwargs = request_
    r = client.request(method, path, **kwargs)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text
    operation = _operation(spec, method, path)
    assert code in operation["responses"][str(status)]["x-error-codes"]
    if status == 405:
        assert r.headers["allow"] == "POST"  # the methods of that path, as RFC 9110 asks


def _operation(spec: dict, method: str, path: str) -> dict:
    """The operation of the schema that serves ``path`` (OPTIONS: the path's one operation)."""
    for template, ops in spec["paths"].items():
        parts, pattern = path.split("/"), template.split("/")
        if len(parts) == len(pattern) and all(
            p == q or q.startswith("{") for p, q in zip(parts, pattern, strict=True)
        ):
            return ops[method] if method in ops else next(iter(ops.values()))
    raise AssertionError(f"no operation for {path}")


def test_keys_add_the_bearer_scheme_to_v1_routes(tiny_bundle, tmp_path):
    with TestClient(make_app(tiny_bundle, tmp_path, api_keys="k-1")) as c:
        spec = c.get("/openapi.json").json()
        r = c.get("/v1/model")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert ("security" in op) == path.startswith("/v1/"), path
    # Without keys nothing asks for one.
    with TestClient(make_app(tiny_bundle, tmp_path)) as c:
        assert "securitySchemes" not in c.get("/openapi.json").json()["components"]


def test_bundle_files_come_with_a_documented_content_type(client, spec, tiny_bundle):
    documented = spec["paths"]["/v1/bundle/{name}"]["get"]["responses"]["200"]["content"]
    manifest = client.get("/v1/bundle/manifest.json").json()
    for name in ["manifest.json", *manifest["files"]]:
        r = client.get(f"/v1/bundle/{name}")
        assert r.status_code == 200
        media_type = r.headers["content-type"].split(";")[0]
        assert media_type in documented, name
        if name.endswith(".cc"):  # not the host's guess (text/x-c++src on Debian)
            assert media_type == "text/plain"
