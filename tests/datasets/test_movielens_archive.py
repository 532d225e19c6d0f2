"""MovieLensArchiveDataset: a read-only Kedro dataset over the MovieLens archive."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import zipfile
from pathlib import Path

import pytest
from kedro.io import DataCatalog, DatasetError

from conftest import write_archive
from movielens_sbr.data.movielens import ML_1M_MD5, ML_1M_URL, RawArchive, md5_of
from movielens_sbr.datasets import MovieLensArchiveDataset

DATASET_TYPE = "movielens_sbr.datasets.MovieLensArchiveDataset"


def closed_port_url() -> str:
    """A loopback URL nobody listens on: any download attempt fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ml-1m.zip"


@pytest.fixture
def served(tmp_path: Path):
    """A loopback HTTP server publishing a small valid archive; yields (url, md5, bytes, hits)."""
    root = tmp_path / "www"
    data = write_archive(root / "ml-1m.zip").read_bytes()
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/ml-1m.zip"
        yield url, hashlib.md5(data, usedforsecurity=False).hexdigest(), data, hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_defaults_point_at_grouplens(tmp_path: Path):
    dataset = MovieLensArchiveDataset(filepath=str(tmp_path / "ml-1m.zip"))

    description = dataset._describe()
    assert description["url"] == ML_1M_URL
    assert description["local_path"] is None
    assert description["filepath"] == str(tmp_path / "ml-1m.zip")
    assert dataset._md5 == ML_1M_MD5


def test_load_from_local_path(tiny_archive: Path, tmp_path: Path):
    cache = tmp_path / "cache" / "ml-1m.zip"
    dataset = MovieLensArchiveDataset(
        filepath=str(cache), url=closed_port_url(), local_path=str(tiny_archive)
    )

    raw = dataset.load()

    assert isinstance(raw, RawArchive)
    with zipfile.ZipFile(tiny_archive) as archive:
        assert raw.ratings == archive.read("ml-1m/ratings.dat")
        assert raw.movies == archive.read("ml-1m/movies.dat")
    assert isinstance(raw.ratings, bytes) and raw.ratings.count(b"\n") > 100
    assert raw.md5 == md5_of(tiny_archive)
    assert raw.md5 != ML_1M_MD5  # the official checksum is not applied to user files
    assert raw.source == str(tiny_archive)
    assert not cache.exists()  # nothing copied or downloaded


def test_empty_local_path_falls_back_to_cache(tiny_archive: Path):
    dataset = MovieLensArchiveDataset(
        filepath=str(tiny_archive), url=closed_port_url(), local_path=""
    )

    assert dataset._describe()["local_path"] is None
    assert dataset.load().source == str(tiny_archive)


def test_load_downloads_into_filepath_once(served, tmp_path: Path):
    url, md5, data, hits = served
    cache = tmp_path / "data" / "01_raw" / "ml-1m.zip"
    dataset = MovieLensArchiveDataset(filepath=str(cache), url=url, md5=md5)
    assert not dataset.exists()

    first = dataset.load()
    second = dataset.load()

    assert cache.read_bytes() == data
    assert first == second
    assert first.md5 == md5
    assert hits == ["/ml-1m.zip"]
    assert dataset.exists()


def test_missing_local_path_is_dataset_error(tmp_path: Path):
    missing = tmp_path / "typo.zip"
    dataset = MovieLensArchiveDataset(
        filepath=str(tmp_path / "cache.zip"), url=closed_port_url(), local_path=str(missing)
    )

    with pytest.raises(DatasetError) as excinfo:
        dataset.load()

    assert str(missing) in str(excinfo.value)
    assert "MOVIELENS_ARCHIVE" in str(excinfo.value)


def test_corrupt_cache_is_dataset_error(tmp_path: Path):
    cache = tmp_path / "ml-1m.zip"
    cache.write_bytes(b"<html>proxy login page</html>")
    dataset = MovieLensArchiveDataset(filepath=str(cache), url=closed_port_url())

    with pytest.raises(DatasetError, match="not a readable zip archive"):
        dataset.load()


def test_refused_download_is_dataset_error(tmp_path: Path):
    dataset = MovieLensArchiveDataset(
        filepath=str(tmp_path / "ml-1m.zip"), url="http://example.com/ml-1m.zip"
    )

    with pytest.raises(DatasetError) as excinfo:
        dataset.load()

    message = str(excinfo.value)
    assert "only https" in message
    assert "MOVIELENS_ARCHIVE" in message and "network" in message


def test_wrong_md5_download_is_dataset_error(served, tmp_path: Path):
    url, _, _, _ = served
    cache = tmp_path / "ml-1m.zip"
    dataset = MovieLensArchiveDataset(filepath=str(cache), url=url, md5="0" * 32)

    with pytest.raises(DatasetError, match="Checksum mismatch"):
        dataset.load()

    assert list(tmp_path.glob("ml-1m.zip*")) == []


def test_save_is_refused(tiny_archive: Path):
    dataset = MovieLensArchiveDataset(filepath=str(tiny_archive))
    before = tiny_archive.read_bytes()

    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(b"anything")
    with pytest.raises(DatasetError):
        dataset.save(None)

    assert tiny_archive.read_bytes() == before


def test_exists(tmp_path: Path, tiny_archive: Path):
    nowhere = str(tmp_path / "nowhere.zip")

    assert not MovieLensArchiveDataset(filepath=nowhere).exists()
    assert not MovieLensArchiveDataset(filepath=nowhere, local_path=nowhere + "2").exists()
    assert MovieLensArchiveDataset(filepath=nowhere, local_path=str(tiny_archive)).exists()
    assert MovieLensArchiveDataset(filepath=str(tiny_archive)).exists()
    assert MovieLensArchiveDataset(filepath=str(tiny_archive), local_path="").exists()


def test_load_through_kedro_catalog(tiny_archive: Path, tmp_path: Path):
    catalog = DataCatalog.from_config(
        {
            "movielens_archive": {
                "type": DATASET_TYPE,
                "filepath": str(tmp_path / "data" / "01_raw" / "ml-1m.zip"),
                "url": closed_port_url(),
                "local_path": str(tiny_archive),
                "metadata": {"kedro-viz": {"layer": "raw"}},
            }
        }
    )

    raw = catalog.load("movielens_archive")

    assert isinstance(raw, RawArchive)
    assert raw.md5 == md5_of(tiny_archive)
    assert raw.ratings.startswith(b"1::")
    assert b"Am\xe9lie (2001)" in raw.movies  # bytes stay ISO-8859-1
    assert catalog.exists("movielens_archive")


def test_catalog_load_error_is_dataset_error(tmp_path: Path):
    catalog = DataCatalog.from_config(
        {
            "movielens_archive": {
                "type": DATASET_TYPE,
                "filepath": str(tmp_path / "ml-1m.zip"),
                "local_path": str(tmp_path / "missing.zip"),
            }
        }
    )

    with pytest.raises(DatasetError, match=r"missing\.zip.*does not exist"):
        catalog.load("movielens_archive")
