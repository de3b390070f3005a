import pytest

from vmafx.errors import FfmpegCapabilityError, FfmpegNotFoundError
from vmafx.media import ffmpeg
from vmafx.media.runner import RunResult
from vmafx.testing import FakeRunner

FILTERS = """Filters:
  T.. = Timeline support
 .. libvmaf           VV->V      Calculate the VMAF between two video streams.
 TSC scale            V->V       Scale the input video size.
"""


def answer(filters: str):
    def respond(argv):
        if "-version" in argv:
            return RunResult(argv, 0, "", 0.0, "ffmpeg version n9.0.2 Copyright (c)\n")
        return RunResult(argv, 0, "", 0.0, filters)

    return respond


def test_inspect_reads_version_and_filters_from_stdout():
    info = ffmpeg.inspect("/bin/ff", FakeRunner(answer(FILTERS)))
    assert info.version == "n9.0.2"
    assert info.has_libvmaf
    assert "scale" in info.filters


def test_inspect_sees_a_build_without_libvmaf():
    info = ffmpeg.inspect("/bin/ff", FakeRunner(answer(FILTERS.replace("libvmaf", "libfoo"))))
    assert not info.has_libvmaf


def test_locate_refuses_an_override_that_does_not_exist(tmp_path):
    with pytest.raises(FfmpegNotFoundError, match="VMAFX_FFMPEG"):
        ffmpeg.locate(str(tmp_path / "nope"))


def test_locate_defaults_to_imageio_ffmpegs_binary():
    assert "ffmpeg" in ffmpeg.locate(None)


def test_ffmpeg_info_names_the_binary_when_libvmaf_is_missing(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\nif [ \"$2\" = -version ]; then echo 'ffmpeg version 1.0-fake'; else echo ' .. scale V->V x'; fi\n"
    )
    fake.chmod(0o755)
    with pytest.raises(FfmpegCapabilityError, match=f"{fake}.*1.0-fake.*no libvmaf"):
        ffmpeg.ffmpeg_info(str(fake))
