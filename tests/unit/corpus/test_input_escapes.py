"""A corpus manifest under the input policy: playlists, concat lists, FIFOs and overlong paths
are listed with every other problem before anything is scored."""

from __future__ import annotations

import os

import pytest
from tests.unit.corpus.test_manifest import touch, write_manifest

from vmafx.corpus.manifest import load_manifest
from vmafx.errors import ManifestError


def test_playlists_concat_lists_fifos_and_overlong_paths_are_all_listed(tmp_path):
    touch(tmp_path, "ref.y4m", "a.mp4", "steal.m3u8", "list.ffconcat")
    os.mkfifo(tmp_path / "live.mp4")
    rows = [
        {"id": "ok", "distorted": "a.mp4", "reference": "ref.y4m"},
        {"id": "hls", "distorted": "steal.m3u8", "reference": "ref.y4m"},
        {"id": "list", "distorted": "a.mp4", "reference": "list.ffconcat"},
        {"id": "fifo", "distorted": "live.mp4", "reference": "ref.y4m"},
        {"id": "long", "distorted": "a" * 5000 + ".mp4", "reference": "ref.y4m"},
    ]
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(tmp_path, "csv", rows))
    text = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 4, text
    assert "row 2 (id 'hls'): the distorted file steal.m3u8" in text
    assert "is an HLS playlist, which would make ffmpeg open other files" in text
    assert "row 3 (id 'list'): the reference file list.ffconcat" in text
    assert "is an ffmpeg concat list" in text
    assert "row 4 (id 'fifo'): the distorted path live.mp4" in text
    assert "is not a regular file" in text
    assert "row 5 (id 'long'): the distorted path is" in text
    assert "(the limit is 4,096)" in text
