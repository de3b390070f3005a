"""Uploads to a real S3 server (SeaweedFS): checksummed, multipart above the threshold, and an
upload that fails half-way leaves no object under the final name (nor any open multipart)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.storage_server import SeaweedS3

from vmafx.core.remote import ObjectUrl
from vmafx.errors import OutputWriteError
from vmafx.storage import s3 as s3_module
from vmafx.storage.s3 import S3Credentials, S3ObjectStore
from vmafx.storage.signed import put_file

pytestmark = pytest.mark.integration
PART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
def store(seaweed_s3: SeaweedS3) -> S3ObjectStore:
    return S3ObjectStore(S3Credentials.from_mapping(seaweed_s3.env()))


def _file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(size))
    return path


def test_a_file_over_the_threshold_goes_up_in_parts_intact(
    store, seaweed_s3, tmp_path, monkeypatch
):
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", PART)
    path = _file(tmp_path, 2 * PART + 123)
    store.upload(path, ObjectUrl("s3", "media", "up/multi.bin"))
    head = seaweed_s3.client().head_object(Bucket="media", Key="up/multi.bin")
    assert head["ContentLength"] == path.stat().st_size
    assert "-" in head["ETag"]  # a multipart ETag: "<md5 of md5s>-<parts>"
    body = seaweed_s3.client().get_object(Bucket="media", Key="up/multi.bin")["Body"].read()
    assert body == path.read_bytes()


def test_an_upload_that_fails_half_way_leaves_nothing_under_the_name(
    store, seaweed_s3, tmp_path, monkeypatch
):
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", PART)
    path = _file(tmp_path, 3 * PART)
    client = store.client
    real = client.upload_part
    calls = []

    def failing_part(**kwargs):
        calls.append(kwargs["PartNumber"])
        if len(calls) == 2:
            raise ConnectionResetError("the network went away")
        return real(**kwargs)

    monkeypatch.setattr(client, "upload_part", failing_part)
    with pytest.raises(OutputWriteError, match="nothing was written under that name"):
        store.upload(path, ObjectUrl("s3", "media", "up/half.bin"))
    assert calls  # it was a multipart upload
    assert not seaweed_s3.exists("up/half.bin")
    open_uploads = seaweed_s3.client().list_multipart_uploads(Bucket="media", Prefix="up/half.bin")
    assert not open_uploads.get("Uploads")  # boto3 aborted it


def test_a_presigned_put_uploads_with_its_md5_checked(store, seaweed_s3, tmp_path):
    path = _file(tmp_path, 300_000)
    url = ObjectUrl("s3", "media", "up/signed.bin")
    put_file(path, store.sign_put(url, 60), str(url))
    body = seaweed_s3.client().get_object(Bucket="media", Key="up/signed.bin")["Body"].read()
    assert body == path.read_bytes()


def test_a_tampered_presigned_put_is_refused_and_writes_nothing(store, seaweed_s3, tmp_path):
    path = _file(tmp_path, 1000)
    url = ObjectUrl("s3", "media", "up/tampered.bin")
    signed = store.sign_put(url, 60)
    with pytest.raises(Exception, match="refused to write s3://media/up/tampered.bin") as caught:
        put_file(path, signed[:-2] + ("00" if not signed.endswith("00") else "11"), str(url))
    assert signed not in str(caught.value)
    assert not seaweed_s3.exists("up/tampered.bin")


def test_a_signed_put_cut_off_half_way_leaves_nothing_under_the_name(store, seaweed_s3):
    import socket
    import urllib.parse

    url = ObjectUrl("s3", "media", "up/cut.bin")
    parts = urllib.parse.urlsplit(store.sign_put(url, 60))
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Length: 1000000\r\n\r\n"
        )
        sock.sendall(head.encode() + os.urandom(400_000))  # then the sender dies
    time.sleep(1)  # what the server does with the cut body, it has done by now
    assert not seaweed_s3.exists("up/cut.bin")
