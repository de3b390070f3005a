"""`vmafx operator` on the command line: kopf is optional, and its absence is exit 19."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import report_error
from vmafx.errors import ConfigError, MissingExtraError


def test_the_cli_and_its_operator_help_work_without_kopf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kopf", None)  # `import kopf` now fails
    result = CliRunner().invoke(app, ["operator", "--help"])
    assert result.exit_code == 0, result.output
    assert "VmafxJob" in result.output and "--namespace" in result.output


def test_without_kopf_the_operator_names_the_install_command_and_exits_19(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "kopf" else real(name, *a)
    )
    result = CliRunner().invoke(app, ["operator", "--controller", "127.0.0.1:1"])
    error = result.exception
    assert isinstance(error, MissingExtraError)
    assert str(error) == (
        "`vmafx operator` needs kopf, which is not installed. "
        "Install it with: pip install 'vmafx[operator]'"
    )
    assert report_error(error) == 19


def test_a_poll_interval_of_zero_is_refused() -> None:
    result = CliRunner().invoke(app, ["operator", "--poll-interval", "0"])
    assert isinstance(result.exception, ConfigError)
    assert "--poll-interval must be positive" in str(result.exception)
