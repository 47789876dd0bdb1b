"""Storage backends against real files, a real local HTTP server and a real LMDB database."""

import functools
import http.server
import threading

import numpy as np
import pytest

from loomcv import fileio
from loomcv.errors import ConfigError
from loomcv.fileio import HTTPBackend, LmdbBackend, LocalBackend, get_file_backend


def test_local_backend_roundtrip_and_listing(tmp_path):
    fileio.put(b"\x00\x01", tmp_path / "a" / "b.bin")
    fileio.put_text("héllo", tmp_path / "a" / "c.txt")
    assert fileio.get(tmp_path / "a" / "b.bin") == b"\x00\x01"
    assert fileio.get_text(tmp_path / "a" / "c.txt") == "héllo"
    assert fileio.exists(tmp_path / "a") and fileio.isdir(tmp_path / "a") and not fileio.isfile(tmp_path / "a")
    assert fileio.isfile(tmp_path / "a" / "c.txt")
    assert list(fileio.list_dir_or_file(tmp_path, recursive=True)) == ["a", "a/b.bin", "a/c.txt"]
    assert list(fileio.list_dir_or_file(tmp_path, list_dir=False, suffix=".txt", recursive=True)) == ["a/c.txt"]
    assert list(fileio.list_dir_or_file(tmp_path)) == ["a"]
    with fileio.get_local_path(tmp_path / "a" / "c.txt") as local:
        assert local == str(tmp_path / "a" / "c.txt")
    assert fileio.join_path(str(tmp_path), "x", "y") == str(tmp_path / "x" / "y")
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        fileio.get(tmp_path / "missing.bin")


@pytest.mark.parametrize("ext", ["json", "yaml", "yml", "pkl", "pickle"])
def test_load_dump_by_extension(tmp_path, ext):
    obj = {"a": [1, 2.5, "x"], "b": {"c": None}}
    path = tmp_path / f"obj.{ext}"
    fileio.dump(obj, path)
    assert fileio.load(path) == obj
    text = fileio.dump(obj, file_format=ext)
    assert isinstance(text, (str, bytes)) and text


def test_load_errors_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        fileio.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="unsupported format 'toml'"):
        fileio.load(tmp_path / "x.toml")


def test_list_and_dict_from_file(tmp_path):
    (tmp_path / "l.txt").write_text("a\nb\nc\nd\n")
    assert fileio.list_from_file(tmp_path / "l.txt") == ["a", "b", "c", "d"]
    assert fileio.list_from_file(tmp_path / "l.txt", prefix="p/", offset=1, max_num=2) == ["p/b", "p/c"]
    (tmp_path / "d.txt").write_text("1 cat\n2 dog bird\n\n")
    assert fileio.dict_from_file(tmp_path / "d.txt", key_type=int) == {1: "cat", 2: ["dog", "bird"]}
    (tmp_path / "bad.txt").write_text("lonely\n")
    with pytest.raises(ConfigError, match="bad.txt:1"):
        fileio.dict_from_file(tmp_path / "bad.txt")


def test_backend_choice_by_prefix_and_args(tmp_path):
    assert isinstance(get_file_backend("/x/y.jpg"), LocalBackend)
    assert isinstance(get_file_backend("http://h/x.jpg"), HTTPBackend)
    assert isinstance(get_file_backend("https://h/x.jpg"), HTTPBackend)
    assert isinstance(get_file_backend("x", dict(backend="disk")), LocalBackend)
    assert get_file_backend("a") is get_file_backend("b")  # cached
    with pytest.raises(ConfigError, match="Did you mean: 'lmdb'"):
        get_file_backend("x", dict(backend="lmbd"))
    with pytest.raises(ConfigError, match="prefix 's3'"):
        get_file_backend("s3://bucket/x")


@pytest.fixture
def http_root(tmp_path):
    """A real http.server on loopback serving tmp_path, shut down after the test."""
    (tmp_path / "hello.txt").write_text("served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_http_backend_against_local_server(http_root):
    import cv2

    from loomcv.image import imread

    root, url = http_root
    assert fileio.get_text(f"{url}/hello.txt") == "served"
    assert fileio.exists(f"{url}/hello.txt") and not fileio.exists(f"{url}/nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        fileio.get(f"{url}/nope.txt")
    img = np.random.RandomState(0).randint(0, 255, (6, 5, 3), np.uint8)
    cv2.imwrite(str(root / "img.png"), img)
    assert np.array_equal(imread(f"{url}/img.png"), img)
    with fileio.get_local_path(f"{url}/hello.txt") as local:
        assert open(local).read() == "served"
    with pytest.raises(NotImplementedError, match="read-only"):
        fileio.put(b"x", f"{url}/x.bin")


def test_lmdb_backend_against_real_database(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    import cv2

    img = np.random.RandomState(1).randint(0, 255, (4, 7, 3), np.uint8)
    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"imgs/0.png", cv2.imencode(".png", img)[1].tobytes())
        txn.put(b"note", b"text")
    env.close()
    args = dict(backend="lmdb", db_path=str(tmp_path / "db"))
    backend = get_file_backend(backend_args=args)
    assert isinstance(backend, LmdbBackend)
    assert fileio.get("note", backend_args=args) == b"text"
    assert backend.exists("imgs/0.png") and not backend.exists("imgs/1.png")
    with pytest.raises(FileNotFoundError, match="imgs/1.png"):
        backend.get("imgs/1.png")
    from loomcv.transforms import LoadImageFromFile
    out = LoadImageFromFile(backend_args=args)(dict(img_path="imgs/0.png"))
    assert np.array_equal(out["img"], img)
    with pytest.raises(FileNotFoundError, match="no lmdb database"):
        LmdbBackend(tmp_path / "absent")


def test_memcached_backend_explains_missing_dependency():
    try:
        import pymemcache  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pymemcache"):
            fileio.MemcachedBackend(servers=["127.0.0.1:11211"])
    else:
        with pytest.raises(ConfigError, match="server_list_cfg"):
            fileio.MemcachedBackend()
