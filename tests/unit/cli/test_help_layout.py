"""`--help` keeps its examples one per line at 80 columns (issue 18 item 7)."""

from __future__ import annotations

from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import score_app
from vmafx.cli.helptext import examples_kept


def help_lines(application, *args: str) -> list[str]:
    result = CliRunner().invoke(application, [*args, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.stdout.splitlines()]


def test_up_help_shows_each_example_on_a_line_of_its_own():
    lines = help_lines(app, "up")
    assert "vmafx up                 # then open the printed UI address" in lines
    assert "vmafx up --nodes 2       # two local nodes" in lines
    assert "vmafx demo               # from another terminal: a small encode ladder" in lines


def test_score_help_keeps_examples_and_reflows_prose():
    lines = help_lines(score_app(), "score")
    assert "vmafx score ref.mp4 enc_crf23.mp4 enc_crf28.mp4" in lines
    assert "vmafx score ref.mp4 dis.mp4 --format json --per-frame frames.csv" in lines
    assert not any(line.endswith("distorted inputs are") for line in lines)  # no ragged prose


def test_indented_blocks_are_fenced_and_prose_is_left_alone():
    text = "First line.\n\nOne paragraph.\n\n    vmafx up\n    vmafx demo\n\n    vmafx x\n"
    assert examples_kept(text) == (
        "First line.\n\nOne paragraph.\n\n```\nvmafx up\nvmafx demo\n\nvmafx x\n```\n"
    )


def test_an_indented_continuation_of_a_paragraph_is_not_a_block():
    text = "A list:\n    still the paragraph\n"
    assert examples_kept(text) == text
