"""Remote inputs at ffmpeg's edge, without ffmpeg: what ffmpeg's HTTP errors become, and a
runner whose results and errors never carry a signed URL."""

from __future__ import annotations

import pytest

from vmafx.core.remote import RemoteInput
from vmafx.errors import FfmpegTimeoutError, InputNotFoundError, SignedUrlError
from vmafx.media.remote import RedactingRunner, remote_error
from vmafx.media.runner import RunResult
from vmafx.testing import FakeRunner

SIGNED = "https://s3.example/media/dis.mp4?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=abcdef0123"
DIS = RemoteInput("s3://media/dis.mp4", SIGNED)
REF = RemoteInput("s3://media/ref.mp4", SIGNED.replace("dis", "ref").replace("abcdef", "fedcba"))


def test_a_403_on_opening_names_the_input_that_failed():
    stderr = (
        "[http @ 0x1] HTTP error 403 Forbidden\n"
        "[in#1 @ 0x2] Error opening input: Server returned 403 Forbidden (access denied)\n"
        "Error opening input file s3://media/dis.mp4.\n"
    )
    error = remote_error([REF, DIS], stderr)
    assert isinstance(error, SignedUrlError)
    assert "s3://media/dis.mp4 (HTTP 403 Forbidden)" in str(error)
    assert "s3://media/ref.mp4" not in str(error)


def test_a_404_is_input_not_found_and_other_failures_are_not_guessed():
    stderr = "[http @ 0x1] HTTP error 404 Not Found\nError opening input file s3://media/dis.mp4.\n"
    error = remote_error([DIS], stderr)
    assert isinstance(error, InputNotFoundError) and error.path == "s3://media/dis.mp4"
    assert remote_error([DIS], "Invalid data found when processing input\n") is None


def test_a_403_while_reading_names_every_remote_input():
    error = remote_error([REF, DIS], "[http @ 0x1] HTTP error 403 Forbidden\n")
    assert "s3://media/ref.mp4 or s3://media/dis.mp4" in str(error)


def test_results_come_back_with_names_instead_of_signed_urls():
    inner = FakeRunner(lambda argv: RunResult(argv, 1, f"Input #0, from '{SIGNED}':\n", 0.1))
    result = RedactingRunner(inner, [DIS]).run(["ffmpeg", "-i", SIGNED])
    assert inner.calls == [["ffmpeg", "-i", SIGNED]]  # ffmpeg itself got the signed URL
    assert result.argv == ["ffmpeg", "-i", "s3://media/dis.mp4"]
    assert SIGNED not in result.stderr and "s3://media/dis.mp4" in result.stderr


def test_errors_come_back_with_names_instead_of_signed_urls():
    def timeout(argv: list[str]) -> RunResult:
        raise FfmpegTimeoutError(
            f"ffmpeg ran past 5 s reading {SIGNED}", argv=argv, stderr_tail=f"open {SIGNED}"
        )

    with pytest.raises(FfmpegTimeoutError) as caught:
        RedactingRunner(FakeRunner(timeout), [DIS]).run(["ffmpeg", "-i", SIGNED])
    error = caught.value
    assert "abcdef0123" not in str(error) + " ".join(error.argv) + error.stderr_tail
    assert "s3://media/dis.mp4" in str(error)
