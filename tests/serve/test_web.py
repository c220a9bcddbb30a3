"""The static files and bundle files the in-browser predictor loads from the real app."""

import json


def test_bundle_files_listed_in_the_manifest_are_served(client, tiny_bundle):
    manifest = client.get("/v1/bundle/manifest.json")
    assert manifest.status_code == 200
    assert (
        manifest.json()["files"] == json.loads((tiny_bundle / "manifest.json").read_text())["files"]
    )
    model = client.get("/v1/bundle/model.tflite")
    assert model.status_code == 200 and model.content == (tiny_bundle / "model.tflite").read_bytes()
    tok = client.get("/v1/bundle/tokenizer.json").json()
    assert tok["format"] == "kbd-lm-tokenizer" and len(tok["pieces"]) > 256


def test_other_paths_of_the_bundle_folder_are_refused(client, tiny_bundle):
    (tiny_bundle.parent / "secret.txt").write_text("not for the browser")
    for name in ("secret.txt", "..%2Fsecret.txt", "weights.npz", "%2Fetc%2Fpasswd"):
        r = client.get(f"/v1/bundle/{name}")
        assert r.status_code == 404, name
        assert r.json()["error"] == "not_found"


def test_the_predictor_modules_are_served_as_javascript(client):
    for name in ("predictor.js", "text.js", "tokenizer.js", "harness.js"):
        r = client.get(f"/static/kbd/{name}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert "export" in r.text or "window.kbdHarness" in r.text
