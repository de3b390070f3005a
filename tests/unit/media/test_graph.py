from fractions import Fraction

import pytest

from vmafx.core.input_policy import FORMAT_WHITELIST
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.media.graph import (
    Input,
    ScoreOptions,
    build_score_command,
    distorted_chain,
    escape_option,
    feature_entries,
    model_refs,
)


def info(path="x.mp4", w=1920, h=1080, pix_fmt="yuv420p", fps=Fraction(24), n=10):
    return VideoInfo(path, w, h, pix_fmt, 8, fps, False, n, n / 24, "h264", "mp4")


def graph_of(argv):
    return argv[argv.index("-filter_complex") + 1]


def test_several_distorted_inputs_share_one_decoded_and_split_reference():
    cmd = build_score_command(
        "ffmpeg",
        (Input("ref.mp4"), info("ref.mp4")),
        [(Input(f"d{i}.mp4"), info(f"d{i}.mp4")) for i in range(3)],
        ScoreOptions(threads=2),
        "/tmp/logs",
    )
    graph = graph_of(cmd.argv)
    assert graph.count("split=3") == 1
    assert cmd.argv.count("-i") == 4
    assert cmd.argv[cmd.argv.index("-i") + 1] == "file:ref.mp4"
    assert graph.count("libvmaf=") == 3
    assert cmd.log_paths == [f"/tmp/logs/vmaf_{i}.json" for i in range(3)]
    assert [cmd.argv[i + 1] for i, a in enumerate(cmd.argv) if a == "-map"] == [
        "[o0]",
        "[o1]",
        "[o2]",
    ]


def test_libvmaf_gets_the_distorted_input_first_and_the_reference_second():
    cmd = build_score_command(
        "ffmpeg", (Input("ref.mp4"), info()), [(Input("d.mp4"), info())], ScoreOptions(), "/t"
    )
    graph = graph_of(cmd.argv)
    assert "[d0][r0]libvmaf=" in graph
    assert graph.startswith("[0:v]settb=1/24,setpts=N[r0]")
    assert "[1:v]settb=1/24,setpts=N[d0]" in graph


def test_both_inputs_are_paired_by_frame_index_in_one_time_base_whatever_their_containers():
    # An MP4 (1/12288) against an MKV (1/1000) at 24 fps: container timestamps round apart.
    ref = info(fps=Fraction(24000, 1001))
    assert distorted_chain(ref, info("enc.mkv", fps=Fraction(24000, 1001)), ScoreOptions()) == (
        "settb=1001/24000,setpts=N"
    )
    graph = graph_of(
        build_score_command("ff", (Input("r"), ref), [(Input("d"), ref)], ScoreOptions(), "/t").argv
    )
    assert graph.startswith("[0:v]settb=1001/24000,setpts=N[r0]")


def test_a_rate_nobody_knows_keeps_the_container_timestamps_from_zero():
    unknown = info(fps=Fraction(0))
    assert distorted_chain(unknown, unknown, ScoreOptions()) == "setpts=PTS-STARTPTS"


def test_one_pass_carries_threads_subsample_models_and_features():
    opts = ScoreOptions(
        models=("vmaf_v0.6.1", "vmaf_v0.6.1neg"), features=("float_ssim",), subsample=5, threads=8
    )
    graph = graph_of(
        build_score_command("ff", (Input("r"), info()), [(Input("d"), info())], opts, "/t").argv
    )
    assert "n_threads=8" in graph
    assert "n_subsample=5" in graph
    assert (
        r"version=vmaf_v0.6.1\\:name=vmaf_v0.6.1|version=vmaf_v0.6.1neg\\:name=vmaf_v0.6.1neg"
        in graph
    )
    assert "name=float_ssim|" in graph
    assert r"name=psnr\\:enable_mse=true" in graph


def test_a_smaller_distorted_input_is_scaled_to_the_reference_with_bicubic():
    chain = distorted_chain(info(), info(w=1280, h=720), ScoreOptions())
    assert chain == "settb=1/24,setpts=N,scale=1920:1080:flags=bicubic"


def test_no_scale_leaves_the_size_alone():
    assert "scale" not in distorted_chain(info(), info(w=1280, h=720), ScoreOptions(scale=False))


def test_sync_fps_converts_the_distorted_frame_rate_to_the_reference():
    chain = distorted_chain(
        info(fps=Fraction(24000, 1001)), info(fps=Fraction(30)), ScoreOptions(sync_fps=True)
    )
    assert "fps=24000/1001" in chain


def test_a_different_pixel_format_is_converted_to_the_reference_format():
    chain = distorted_chain(info(pix_fmt="yuv420p10le"), info(), ScoreOptions())
    assert chain.endswith("format=yuv420p10le")


def test_raw_inputs_get_format_size_and_rate_before_their_path():
    raw = Input("a.yuv", RawFormat(1920, 1080, "yuv420p10le", Fraction(30000, 1001)))
    assert raw.argv() == [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        FORMAT_WHITELIST,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p10le",
        "-s",
        "1920x1080",
        "-framerate",
        "30000/1001",
        "-i",
        "file:a.yuv",
    ]


def test_a_model_scores_under_its_own_name_whether_alone_or_with_others():
    assert [m.name for m in model_refs(["vmaf_v0.6.1"])] == ["vmaf_v0.6.1"]
    assert [m.name for m in model_refs([])] == ["vmaf_v0.6.1"]
    names = [m.name for m in model_refs(["vmaf_v0.6.1", "/models/custom.json", "vmaf_v0.6.1"])]
    assert names == ["vmaf_v0.6.1", "custom", "vmaf_v0.6.1_2"]
    assert model_refs(["/models/custom.json"])[0].is_path


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("/tmp/a.json", "/tmp/a.json"),
        ("/tmp/a:b.json", r"/tmp/a\\:b.json"),
        ("/tmp/a,b[1];c.json", r"/tmp/a\,b\[1\]\;c.json"),
        ("it's", r"it\\\'s"),
    ],
)
def test_values_are_escaped_for_both_filtergraph_levels(raw, escaped):
    assert escape_option(raw) == escaped


def test_feature_vector_adds_its_extractors_once():
    entries = feature_entries(ScoreOptions(features=("psnr", "cambi")))
    assert entries.count("name=psnr:enable_mse=true") == 1
    assert "name=psnr" not in entries
    assert "name=cambi" in entries
    assert feature_entries(ScoreOptions(feature_vector=False)) == []


def test_shortest_ends_each_comparison_with_the_shorter_input():
    cmd = build_score_command(
        "ff", (Input("r"), info()), [(Input("d"), info())], ScoreOptions(), "/t", shortest=True
    )
    assert ":shortest=1" in graph_of(cmd.argv)


def test_the_command_asks_for_progress_and_decoded_frame_counts():
    argv = build_score_command(
        "ff", (Input("r"), info()), [(Input("d"), info())], ScoreOptions(), "/t"
    ).argv
    assert argv[:1] == ["ff"]
    assert argv[argv.index("-progress") : argv.index("-progress") + 2] == ["-progress", "pipe:1"]
    assert argv[argv.index("-v") + 1] == "verbose"
    assert argv[-3:] == ["null", "-"] or argv[-2:] == ["null", "-"]


def test_decode_threads_bound_every_decoder_and_the_filter_graph():
    opts = ScoreOptions(decode_threads=1)
    argv = build_score_command("ff", (Input("r"), info()), [(Input("d"), info())], opts, "/t").argv
    assert argv[argv.index("-filter_complex_threads") + 1] == "1"
    inputs = [i for i, a in enumerate(argv) if a == "-i"]
    starts = [argv.index("-filter_complex_threads") + 2, *(i + 2 for i in inputs[:-1])]
    assert all(argv[start : start + 2] == ["-threads", "1"] for start in starts)
    default = build_score_command(
        "ff", (Input("r"), info()), [(Input("d"), info())], ScoreOptions(), "/t"
    )
    assert "-threads" not in default.argv


def test_ffmpegs_psnr_and_ssim_run_in_the_same_graph_on_the_split_reference():
    cmd = build_score_command(
        "ffmpeg",
        (Input("ref.mp4"), info("ref.mp4")),
        [(Input(f"d{i}.mp4"), info(f"d{i}.mp4")) for i in range(2)],
        ScoreOptions(features=("ffmpeg:psnr", "ffmpeg:ssim", "float_ssim"), threads=2),
        "/tmp/logs",
        shortest=True,
    )
    graph = graph_of(cmd.argv)
    assert cmd.argv.count("-i") == 3  # the reference is decoded once
    assert graph.count("split=6") == 1  # per distorted input: libvmaf, psnr, ssim
    assert "[d0][r0_psnr]psnr=stats_file=/tmp/logs/psnr_0.log:shortest=1[d0_psnr]" in graph
    assert "[d0_psnr][r0_ssim]ssim=stats_file=/tmp/logs/ssim_0.log:shortest=1[d0_ssim]" in graph
    assert "[d0_ssim][r0]libvmaf=" in graph
    assert (cmd.filters, cmd.features) == (["psnr", "ssim"], ["float_ssim"])
    assert cmd.stats_paths[1] == {"psnr": "/tmp/logs/psnr_1.log", "ssim": "/tmp/logs/ssim_1.log"}
    assert "ffmpeg" not in graph.split("libvmaf=", 1)[1]  # not a libvmaf feature
