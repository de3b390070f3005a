"""`infer` jobs: feature rows through the node's quality model (model name/version + rows).

The spec (core/specs.py) names the model (`vmafx-tiny`, the one the trainer publishes), an
optional version (unset: the version the node serves now; else `latest-stable`, `latest`,
`pinned:<v>` or a bare version number, resolved in the node's registry, never a quarantined
one) and the rows (feature vector v1). The result is `{model, model_version, predictions, rows}`.
A node without ONNX Runtime has no `infer` handler, so it never claims these jobs.
"""

from __future__ import annotations

from vmafx.core.specs import InferSpec
from vmafx.node.handlers.base import JobContext, JobOutput
from vmafx.node.models import NodeModels


class InferHandler:
    def __init__(self, models: NodeModels) -> None:
        self.models = models

    def run(self, context: JobContext) -> JobOutput:
        spec = context.spec_as(InferSpec)
        rows = [list(row) for row in spec.rows]
        result = self.models.infer(spec.model, spec.version, rows)
        result["rows"] = len(rows)
        return JobOutput(result=result)
