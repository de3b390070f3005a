"""A token file holds one token; anything else is read when unambiguous, else refused clearly."""

from __future__ import annotations

import pytest

from vmafx.core.token_text import token_from_text
from vmafx.errors import ConfigError

SECRET = "vmafx_Zq3vT9kP0aXbR4mN8sLw2cYh6eJf1uGd7iKo5nQrS0t"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2RlIn0.c2lnbmF0dXJl"


def test_a_file_holding_only_the_secret_gives_it_without_its_line_break():
    assert token_from_text(SECRET + "\n", "the token file t") == SECRET


def test_the_three_lines_older_versions_printed_give_the_secret_line():
    text = (
        "created token 3f0c1a2b (node in tenant acme, )\n"
        "secret (shown once; send it as `authorization: Bearer <secret>`):\n"
        f"{SECRET}\n"
    )
    assert token_from_text(text, "the token file node.token") == SECRET


def test_a_jwt_among_comment_lines_is_taken():
    assert token_from_text(f"# from the IdP\n\n  {JWT}  \n", "the token file t") == JWT


def test_a_file_without_a_token_line_is_refused_saying_what_to_write():
    with pytest.raises(ConfigError) as refused:
        token_from_text("created token 3f0c\nsecret (shown once):\n", "the token file n.token")
    assert "the token file n.token holds 2 lines but no token" in refused.value.message
    assert "> FILE" in (refused.value.hint or "")


def test_a_file_with_two_tokens_is_refused():
    with pytest.raises(ConfigError, match="holds 2 tokens"):
        token_from_text(f"{SECRET}\n{SECRET}x\n", "the token file t")


def test_an_empty_file_is_refused():
    with pytest.raises(ConfigError, match="the token file t is empty"):
        token_from_text(" \n\n", "the token file t")
