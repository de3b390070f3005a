"""Corpus manifests may name s3:// clips (scored on a farm, which signs them); local mode says
so at once instead of failing every clip."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vmafx.corpus.manifest import load_manifest
from vmafx.errors import ManifestError

pytestmark = pytest.mark.integration


def test_a_manifest_of_objects_loads_with_the_urls_as_given(tmp_path):
    manifest = tmp_path / "clips.csv"
    manifest.write_text("id,distorted,reference\na,s3://media/d.mp4,s3://media/r.mp4\n")
    [clip] = load_manifest(manifest).clips
    assert (clip.distorted_path, clip.reference_path) == ("s3://media/d.mp4", "s3://media/r.mp4")


def test_an_object_playlist_in_a_manifest_is_listed_as_a_problem(tmp_path):
    manifest = tmp_path / "clips.csv"
    manifest.write_text("id,distorted,reference\na,s3://media/d.m3u8,s3://media/r.mp4\n")
    with pytest.raises(ManifestError, match=r"s3://media/d\.m3u8 is an HLS playlist"):
        load_manifest(manifest)


def test_local_mode_refuses_object_clips_pointing_at_the_farm(tmp_path):
    manifest = tmp_path / "clips.csv"
    manifest.write_text("id,distorted,reference\na,s3://media/d.mp4,s3://media/r.mp4\n")
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "corpus", "score", str(manifest), "--out", str(tmp_path / "o.parquet")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "scored on a farm" in out.stderr and "--controller" in out.stderr
