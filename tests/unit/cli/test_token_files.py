"""Every reader of a token file (`--token-file` of the client commands, `vmafx node`'s) takes the
one token in it and refuses anything else with a ConfigError, never a traceback."""

from __future__ import annotations

import pytest

from vmafx.cli.remote import read_token as client_token
from vmafx.errors import ConfigError
from vmafx.node.settings import read_token as node_token

SECRET = "vmafx_Zq3vT9kP0aXbR4mN8sLw2cYh6eJf1uGd7iKo5nQrS0t"
OLD_OUTPUT = (
    "created token 3f0c1a2b (node in tenant acme, )\n"
    "secret (shown once; send it as `authorization: Bearer <secret>`):\n"
    f"{SECRET}\n"
)


@pytest.mark.parametrize("read", [lambda p: client_token(None, p), node_token])
def test_the_three_lines_of_the_old_recipe_give_the_secret(tmp_path, read):
    path = tmp_path / "node.token"
    path.write_text(OLD_OUTPUT)
    assert read(path) == SECRET


@pytest.mark.parametrize("read", [lambda p: client_token(None, p), node_token])
def test_a_file_of_words_is_refused_naming_the_file(tmp_path, read):
    path = tmp_path / "node.token"
    path.write_text("my token is\nin the other file\n")
    with pytest.raises(ConfigError, match=f"the token file {path} holds 2 lines but no token"):
        read(path)
