"""`vmafx score`'s fast parser takes exactly the Typer command's options, and hands anything
it does not take as it is back to Typer."""

from __future__ import annotations

import enum
import typing
from pathlib import Path

import pytest
import typer.main

from vmafx.cli import score as score_cmd
from vmafx.cli.entry import score_app
from vmafx.cli.scoring import OPTIONS, ScoreArgs, parse_fast


def _typer_options() -> dict[str, tuple[tuple[str, ...], bool, bool, object, tuple[str, ...]]]:
    command = typer.main.get_command(score_app())
    hints = typing.get_type_hints(score_cmd.score)
    out = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        hint = hints[param.name or ""]
        choices = tuple(m.value for m in hint) if isinstance(hint, enum.EnumMeta) else ()
        out[param.name or ""] = (
            tuple(sorted(param.opts)),
            bool(getattr(param, "is_flag", False)),
            typing.get_origin(hint) is list,
            getattr(param, "min", None),
            choices,
        )
    return out


def test_the_fast_parser_knows_every_option_of_the_typer_command():
    ours = {
        o.dest: (tuple(sorted(o.flags)), o.kind == "flag", o.multiple, o.minimum, o.choices)
        for o in OPTIONS
    }
    assert ours == _typer_options()


def test_the_fast_parser_defaults_are_the_typer_commands():
    command = typer.main.get_command(score_app())
    defaults = ScoreArgs()
    for param in command.params:
        if param.param_type_name == "option" and param.name not in ("model",):
            want = param.default
            assert getattr(defaults, param.name or "") == (
                list(want) if isinstance(want, list | tuple) else want
            ), param.name


def test_a_well_formed_command_line_is_parsed():
    args = parse_fast(
        ["r.y4m", "a.mp4", "b.mp4", "-m", "vmaf_v0.6.1neg", "--feature=psnr", "-f", "ssim",
         "--sync", "shortest", "--no-features", "--per-frame", "f.csv", "--threads", "4"]
    )  # fmt: skip
    assert args is not None
    assert (args.reference, args.distorted) == ("r.y4m", ["a.mp4", "b.mp4"])
    assert args.model == ["vmaf_v0.6.1neg"] and args.feature == ["psnr", "ssim"]
    assert args.sync == "shortest" and args.no_features and args.threads == 4
    assert args.per_frame == Path("f.csv")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["r.y4m", "d.mp4", "--help"],
        ["r.y4m"],
        ["r.y4m", "d.mp4", "--modle", "x"],
        ["r.y4m", "d.mp4", "--subsample", "0"],
        ["r.y4m", "d.mp4", "--sync", "later"],
        ["r.y4m", "d.mp4", "--timeout", "soon"],
        ["r.y4m", "d.mp4", "--model"],
        ["r.y4m", "-d.mp4"],
        ["r.y4m", "d.mp4", "--no-scale=1"],
    ],
)
def test_anything_else_goes_to_typer(argv: list[str]):
    assert parse_fast(argv) is None
