"""The quality model as plain arrays, and its ONNX opset 17 graph.

The graph is built directly with `onnx.helper` rather than traced by `torch.onnx.export`:
the model is a fixed MLP, so the graph is a dozen nodes; building it needs no torch, is
byte-for-byte deterministic, takes about a millisecond, and does not depend on the torch
exporter (the TorchScript one is deprecated, the dynamo one needs onnxscript and seconds).

    features (batch, n) ─ Sub(mean) ─ Mul(inv_std) ─ [Gemm ─ Relu]… ─ Gemm ─ Mul(out_scale)
                                                                              ─ score (batch, 1)

The same initializer names let `weights_from_onnx` read a vmafx export back (a base model).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vmafx.ai.checkpoints import write_checkpoint
from vmafx.errors import ModelError

OPSET = 17
IR_VERSION = 8  # the IR of opset 17's release; read by every ONNX Runtime since 1.12
INPUT_NAME = "features"
OUTPUT_NAME = "score"


@dataclasses.dataclass(frozen=True, eq=False)
class MlpWeights:
    """score = out_scale · MLP((features − mean) · inv_std); layers are (W (out, in), b (out,))."""

    mean: np.ndarray
    inv_std: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    out_scale: float

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The reference forward pass in float64 (for tests and checks)."""
        h: np.ndarray = (np.asarray(x, dtype=np.float64) - self.mean) * self.inv_std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.astype(np.float64).T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h * self.out_scale


def _f32(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)


def model_proto(weights: MlpWeights, *, feature_schema: str = "") -> onnx.ModelProto:
    inits = [
        _f32("mean", weights.mean),
        _f32("inv_std", weights.inv_std),
        _f32("out_scale", np.array(weights.out_scale)),
    ]
    nodes = [
        helper.make_node("Sub", [INPUT_NAME, "mean"], ["centered"]),
        helper.make_node("Mul", ["centered", "inv_std"], ["h_in"]),
    ]
    h = "h_in"
    for i, (w, b) in enumerate(weights.layers):
        inits += [_f32(f"fc{i}.weight", w), _f32(f"fc{i}.bias", b)]
        z = f"z{i}"
        nodes.append(helper.make_node("Gemm", [h, f"fc{i}.weight", f"fc{i}.bias"], [z], transB=1))
        h = z
        if i < len(weights.layers) - 1:
            h = f"a{i}"
            nodes.append(helper.make_node("Relu", [z], [h]))
    nodes.append(helper.make_node("Mul", [h, "out_scale"], [OUTPUT_NAME]))
    graph = helper.make_graph(
        nodes,
        "vmafx_quality_mlp",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, ["batch", weights.n_features]
            )
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="vmafx"
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(
        model, {"feature_schema": feature_schema, "n_features": str(weights.n_features)}
    )
    return model


def model_bytes(weights: MlpWeights, *, feature_schema: str = "") -> bytes:
    return bytes(model_proto(weights, feature_schema=feature_schema).SerializeToString())


def weights_from_onnx(data: bytes, *, where: str = "the ONNX model") -> MlpWeights:
    """Read a vmafx MLP export back; ModelError for any other ONNX graph."""
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ModelError(f"{where} is not a readable ONNX file: {exc}.") from None
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    needed = ["mean", "inv_std", "out_scale", "fc0.weight", "fc0.bias"]
    missing = [name for name in needed if name not in arrays]
    if missing:
        raise ModelError(
            f"{where} is not a vmafx quality-model export (no initializers {', '.join(missing)}).",
            hint="Give a checkpoint written by `vmafx trainer`, or a torch state dict (.pt).",
        )
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    while f"fc{len(layers)}.weight" in arrays:
        i = len(layers)
        layers.append(
            (arrays[f"fc{i}.weight"].astype(np.float32), arrays[f"fc{i}.bias"].astype(np.float32))
        )
    return MlpWeights(
        arrays["mean"].astype(np.float32),
        arrays["inv_std"].astype(np.float32),
        tuple(layers),
        float(arrays["out_scale"].reshape(-1)[0]),
    )


def export_checkpoint(
    directory: Path, version: int, weights: MlpWeights, *, feature_schema: str = ""
) -> tuple[Path, str]:
    """Write `model_vNNNNNN.onnx` and its `.sha256` atomically; return the path and digest."""
    return write_checkpoint(directory, version, model_bytes(weights, feature_schema=feature_schema))
