"""`vmafx mcp`: serve vmafx's tools to an assistant over the Model Context Protocol.

Only the flags are parsed here; the server (`vmafx.mcp.main`, on the optional `mcp` SDK) is
imported when the command runs, so no other command pays for it. The CLI and the MCP server
are sibling entry points (import-linter keeps them independent), so it is loaded by name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from vmafx.cli.remote import CA, TOKEN, TOKEN_FILE, address_of, read_token

HELP = """Serve vmafx to an AI assistant over the Model Context Protocol (MCP).

Tools: score (locally, or as a farm job with --controller), submit_job, get_job, wait_job,
cancel_job, list_jobs, list_nodes, explain_pending, corpus_status, list_models, list_features,
versions. See docs/mcp.md.

    vmafx mcp                                   stdio, local scoring (desktop assistants)

    vmafx mcp --controller farm:9090 --token-file ~/.vmafx/token

    vmafx mcp --controller farm:9090 --http 127.0.0.1:8765   callers send a farm token

Needs the `mcp` extra: pip install 'vmafx[mcp]'.
"""


def mcp(
    http: str | None = typer.Option(
        None,
        "--http",
        help="Serve streamable HTTP on HOST:PORT (e.g. 127.0.0.1:8765) instead of stdio; "
        "callers send a farm token (or OIDC token) as `Authorization: Bearer`.",
    ),
    controller: str | None = typer.Option(
        None,
        "--controller",
        envvar="VMAFX_CONTROLLER_ADDR",
        help="The farm's controller HOST:PORT (https://… for TLS); none: score locally only.",
    ),
    ca: Path | None = CA,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="Another Host header name to accept over HTTP (a proxy's); repeat for several.",
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="HTTP on loopback without bearer tokens (local scoring only)."
    ),
) -> None:
    main = importlib.import_module("vmafx.mcp.main")
    options = main.McpOptions(
        controller=address_of(controller, ca) if controller else None,
        token=read_token(token, token_file),
        http=http,
        allow_hosts=tuple(allow_host),
        no_auth=no_auth,
    )
    main.serve(options)
