"""`vmafx mcp`: the farm and local scoring as Model Context Protocol tools for assistants.

Built on the official `mcp` SDK (the optional `mcp` extra, imported only by `vmafx mcp`):

- `tools.build_server(...)` makes the `MCPServer` with every tool and resource; each tool is a
  thin call: decode its typed arguments, call the controller through the `ControllerClient`
  port (never its database) or score locally with `LibvmafScorer` when no farm is configured,
  encode a `schemas` model. A `VmafxError` becomes a tool error (`isError`) whose text is the
  CLI's message and hint.
- `farm.Farm` hands each call a client of the configured controller: with the server's own
  token (stdio), or with the bearer token of the HTTP request (`auth.ControllerTokenVerifier`
  checks a token by asking the controller with it), so roles and tenants are the controller's.
- `main.serve` is the composition root: stdio (default) or streamable HTTP on loopback with
  DNS-rebinding protection.
"""
