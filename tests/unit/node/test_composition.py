"""What the node's composition root puts together: queues served, trainer feedback."""

from __future__ import annotations

from vmafx.core.features import NAMES_V1, FeatureVector
from vmafx.core.jobs import JobKind
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.node.handlers.registry import served_queues
from vmafx.node.main import feedback_sender


def test_a_node_without_queues_serves_every_queue_of_the_kinds_it_runs():
    handlers = dict.fromkeys((JobKind.SCORE, JobKind.ENCODE, JobKind.THUMBNAIL, JobKind.FILMSTRIP))
    assert served_queues(handlers) == (  # type: ignore[arg-type]
        "score", "encode", "conform", "proxy", "trim", "thumbnail", "filmstrip",
    )  # fmt: skip
    assert "infer" not in served_queues(handlers)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object, float]] = []

    def send(self, job_id: str, features, true_score: float) -> bool:
        self.sent.append((job_id, features, true_score))
        return True


def result(
    path: str, vmaf: float, with_features: bool = True, *, others: dict[str, float] | None = None
) -> ScoreResult:
    features = FeatureVector("vmafx-features-v1", NAMES_V1, (0.1,) * len(NAMES_V1))
    scores = {**(others or {}), "vmaf_v0.6.1": vmaf}
    pooled = {name: pool([value, value]) for name, value in scores.items()}
    return ScoreResult(path, 2, 2, pooled, {}, (0, 1), features if with_features else None,
                       models=tuple(scores))  # fmt: skip


def test_every_scored_input_goes_to_the_trainer_with_its_vmaf():
    recorder = Recorder()
    report = ScoreReport("ref", (result("a", 90.0), result("b", 70.0), result("c", 1, False)), {})
    feedback_sender(recorder)("job-1", report)  # type: ignore[arg-type]
    assert [(job, score) for job, _, score in recorder.sent] == [("job-1", 90.0), ("job-1#1", 70.0)]
    assert len(recorder.sent[0][1]) == 80  # type: ignore[arg-type]


def test_the_trainer_gets_the_default_models_vmaf_whatever_model_is_listed_first():
    recorder = Recorder()
    first = result("a", 90.0, others={"vmaf_v0.6.1neg": 40.0, "psnr_y": 30.0})
    without_default = ScoreResult("b", 2, 2, {"vmaf_4k_v0.6.1": pool([50.0, 50.0])}, {}, (0, 1),
                                  first.features, models=("vmaf_4k_v0.6.1",))  # fmt: skip
    feedback_sender(recorder)("job-1", ScoreReport("ref", (first, without_default), {}))  # type: ignore[arg-type]
    assert [(job, score) for job, _, score in recorder.sent] == [("job-1", 90.0)]
