"""Job handlers, one module per kind: `score`, `encode` (queues encode/proxy/conform/trim),
`thumbnail` and `filmstrip`. `registry.build_handlers` puts them together for a node."""
