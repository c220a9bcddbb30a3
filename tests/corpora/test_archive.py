import io
import tarfile
import zipfile

import pytest

from kbd_lm.corpora.archive import open_archive


def _tgz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_tarball_zip_and_folder_read_alike(tmp_path):
    files = {"package/a.txt": b"caf\xe9", "package/sub/b.json": b"[1]"}
    (tmp_path / "p.tgz").write_bytes(_tgz(files))
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    for name, data in files.items():
        (tmp_path / "dir" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "dir" / name).write_bytes(data)
    for path in ("p.tgz", "p.zip", "dir"):
        pkg = open_archive(tmp_path / path)
        assert pkg.names() == ["package/a.txt", "package/sub/b.json"]
        assert pkg.names("package/*.json") == ["package/sub/b.json"]
        assert pkg.read_text("package/a.txt", ("utf-8", "latin-1")) == "café"
        with pytest.raises(FileNotFoundError, match="no member 'package/c.txt'"):
            pkg.read("package/c.txt")


def test_an_archive_inside_an_archive(tmp_path):
    inner = _tgz({"data/x.txt": b"inner text"})
    (tmp_path / "outer.tgz").write_bytes(_tgz({"pkg/inner.tar.gz": inner}))
    assert open_archive(tmp_path / "outer.tgz").sub("pkg/inner.tar.gz").read("data/x.txt") == (
        b"inner text"
    )


def test_a_file_that_is_no_archive_is_a_clear_error(tmp_path):
    (tmp_path / "x.tgz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="neither a tarball nor a zip"):
        open_archive(tmp_path / "x.tgz")
