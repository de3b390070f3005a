"""Online learning: ONNX inference with safe hot swap, the feedback client, the trainer.

    protocol.py   the trainer's newline-delimited JSON wire format (requests and acks)
    feedback.py   the node-side, never-blocking feedback client (ring buffer + sender thread)
    figures.py    PLCC / SROCC / RMSE
    checkpoints.py  checkpoint file names, atomic writes, SHA-256 verification
    registry.py   registry.json: versions, figures, status, version policies
    inference.py  ONNX Runtime sessions (created once per version) and the InferenceEngine
    hotswap.py    ModelWatcher: follows the registry and swaps the engine's model atomically
    trainer/      the `vmafx trainer` sidecar (PyTorch, the optional extra `vmafx[train]`)

Nothing here imports the node or the controller; torch is imported only by trainer/ modules
that the trainer's entry point loads after checking that the extra is installed.
"""
