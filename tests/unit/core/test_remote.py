"""Object URLs as values: parsing, the protocols ffmpeg may use, and redaction of signed URLs."""

from __future__ import annotations

import pytest

from vmafx.core.remote import (
    ObjectUrl,
    RemoteInput,
    is_remote,
    parse_object_url,
    protocols_for,
    redact,
)
from vmafx.errors import UsageError

SIGNED = (
    "https://s3.eu-west-1.amazonaws.com/bkt/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261206%2Feu-west-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261206T181021Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=03cd1200f274866bc47536a6652533b445a8c63f5d9e2e4c1993b81db05186a4"
)


def test_an_object_url_splits_into_bucket_and_key_and_back():
    url = parse_object_url("s3://media/clips/ref.mp4")
    assert url == ObjectUrl("s3", "media", "clips/ref.mp4")
    assert str(url) == "s3://media/clips/ref.mp4" and url.extra == "s3"


@pytest.mark.parametrize("value", ["s3://media", "s3://media/", "s3:///key.mp4", "s3://b/dir/"])
def test_a_url_that_names_no_object_is_refused(value):
    with pytest.raises(UsageError, match="names no object"):
        parse_object_url(value)


def test_a_url_with_its_own_signature_is_refused_without_echoing_it():
    with pytest.raises(UsageError) as caught:
        parse_object_url("s3://b/k.mp4?X-Amz-Signature=deadbeef")
    assert "deadbeef" not in str(caught.value)


def test_remote_values_are_told_from_paths():
    assert is_remote("s3://b/k.mp4") and is_remote("https://x/y.mp4") and is_remote("gs://b/k")
    assert (
        not is_remote("/media/a:b.mp4") and not is_remote("concat:a|b") and not is_remote("c.mp4")
    )


def test_ffmpeg_may_open_only_what_the_url_scheme_needs():
    assert protocols_for("https://h/k") == "https,tls,tcp"
    assert protocols_for("http://127.0.0.1:9000/k") == "http,tcp"
    with pytest.raises(UsageError):
        protocols_for("sftp://h/k")


def test_redact_replaces_a_signed_url_by_its_name_even_unquoted():
    remote = RemoteInput("s3://bkt/a b.mp4", SIGNED)
    text = f"Input #1 from '{SIGNED}'\nError opening input file {SIGNED.replace('%20', ' ')}."
    cleaned = redact(text.replace("%2F", "/") + "\n" + text, [remote])
    assert "03cd1200" not in cleaned and "AKIAEXAMPLE" not in cleaned
    assert "s3://bkt/a b.mp4" in cleaned
    assert remote.url not in repr(remote)


def test_redact_blanks_signatures_of_urls_it_was_not_told_about():
    text = redact("GET https://acct.blob.core.windows.net/c/k?sv=2022&sig=SECRETSIG&se=x")
    assert "SECRETSIG" not in text and "sig=[redacted]" in text
