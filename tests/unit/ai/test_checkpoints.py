"""Checkpoint files: atomic writes, digests, and every way a file fails verification."""

from __future__ import annotations

import os

import pytest

from vmafx.ai.checkpoints import (
    atomic_write,
    checkpoint_name,
    digest_path,
    read_verified,
    sha256_hex,
    version_of,
    write_checkpoint,
)
from vmafx.errors import ModelError


def test_names_carry_a_six_digit_version():
    assert checkpoint_name(42) == "model_v000042.onnx"
    assert version_of("model_v000042.onnx") == 42
    assert version_of("model_v1234567.onnx") == 1234567
    assert version_of("model_v42.onnx") is None
    assert version_of("model_v000042.onnx.sha256") is None


def test_a_checkpoint_is_written_with_its_digest_file(tmp_path):
    path, digest = write_checkpoint(tmp_path / "m", 42, b"model bytes")
    assert path == tmp_path / "m" / "model_v000042.onnx"
    assert digest == sha256_hex(b"model bytes")
    assert digest_path(path).read_text() == digest + "\n"
    assert read_verified(path, digest) == b"model bytes"
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "model_v000042.onnx",
        "model_v000042.onnx.sha256",
    ]


def test_a_truncated_checkpoint_fails_verification(tmp_path):
    path, _ = write_checkpoint(tmp_path, 1, b"0123456789" * 100)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(
        ModelError, match="fails verification.*corrupt, truncated or replaced"
    ) as info:
        read_verified(path)
    assert info.value.version == 1


def test_a_checkpoint_that_differs_from_the_registry_hash_is_refused(tmp_path):
    path, _ = write_checkpoint(tmp_path, 2, b"abc")
    with pytest.raises(ModelError, match="the registry lists"):
        read_verified(path, "0" * 64)


def test_a_checkpoint_without_a_digest_file_is_unverified(tmp_path):
    path, _ = write_checkpoint(tmp_path, 3, b"abc")
    digest_path(path).unlink()
    with pytest.raises(ModelError, match=r"unverified: model_v000003.onnx.sha256 does not exist"):
        read_verified(path)


def test_a_malformed_digest_file_is_refused(tmp_path):
    path, _ = write_checkpoint(tmp_path, 4, b"abc")
    digest_path(path).write_text("not-a-digest\n")
    with pytest.raises(ModelError, match="does not hold a SHA-256"):
        read_verified(path)


def test_a_write_that_fails_midway_leaves_neither_the_file_nor_a_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model_v000005.onnx"

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_an_atomic_write_replaces_the_old_content_whole(tmp_path):
    target = tmp_path / "f"
    atomic_write(target, b"old")
    atomic_write(target, b"new content")
    assert target.read_bytes() == b"new content"
