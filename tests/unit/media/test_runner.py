import pytest

from vmafx.errors import FfmpegError
from vmafx.media.runner import RunResult, check_returncode, parse_progress_block, stderr_tail
from vmafx.testing import FakeRunner, ok


def test_progress_blocks_give_frames_fps_time_and_the_end():
    block = ["frame=120", "fps=24.5", "out_time_us=5000000", "speed=1.02x", "progress=continue"]
    p = parse_progress_block(block)
    assert (p.frame, p.fps, p.out_time_s, p.done) == (120, 24.5, 5.0, False)
    assert parse_progress_block(["frame=200", "progress=end"]).done


def test_progress_tolerates_missing_and_na_values():
    p = parse_progress_block(["frame=3", "fps=N/A", "out_time_us=N/A", "progress=continue"])
    assert (p.frame, p.fps, p.out_time_s) == (3, 0.0, 0.0)


def test_stderr_tail_keeps_the_last_non_blank_lines():
    text = "\n".join(f"line {i}" for i in range(30)) + "\n\n"
    assert stderr_tail(text, 3) == "line 27\nline 28\nline 29"


def test_a_failed_run_raises_with_argv_returncode_and_stderr_tail():
    result = RunResult(["ffmpeg", "-i", "x"], 1, "a\nb\nx: Invalid data\n", 0.1)
    with pytest.raises(FfmpegError) as info:
        check_returncode(result, "probing x")
    assert info.value.returncode == 1
    assert info.value.argv == ["ffmpeg", "-i", "x"]
    assert "Invalid data" in info.value.stderr_tail
    assert "Invalid data" in str(info.value)


def test_fake_runner_records_calls_and_answers_from_its_script():
    runner = FakeRunner(ok(stdout="hello"))
    assert runner.run(["ffmpeg", "-version"]).stdout == "hello"
    assert runner.calls == [["ffmpeg", "-version"]]
