"""The controller's half of the input policy, over HTTP: specs no node may or can run are
refused at submit with the reason, and nothing is stored (stat only: no media is opened)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from vmafx.core.input_policy import MAX_PATH_CHARS

from .conftest import Api
from .test_bad_input import error_of

pytestmark = pytest.mark.anyio


async def refused(api: Api, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = await api.client.post("/v1/jobs", json=body, headers=api.headers())
    error = error_of(response, status)
    listed = await api.client.get("/v1/jobs", headers=api.headers("reader"))
    assert listed.json()["jobs"] == []
    return error


async def test_a_playlist_under_the_tenants_root_pointing_at_another_file_is_refused(mem: Api):
    other = mem.root.parent / "tenant-a" / "secret.mp4"
    playlist = mem.root / "steal.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXTINF:10,\n{other}\n#EXT-X-ENDLIST\n")
    error = await refused(mem, mem.score_body(spec={"reference": str(playlist)}), 400)
    assert error["type"] == "NotVideoError"
    assert error["message"] == (
        f"The reference {playlist} is an HLS playlist, which would make ffmpeg open other "
        "files; vmafx refuses it."
    )
    assert "single-file containers" in error["hint"]


@pytest.mark.parametrize("name", ["list.ffconcat", "manifest.mpd", "radio.m3u"])
async def test_other_lists_of_files_are_refused_by_name(mem: Api, name: str):
    (mem.root / name).write_text("ffconcat version 1.0\n")
    body = mem.score_body(spec={"distorted": [str(mem.root / name)]})
    assert (await refused(mem, body, 400))["type"] == "NotVideoError"


async def test_a_fifo_under_the_root_is_refused_at_submit(mem: Api):
    os.mkfifo(mem.root / "live.mp4")
    body = mem.score_body(spec={"distorted": [str(mem.root / "live.mp4")]})
    error = await refused(mem, body, 400)
    assert error["type"] == "InputError"
    assert "is a FIFO (named pipe), not a regular file" in error["message"]


async def test_a_folder_as_input_is_refused_at_submit(mem: Api):
    (mem.root / "clips").mkdir()
    body = mem.score_body(spec={"reference": str(mem.root / "clips")})
    error = await refused(mem, body, 400)
    assert "is a folder, not a video file" in error["message"]


async def test_a_folder_as_output_is_refused_at_submit(mem: Api):
    spec = {"source": str(mem.root / "ref.mp4"), "output": str(mem.root), "codec": "h264"}
    error = await refused(mem, {"kind": "encode", "spec": spec}, 400)
    assert f"output {str(mem.root)!r} is a folder" in error["message"]


async def test_a_path_longer_than_the_limit_is_refused_naming_the_limit(mem: Api):
    long = str(mem.root / ("a" * 64_000)) + ".mp4"
    error = await refused(mem, mem.score_body(spec={"reference": long}), 400)
    assert error["type"] == "UsageError"
    assert f"paths are limited to {MAX_PATH_CHARS:,} (MAX_PATH_CHARS)" in error["message"]
    assert len(error["message"]) < 300


async def test_a_file_url_is_refused_with_the_path_to_give(mem: Api):
    body = mem.score_body(spec={"reference": f"file://{mem.root}/ref.mp4"})
    error = await refused(mem, body, 400)
    assert "is a file: URL; nodes open local paths only" in error["message"]
    assert error["hint"] == f"Give the absolute path instead: {mem.root}/ref.mp4"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference", "https://cdn.example/ref.mp4"),
        ("reference", "s3://bucket/ref.mp4"),
        ("distorted", ["gs://bucket/dis.mp4"]),
        ("distorted", ["az://container/dis.mp4"]),
    ],
)
async def test_remote_inputs_are_refused_without_a_storage_allow_list(
    mem: Api, field: str, value: Any
):
    error = await refused(mem, mem.score_body(spec={field: value}), 400)
    assert "is a remote" in error["message"]


async def test_a_remote_output_is_refused(mem: Api):
    spec = {"source": str(mem.root / "ref.mp4"), "output": "s3://bucket/o.mp4", "codec": "h264"}
    error = await refused(mem, {"kind": "encode", "spec": spec}, 400)
    assert "output 's3://bucket/o.mp4' is a remote s3: URL" in error["message"]


async def test_a_model_file_outside_the_roots_is_403(mem: Api):
    model = mem.root.parent / "tenant-a" / "model.json"
    error = await refused(mem, mem.score_body(spec={"models": [str(model)]}), 403)
    assert error["type"] == "InputOutsideRootsError"
    assert error["message"].startswith(f"models[0] {str(model)!r} lies outside the scoring roots")


async def test_a_model_file_under_the_roots_and_built_in_models_are_accepted(mem: Api):
    (mem.root / "custom.json").write_text("{}")
    models = ["vmaf_v0.6.1neg", str(mem.root / "custom.json")]
    await mem.submit(spec={"models": models})


async def test_a_name_with_ffmpeg_url_syntax_is_one_local_file_and_accepted(mem: Api):
    (mem.root / "concat:ref.mp4|dis.mp4").write_bytes(b"")
    await mem.submit(spec={"distorted": [str(mem.root / "concat:ref.mp4|dis.mp4")]})


@pytest.mark.parametrize("name", ["out.m3u8", "out.mpd"])
async def test_an_output_whose_muxer_writes_several_files_is_refused(mem: Api, name: str):
    output = str(mem.root / name)
    spec = {"source": str(mem.root / "ref.mp4"), "output": output, "codec": "h264"}
    error = await refused(mem, {"kind": "encode", "spec": spec}, 400)
    assert f"output {output!r} names a" in error["message"]
    assert "whose muxer writes segment files beside it" in error["message"]
