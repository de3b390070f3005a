"""ffmpeg reading signed URLs from a real S3 server (SeaweedFS): a tampered or expired URL is a
clear AuthError (403) that names the object, never the URL; ffmpeg may open only the
protocols the URL needs."""

from __future__ import annotations

import time

import pytest
from tests.conftest import MEDIA
from tests.storage_server import SeaweedS3

from vmafx.core.remote import ObjectUrl, RemoteInput
from vmafx.errors import AuthError, InputNotFoundError
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest
from vmafx.storage.s3 import S3Credentials, S3ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(seaweed_s3: SeaweedS3) -> S3ObjectStore:
    seaweed_s3.put("signed/ref.y4m", MEDIA / "ref.y4m")
    seaweed_s3.put("signed/dis.mp4", MEDIA / "dis.mp4")
    return S3ObjectStore(S3Credentials.from_mapping(seaweed_s3.env()))


def _remote(store: S3ObjectStore, key: str, ttl_s: int = 300) -> RemoteInput:
    url = ObjectUrl("s3", "media", key)
    return RemoteInput(f"s3://media/{key}", store.sign_get(url, ttl_s), store.stat(url).size)


def _score(*remote: RemoteInput, fast: bool = True) -> object:
    ffmpeg = locate_ffmpeg()
    if not fast:
        from vmafx.media.ffmpeg import ffmpeg_info

        ffmpeg = ffmpeg_info(ffmpeg)  # the node's way: PyAV probes each input
    request = ScoreRequest(remote[0].name, tuple(r.name for r in remote[1:]), remote=remote)
    return LibvmafScorer(ffmpeg, SubprocessRunner()).score(request)


def _tampered(remote: RemoteInput) -> RemoteInput:
    head, _, signature = remote.url.rpartition("X-Amz-Signature=")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return RemoteInput(remote.name, head + "X-Amz-Signature=" + flipped, remote.size)


@pytest.mark.parametrize("fast", [True, False], ids=["one-ffmpeg-probe", "pyav-probe"])
def test_a_tampered_signature_is_a_403_auth_error_naming_the_object(store, fast):
    ref, dis = _remote(store, "signed/ref.y4m"), _tampered(_remote(store, "signed/dis.mp4"))
    with pytest.raises(AuthError) as caught:
        _score(ref, dis, fast=fast)
    text = str(caught.value)
    assert "s3://media/signed/dis.mp4" in text and "403" in text
    assert dis.url not in text and "X-Amz-Signature=" not in text.replace("=[redacted]", "")


def test_an_expired_url_is_a_403_auth_error(store):
    ref, dis = _remote(store, "signed/ref.y4m"), _remote(store, "signed/dis.mp4", ttl_s=1)
    time.sleep(2.2)
    with pytest.raises(AuthError, match="expired"):
        _score(ref, dis)


def test_a_deleted_object_is_input_not_found(store, seaweed_s3):
    seaweed_s3.put("signed/gone.mp4", MEDIA / "dis.mp4")
    ref, gone = _remote(store, "signed/ref.y4m"), _remote(store, "signed/gone.mp4")
    seaweed_s3.client().delete_object(Bucket="media", Key="signed/gone.mp4")
    with pytest.raises(InputNotFoundError, match="signed/gone.mp4 does not exist"):
        _score(ref, gone)


def test_signed_inputs_score_as_local_files(store):
    from vmafx.media.scorer import ScoreRequest as Local

    report = _score(_remote(store, "signed/ref.y4m"), _remote(store, "signed/dis.mp4"))
    local = LibvmafScorer(locate_ffmpeg(), SubprocessRunner()).score(
        Local(str(MEDIA / "ref.y4m"), (str(MEDIA / "dis.mp4"),))
    )
    assert report.results[0].pooled == local.results[0].pooled  # type: ignore[attr-defined]


def test_ffmpeg_is_given_exactly_the_protocols_the_url_needs(store):
    from vmafx.media.graph import Input

    remote = _remote(store, "signed/dis.mp4")
    argv = Input(remote.name, remote=remote).argv()
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,tcp"
    https = RemoteInput("s3://b/k.mp4", "https://s3.example.com/b/k.mp4?X-Amz-Signature=ab")
    argv = Input(https.name, remote=https).argv()
    assert argv[argv.index("-protocol_whitelist") + 1] == "https,tls,tcp"
    assert "-format_whitelist" in argv
    assert remote.url not in repr(remote)
