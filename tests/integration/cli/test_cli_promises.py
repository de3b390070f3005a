"""The CLI keeps its promises (issue 18 item 7), against a real controller on loopback: the
README's token recipe works as written, and the UI's address given as `--controller` is named
for what it is."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from tests.farm import Farm
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import report_error
from vmafx.errors import VmafxError

pytestmark = pytest.mark.integration


def vmafx(*args: str) -> tuple[int, str, str]:
    """`vmafx ARGS` as `main()` runs it: (exit code, stdout, stderr with the error paragraph)."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "VMAFX_TOKEN": None})
    if isinstance(result.exception, VmafxError):
        buffer = io.StringIO()
        code = report_error(result.exception, Console(file=buffer, width=400))
        return code, result.stdout, result.stderr + buffer.getvalue()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def store_url(farm: Farm) -> str:
    return f"sqlite:///{Path(farm.media).parent / 'controller.db'}"


def test_the_readme_token_recipe_writes_a_file_that_token_file_reads(farm, tmp_path):
    # vmafx tokens create --role reader --tenant acme > reader.token
    code, stdout, stderr = vmafx(
        "tokens", "create", "--role", "reader", "--tenant", "acme", "--store", store_url(farm)
    )
    assert code == 0, stderr
    assert stdout.startswith("vmafx_") and stdout.count("\n") == 1
    assert "created token" in stderr and "stdout" in stderr
    token_file = tmp_path / "reader.token"
    token_file.write_text(stdout)
    code, stdout, stderr = vmafx(
        "nodes", "list", "--controller", farm.grpc_target, "--token-file", str(token_file)
    )
    assert code == 0, stderr
    assert "no live node" in stdout


def test_tokens_create_in_json_is_one_object_with_the_secret(farm):
    code, stdout, stderr = vmafx(
        "tokens", "create", "--role", "node", "--tenant", "acme", "--name", "gpu-box",
        "--store", store_url(farm), "--format", "json",
    )  # fmt: skip
    assert code == 0, stderr
    token = json.loads(stdout)
    assert token["secret"].startswith("vmafx_") and token["role"] == "node"
    assert token["tenant"] == "acme" and token["name"] == "gpu-box" and token["id"]


def test_a_token_file_with_the_three_lines_older_versions_printed_is_read(farm, tmp_path):
    code, secret, _ = vmafx(
        "tokens", "create", "--role", "reader", "--tenant", "acme", "--store", store_url(farm)
    )
    token_file = tmp_path / "node.token"
    token_file.write_text(
        "created token 3f0c1a2b (reader in tenant acme, )\n"
        "secret (shown once; send it as `authorization: Bearer <secret>`):\n" + secret
    )
    code, _, stderr = vmafx(
        "nodes", "list", "--controller", farm.grpc_target, "--token-file", str(token_file)
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_a_token_file_without_a_token_is_refused_in_one_sentence(farm, tmp_path):
    token_file = tmp_path / "node.token"
    token_file.write_text("created token 3f0c1a2b (reader in tenant acme, )\nsecret:\n")
    code, _, stderr = vmafx(
        "nodes", "list", "--controller", farm.grpc_target, "--token-file", str(token_file)
    )
    assert code == 2
    assert f"the token file {token_file} holds 2 lines but no token" in stderr
    assert "Traceback" not in stderr


def test_the_ui_address_given_as_controller_is_named_the_http_port(farm):
    code, _, stderr = vmafx("jobs", "list", "--controller", farm.http_url + "/")
    assert code == 17
    http = farm.http_url.removeprefix("http://")
    assert f"{http} is the controller's HTTP/UI port" in stderr
    assert "The gRPC port is 9090 by default: --controller 127.0.0.1:9090" in stderr
    assert "HTTP/2" not in stderr
