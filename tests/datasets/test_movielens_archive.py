"""MovieLensArchiveDataset: a read-only Kedro dataset over the MovieLens archive."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def serve(root: Path):
    """A loopback HTTP server publishing the files of ``root``; yields (base URL, paths hit)."""
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
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


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
    with serve(root) as (base, hits):
        yield f"{base}/ml-1m.zip", hashlib.md5(data, usedforsecurity=False).hexdigest(), data, hits


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


# ---------------------------------------------------------------------------------------------
# Other datasets: the spec's defaults, GroupLens' companion checksum, the local way out


@pytest.fixture
def grouplens(tmp_path: Path):
    """A loopback server publishing an ml-20m.zip fixture and its companion .md5 file."""
    from conftest import write_dataset

    root = tmp_path / "grouplens"
    data = write_dataset(root / "ml-20m.zip", "ml-20m").read_bytes()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    # The BSD layout of `md5 ml-20m.zip`; `md5sum`'s "<md5>  ml-20m.zip" is accepted too.
    (root / "ml-20m.zip.md5").write_text(f"MD5 (ml-20m.zip) = {md5}\n")
    with serve(root) as (base, hits):
        yield base, root, data, md5, hits


def test_dataset_defaults_come_from_the_table():
    dataset = MovieLensArchiveDataset(dataset="ml-25m")

    assert dataset._describe() == {
        "dataset": "ml-25m",
        "filepath": str(Path("data/01_raw/ml-25m.zip")),
        "local_path": None,
        "url": "https://files.grouplens.org/datasets/movielens/ml-25m.zip",
    }
    assert dataset._md5 is None
    assert dataset._md5_url == "https://files.grouplens.org/datasets/movielens/ml-25m.zip.md5"
    # A pinned MD5 makes the companion file unnecessary.
    assert MovieLensArchiveDataset(dataset="ml-25m", md5="a" * 32)._md5_url is None


def test_unknown_dataset_in_the_catalog_lists_the_valid_ones():
    with pytest.raises(DatasetError, match=r"Unknown dataset 'ml-2m'; choose among \['ml-100k'"):
        MovieLensArchiveDataset(dataset="ml-2m")


def ml_20m_from(url: str, cache: Path) -> MovieLensArchiveDataset:
    """ml-20m downloaded from the fixture server and checked against its companion .md5."""
    return MovieLensArchiveDataset(
        filepath=str(cache),
        dataset="ml-20m",
        url=f"{url}/ml-20m.zip",
        md5_url=f"{url}/ml-20m.zip.md5",
    )


@pytest.mark.parametrize("layout", ["bsd", "md5sum"])
def test_download_checked_against_the_companion_md5(grouplens, tmp_path: Path, layout: str):
    url, root, data, md5, hits = grouplens
    if layout == "md5sum":
        (root / "ml-20m.zip.md5").write_text(f"{md5.upper()}  ml-20m.zip\n")
    cache = tmp_path / "data" / "01_raw" / "ml-20m.zip"
    dataset = ml_20m_from(url, cache)

    raw = dataset.load()

    assert hits == ["/ml-20m.zip.md5", "/ml-20m.zip"]
    assert cache.read_bytes() == data
    assert raw.md5 == md5 and raw.dataset == "ml-20m"
    assert raw.ratings_ref is not None and raw.ratings_ref.path == str(cache)
    dataset.load()  # the cache is reused: no second request
    assert len(hits) == 2


def test_companion_md5_mismatch_deletes_the_download(grouplens, tmp_path: Path):
    url, root, _, _, _ = grouplens
    (root / "ml-20m.zip.md5").write_text("MD5 (ml-20m.zip) = " + "0" * 32 + "\n")
    cache = tmp_path / "ml-20m.zip"
    dataset = ml_20m_from(url, cache)

    with pytest.raises(DatasetError, match=r"Checksum mismatch.*expected 0{32}"):
        dataset.load()

    assert list(tmp_path.glob("ml-20m.zip*")) == []


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "404"), ("no checksum here\n", "holds 0 MD5 values")]
)
def test_missing_or_broken_companion_stops_before_downloading(
    grouplens, tmp_path: Path, content, problem
):
    url, root, _, _, hits = grouplens
    if content is None:
        (root / "ml-20m.zip.md5").unlink()
    else:
        (root / "ml-20m.zip.md5").write_text(content)
    cache = tmp_path / "ml-20m.zip"
    dataset = ml_20m_from(url, cache)

    with pytest.raises(DatasetError) as excinfo:
        dataset.load()

    message = str(excinfo.value)
    assert problem in message
    if content is None:
        assert "published checksum" in message and "cannot be verified" in message
    assert "MOVIELENS_ARCHIVE=/path/to/ml-20m.zip" in message  # both ways out named
    assert "network" in message
    assert "/ml-20m.zip" not in hits  # nothing unverifiable was fetched
    assert not cache.exists()


@pytest.mark.parametrize("dataset_name", ["ml-100k", "ml-10m", "ml-latest-small", "ml-32m"])
def test_local_zip_or_folder_works_for_every_release(tmp_path: Path, dataset_name: str):
    from conftest import write_dataset

    archive = write_dataset(tmp_path / f"{dataset_name}.zip", dataset_name)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)  # the test's own fixture, unpacked as a user would

    for local in (archive, folder):
        dataset = MovieLensArchiveDataset(
            filepath=str(tmp_path / "cache.zip"),
            dataset=dataset_name,
            url=closed_port_url(),
            local_path=str(local),
        )
        raw = dataset.load()
        assert raw.dataset == dataset_name and raw.source == str(local)
        assert raw.movies  # titles read whole; ratings whole or streamed
        assert raw.ratings or raw.ratings_ref is not None
