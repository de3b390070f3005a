import math

import pytest

from vmafx.core.features import BASE_FEATURES_V1, NAMES_V1, SCHEMA_V1, feature_vector_v1
from vmafx.errors import ScoreLogError


def _frames(n: int = 5) -> dict[str, list[float]]:
    return {name: [float(i + k) for k in range(n)] for i, name in enumerate(BASE_FEATURES_V1)}


def test_vector_v1_has_exactly_80_named_values_in_a_fixed_order():
    vector = feature_vector_v1(_frames())
    assert vector.schema == SCHEMA_V1
    assert len(BASE_FEATURES_V1) == 20
    assert len(vector.values) == 80
    assert vector.names == NAMES_V1
    assert vector.names[:4] == (
        "integer_adm2.mean",
        "integer_adm2.std",
        "integer_adm2.p5",
        "integer_adm2.p95",
    )


def test_vector_v1_pools_mean_population_std_and_percentiles():
    vector = feature_vector_v1(_frames())
    values = dict(zip(vector.names, vector.values, strict=True))
    # integer_adm3 is feature #1: frames 1, 2, 3, 4, 5
    assert values["integer_adm3.mean"] == 3.0
    assert values["integer_adm3.std"] == pytest.approx(math.sqrt(2.0))
    assert values["integer_adm3.p5"] == pytest.approx(1.2)
    assert values["integer_adm3.p95"] == pytest.approx(4.8)


def test_a_missing_feature_is_an_error_not_a_zero():
    frames = _frames()
    del frames["psnr_cb"]
    with pytest.raises(ScoreLogError, match="psnr_cb"):
        feature_vector_v1(frames, where="dis.mp4")


def test_a_non_finite_feature_is_an_error():
    frames = _frames()
    frames["mse_y"] = [math.inf] * 5
    with pytest.raises(ScoreLogError, match="mse_y"):
        feature_vector_v1(frames)


def test_docs_list_every_feature_of_v1():
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "features.md").read_text()
    for name in BASE_FEATURES_V1:
        assert f"`{name}`" in doc
