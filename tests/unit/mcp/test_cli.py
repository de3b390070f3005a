"""`vmafx mcp` through the CLI's entry point: refusals are one paragraph and an exit code."""

from __future__ import annotations

import sys

import pytest

from vmafx.cli.app import app
from vmafx.cli.entry import run


def exit_of(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        run(app, "vmafx", args)
    return int(info.value.code or 0), capsys.readouterr().err


def test_http_without_a_controller_is_refused_with_the_fix_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VMAFX_CONTROLLER_ADDR", raising=False)
    code, err = exit_of(["mcp", "--http", "127.0.0.1:0"], capsys)
    assert code == 2
    assert "checks bearer tokens with the controller" in err
    assert "--no-auth" in err


def test_without_the_sdk_vmafx_mcp_exits_19_with_the_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    code, err = exit_of(["mcp"], capsys)
    assert code == 19
    assert "pip install 'vmafx[mcp]'" in err
