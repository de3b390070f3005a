"""What boto3's exceptions become: vmafx's errors with the exit codes of the CLI's table, and
never a secret in the message."""

from __future__ import annotations

import pytest

botocore = pytest.importorskip("botocore")

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError  # noqa: E402

from vmafx.core.remote import ObjectUrl  # noqa: E402
from vmafx.errors import (  # noqa: E402
    AuthError,
    InputNotFoundError,
    OutputWriteError,
    UnavailableError,
    exit_code_for,
)
from vmafx.storage.s3 import S3Credentials, translate  # noqa: E402

URL = ObjectUrl("s3", "media", "clips/ref.mp4")


def client_error(code: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "HeadObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "kind", "code", "text"),
    [
        (
            client_error("404", 404),
            InputNotFoundError,
            3,
            "s3://media/clips/ref.mp4 does not exist",
        ),
        (
            client_error("NoSuchBucket", 404),
            InputNotFoundError,
            3,
            "The bucket media does not exist",
        ),
        (client_error("403", 403), AuthError, 16, "(HTTP 403)"),
        (client_error("SignatureDoesNotMatch", 403), AuthError, 16, "SignatureDoesNotMatch"),
        (NoCredentialsError(), AuthError, 16, "AWS_ACCESS_KEY_ID"),
        (
            EndpointConnectionError(endpoint_url="http://x"),
            UnavailableError,
            17,
            "AWS_ENDPOINT_URL",
        ),
    ],
)
def test_each_failure_reading_maps_to_its_error_and_exit_code(error, kind, code, text):
    mapped = translate(error, URL, "read")
    assert isinstance(mapped, kind) and exit_code_for(mapped) == code
    assert text in str(mapped)


def test_a_failed_upload_says_nothing_was_written_and_reads_wrapped_codes():
    wrapped = RuntimeError(
        "Failed to upload x to media/k: An error occurred (AccessDenied) when..."
    )
    assert isinstance(translate(wrapped, URL, "write"), AuthError)
    other = translate(client_error("InternalError", 500), URL, "write")
    assert isinstance(other, OutputWriteError) and "nothing was written" in str(other)


def test_credentials_come_from_the_standard_names_and_hide_the_secret():
    found = S3Credentials.from_mapping(
        {
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "s3cr3t",
            "AWS_ENDPOINT_URL": "http://h:9000",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert found is not None and (found.endpoint_url, found.region) == (
        "http://h:9000",
        "eu-west-1",
    )
    assert "s3cr3t" not in repr(found)
    assert S3Credentials.from_mapping({"AWS_ACCESS_KEY_ID": "AKID"}) is None
