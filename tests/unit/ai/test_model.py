"""The torch model: EMA and clipping math, ONNX parity with torch, base-model loading."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.ai.conftest import N

pytestmark = pytest.mark.usefixtures("needs_torch")


def test_the_ema_update_matches_the_hand_computed_average():
    import torch

    from vmafx.ai.trainer.model import ema_update

    shadow = [torch.tensor([1.0, 2.0]), torch.tensor([[10.0]])]
    live = [torch.tensor([3.0, -2.0]), torch.tensor([[0.0]])]
    ema_update(shadow, live, 0.9)
    # 0.9·1 + 0.1·3 = 1.2; 0.9·2 + 0.1·(−2) = 1.6; 0.9·10 + 0.1·0 = 9
    assert shadow[0].tolist() == pytest.approx([1.2, 1.6], abs=1e-6)
    assert shadow[1].item() == pytest.approx(9.0, abs=1e-6)
    ema_update(shadow, live, 0.999)
    assert shadow[0][0].item() == pytest.approx(0.999 * 1.2 + 0.001 * 3.0, abs=1e-6)


def test_gradient_clipping_matches_torch_reference():
    import torch

    from vmafx.ai.trainer.model import clip_grad_norm

    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]
    reference = [torch.nn.Parameter(p.detach().clone()) for p in params]
    for p, r in zip(params, reference, strict=True):
        p.grad = torch.randn_like(p) * 5
        r.grad = p.grad.clone()
    norm = clip_grad_norm(params, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(reference, 1.0)
    assert norm == pytest.approx(float(expected), rel=1e-5)
    for p, r in zip(params, reference, strict=True):
        torch.testing.assert_close(p.grad, r.grad, rtol=1e-5, atol=1e-6)
    small = [torch.nn.Parameter(torch.zeros(2))]
    small[0].grad = torch.tensor([0.3, 0.4])
    assert clip_grad_norm(small, 1.0) == pytest.approx(0.5)
    assert small[0].grad.tolist() == pytest.approx([0.3, 0.4])


def test_onnx_runtime_output_equals_the_torch_model_within_1e_5():
    import onnx
    import torch

    from vmafx.ai.inference import load_model
    from vmafx.ai.samples import synthetic_samples
    from vmafx.ai.trainer.export import model_bytes, model_proto
    from vmafx.ai.trainer.model import QualityMlp, weights_of

    torch.manual_seed(3)
    model = QualityMlp(N, (64, 16))
    rows, _ = synthetic_samples(256, seed=1)
    with torch.no_grad():
        model.mean.copy_(torch.from_numpy(rows.mean(axis=0)))
        model.inv_std.copy_(torch.from_numpy(1.0 / rows.std(axis=0)))
        expected = model(torch.from_numpy(rows)).numpy()
    weights = weights_of(model)
    onnx.checker.check_model(model_proto(weights), full_check=True)
    session = load_model(model_bytes(weights), n_features=N, providers=["CPUExecutionProvider"])
    got = session.predict(rows)
    assert expected.shape == (256, 1)
    np.testing.assert_allclose(got, expected.reshape(-1), rtol=1e-5, atol=1e-5 * 100)
    assert np.max(np.abs(got - expected.reshape(-1)) / 100.0) < 1e-5  # within 1e-5 of the 0–1 scale


def test_the_export_declares_opset_17_and_the_designed_names_and_shapes():
    from vmafx.ai.trainer.export import model_proto
    from vmafx.ai.trainer.model import QualityMlp, weights_of

    proto = model_proto(weights_of(QualityMlp(N)), feature_schema="vmafx-features-v1")
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    (inp,) = proto.graph.input
    (out,) = proto.graph.output
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert (inp.name, dims(inp)) == ("features", ["batch", N])
    assert (out.name, dims(out)) == ("score", ["batch", 1])
    assert {p.key: p.value for p in proto.metadata_props}["feature_schema"] == "vmafx-features-v1"


def test_a_base_model_loads_from_a_state_dict_and_from_a_vmafx_onnx_file(tmp_path):
    import torch

    from vmafx.ai.trainer.export import model_bytes
    from vmafx.ai.trainer.model import QualityMlp, load_base_model, weights_of

    torch.manual_seed(5)
    original = QualityMlp(N, (32, 8))
    x = torch.randn(4, N)
    torch.save(original.state_dict(), tmp_path / "base.pt")
    (tmp_path / "base.onnx").write_bytes(model_bytes(weights_of(original)))
    for name in ("base.pt", "base.onnx"):
        loaded = load_base_model(tmp_path / name, N)
        torch.testing.assert_close(loaded(x), original(x))


def test_a_base_model_that_does_not_fit_is_refused_precisely(tmp_path):
    import torch

    from vmafx.ai.trainer.model import QualityMlp, load_base_model
    from vmafx.errors import ModelError

    torch.save(QualityMlp(40).state_dict(), tmp_path / "small.pt")
    with pytest.raises(ModelError, match="takes 40 features; the feature schema has 80"):
        load_base_model(tmp_path / "small.pt", N)
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a state dict of vmafx's QualityMlp"):
        load_base_model(tmp_path / "other.pt", N)
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(
        ModelError, match="not a readable ONNX file|not a vmafx quality-model export"
    ):
        load_base_model(tmp_path / "junk.onnx", N)
    with pytest.raises(ModelError, match="does not exist"):
        load_base_model(tmp_path / "absent.pt", N)
