"""The node: GPU detection, encoder verification, labels, and (later) the pull loop and handlers."""
