"""An object store that refused a signed URL (expired while the job waited, say): the job is
released so that the next claim brings fresh URLs, and fails once every attempt was refused."""

from __future__ import annotations

from vmafx.errors import AuthError, SignedUrlError
from vmafx.media.runner import CancelToken
from vmafx.node.outcomes import MAX_ATTEMPTS, Verdict, decide

REFUSED = SignedUrlError("The object store refused to serve s3://media/d.mp4 (HTTP 403 Forbidden)")


def test_a_refused_signed_url_is_released_for_a_fresh_claim():
    decision = decide(REFUSED, CancelToken(), attempt=1, node="n1")
    assert decision.verdict is Verdict.RELEASE and decision.outcome == "retried"
    assert "s3://media/d.mp4" in decision.message


def test_refused_on_the_last_attempt_fails_the_job_saying_so():
    decision = decide(REFUSED, CancelToken(), attempt=MAX_ATTEMPTS, node="n1")
    assert decision.verdict is Verdict.FAIL
    assert "refused on every attempt" in decision.message


def test_other_auth_errors_are_not_retried():
    decision = decide(AuthError("no credentials"), CancelToken(), attempt=1, node="n1")
    assert decision.verdict is Verdict.FAIL
