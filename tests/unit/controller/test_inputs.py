"""Scoring roots and URL schemes: deny by default, symlinks resolved, `..` resolved."""

from __future__ import annotations

import os

import pytest

from vmafx.controller.inputs import InputPolicy
from vmafx.core.jobs import JobKind
from vmafx.errors import InputOutsideRootsError, UsageError


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "media"
    path.mkdir()
    (path / "ref.mp4").write_bytes(b"")
    return path


def test_a_path_under_a_root_is_allowed(root):
    InputPolicy([root]).check(str(root / "ref.mp4"), "acme")


def test_with_no_root_every_local_path_is_refused(root):
    with pytest.raises(InputOutsideRootsError, match="no scoring root"):
        InputPolicy([]).check(str(root / "ref.mp4"), "acme")


def test_a_path_outside_the_roots_is_refused(root):
    with pytest.raises(InputOutsideRootsError, match="outside the scoring roots"):
        InputPolicy([root]).check("/etc/passwd", "acme")


def test_dot_dot_cannot_climb_out_of_a_root(root):
    with pytest.raises(InputOutsideRootsError, match="resolves to /etc/passwd"):
        InputPolicy([root]).check(f"{root}" + "/.." * 12 + "/etc/passwd", "acme")


def test_a_symlink_pointing_out_of_a_root_is_refused(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    os.symlink(secret, root / "innocent.mp4")
    with pytest.raises(InputOutsideRootsError, match="resolves to"):
        InputPolicy([root]).check(str(root / "innocent.mp4"), "acme")


def test_a_root_given_through_a_symlink_still_admits_its_files(root, tmp_path):
    link = tmp_path / "link"
    os.symlink(root, link)
    InputPolicy([link]).check(str(root / "ref.mp4"), "acme")


def test_a_sibling_folder_sharing_the_roots_prefix_is_refused(root, tmp_path):
    sibling = tmp_path / "media-private"
    sibling.mkdir()
    with pytest.raises(InputOutsideRootsError):
        InputPolicy([root]).check(str(sibling / "a.mp4"), "acme")


def test_a_relative_path_is_refused(root):
    with pytest.raises(UsageError, match="relative path"):
        InputPolicy([root]).check("ref.mp4", "acme")


@pytest.mark.parametrize(
    "url", ["https://cdn/a.mp4", "http://h/a.mp4", "s3://b/a", "gs://b/a", "az://c/a"]
)
def test_remote_urls_are_refused_without_a_storage_allow_list(root, url):
    with pytest.raises(UsageError, match="is a remote"):
        InputPolicy([root]).check(url, "acme")


@pytest.mark.parametrize(
    "url", ["concat:/a.mp4|/b.mp4", "subfile:,,start,0,end,0,,:/etc/passwd", "pipe:0", "ftp://h/a"]
)
def test_other_schemes_and_ffmpeg_protocols_are_refused(root, url):
    with pytest.raises(UsageError, match="not allowed"):
        InputPolicy([root]).check(url, "acme")


def test_a_file_url_is_refused_with_the_path_to_give_instead(root):
    with pytest.raises(UsageError, match="is a file: URL") as caught:
        InputPolicy([root]).check(f"file://{root}/ref.mp4", "acme")
    assert caught.value.hint == f"Give the absolute path instead: {root}/ref.mp4"


def test_control_characters_are_refused(root):
    with pytest.raises(UsageError, match="control characters"):
        InputPolicy([root]).check(f"{root}/a\n.mp4", "acme")


def test_a_tenant_root_expands_only_for_safe_tenant_names(tmp_path):
    (tmp_path / "acme").mkdir()
    policy = InputPolicy([f"{tmp_path}/{{tenant}}"])
    policy.check(f"{tmp_path}/acme/a.mp4", "acme")
    assert policy.roots_for("../etc") == ()
    with pytest.raises(InputOutsideRootsError):
        policy.check(f"{tmp_path}/acme/a.mp4", "globex")


def test_every_path_field_of_a_spec_is_checked(root):
    spec = {"source": str(root / "ref.mp4"), "output": "/tmp/elsewhere/out.mp4"}
    with pytest.raises(InputOutsideRootsError, match="output"):
        InputPolicy([root]).check_spec(JobKind.ENCODE, spec, "acme")


def test_each_distorted_input_is_checked(root):
    spec = {"reference": str(root / "ref.mp4"), "distorted": [str(root / "ref.mp4"), "/etc/x"]}
    with pytest.raises(InputOutsideRootsError, match=r"distorted\[1\]"):
        InputPolicy([root]).check_spec(JobKind.SCORE, spec, "acme")


def test_roots_told_with_a_claim_are_reused_briefly_then_resolved_again(tmp_path, monkeypatch):
    real, link = tmp_path / "real", tmp_path / "media"
    real.mkdir()
    (tmp_path / "other").mkdir()
    link.symlink_to(real)
    policy = InputPolicy([link])
    clock = [100.0]
    monkeypatch.setattr("vmafx.controller.inputs.time.monotonic", lambda: clock[0])
    assert policy.roots_to_tell("acme") == (str(real),)
    link.unlink()
    link.symlink_to(tmp_path / "other")
    assert policy.roots_to_tell("acme") == (str(real),)  # within the second: reused
    assert policy.roots_for("acme") == (str(tmp_path / "other"),)  # checks resolve afresh
    clock[0] += 2
    assert policy.roots_to_tell("acme") == (str(tmp_path / "other"),)
