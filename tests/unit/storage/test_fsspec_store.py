"""`FsspecObjectStore`'s own logic (paths, upload via a temporary name, errors) over fsspec's
in-memory filesystem; gcsfs/adlfs/sshfs themselves were never run here (docs/storage.md)."""

from __future__ import annotations

import pytest

fsspec = pytest.importorskip("fsspec")

from vmafx.core.remote import ObjectUrl  # noqa: E402
from vmafx.errors import InputNotFoundError, MissingExtraError, OutputWriteError, UsageError  # noqa: E402
from vmafx.storage.fsspec_store import FsspecObjectStore  # noqa: E402


@pytest.fixture
def store() -> FsspecObjectStore:
    made = FsspecObjectStore("gs")
    memory = fsspec.filesystem("memory")
    memory.store.clear()
    made._fs = memory  # the in-memory filesystem stands in for gcsfs
    return made


def test_stat_head_list_and_upload_round_trip(store, tmp_path):
    local = tmp_path / "clip.mp4"
    local.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000)
    url = ObjectUrl("gs", "media", "clips/clip.mp4")
    store.upload(local, url)
    assert store.stat(url).size == 5012
    assert store.read_head(url, 12) == b"\x00\x00\x00\x18ftypmp42"
    listed = store.list(ObjectUrl("gs", "media", "clips"))
    assert [str(item.url) for item in listed] == ["gs://media/clips/clip.mp4"]
    assert not [p for p in store.fs.find("/media") if ".vmafx-part-" in p]  # moved, not left


def test_a_missing_object_is_input_not_found(store):
    with pytest.raises(InputNotFoundError, match="gs://media/none.mp4 does not exist"):
        store.stat(ObjectUrl("gs", "media", "none.mp4"))


def test_a_failed_upload_leaves_neither_the_object_nor_its_temporary_name(store, tmp_path):
    local = tmp_path / "clip.mp4"
    local.write_bytes(b"data")

    def broken_move(src: str, dst: str) -> None:
        raise OSError("the connection dropped")

    store.fs.mv = broken_move
    url = ObjectUrl("gs", "media", "out/clip.mp4")
    with pytest.raises(OutputWriteError, match="nothing was written under that name"):
        store.upload(local, url)
    assert store.fs.find("/media/out") == []


def test_a_store_that_cannot_sign_says_what_to_do_instead(store):
    with pytest.raises(UsageError, match="never hands ffmpeg a password"):
        store.sign_get(ObjectUrl("gs", "media", "clip.mp4"))


def test_a_missing_sdk_names_the_extra_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "adlfs", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'vmafx\[azure\]'"):
        FsspecObjectStore("az").stat(ObjectUrl("az", "c", "k.mp4"))
