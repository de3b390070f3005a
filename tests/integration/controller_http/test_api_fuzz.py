"""schemathesis against the controller's own OpenAPI document, bounded and deterministic.

A real controller (tests/farm.py: `vmafx.controller.main.start`, SQLite, auth on) serves HTTP
on loopback; every operation the document lists gets generated requests (valid and invalid)
with an admin token. Checks: no server error (5xx), and every response conforms to the document
(status code listed, content type, body schema). Left out: the event streams, which never end
by design (test_events_sse.py covers them), and POST /v1/score, whose one answer is a
documented 501 (test_nodes_and_operations.py covers it).

The document is read at collection time from an app built over the in-memory store (the same
routes the controller serves): schemathesis' fixture-based loader does not run under pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.farm import Farm, migrated_template

from vmafx.controller.auth import Authenticator
from vmafx.controller.http import build_http_app
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.metrics import MetricsExporter
from vmafx.controller.service import ControllerService
from vmafx.core.clock import SystemClock
from vmafx.core.tokens import Role
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Generated cases per operation: 11 operations, ~550 requests, ~15 s here.
EXAMPLES = 50
CHECKS = (
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
#: Streams that never end (server-sent events), and the call that is a documented 501.
LEFT_OUT = r"(/events|/v1/score)$"


def _document() -> dict[str, Any]:
    """The controller's OpenAPI document, from its app over the in-memory store."""
    registry = CollectorRegistry()
    store = InMemoryJobStore(Scheduler())
    service = ControllerService(
        store, clock=SystemClock(), scheduler=Scheduler(), inputs=InputPolicy([])
    )
    app = build_http_app(
        service=service,
        auth=Authenticator(store, SystemClock()),
        metrics=MetricsExporter(registry, store, SystemClock()),
    )
    return app.openapi()


schema = schemathesis.openapi.from_dict(_document()).exclude(path_regex=LEFT_OUT)
#: Ids of real jobs and nodes, and a spec the controller accepts (filled by `controller`): path
#: parameters and specs are drawn from these as often as generated, so the operations on one job
#: or node get past "not found" and submissions past "spec invalid" with the other fields random.
KNOWN: dict[str, list[Any]] = {"job_id": [], "node_id": [], "spec": []}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    choices = [st.just(path_parameters)]
    if not path_parameters:
        return choices[0]
    for name, known in KNOWN.items():
        if name in path_parameters and known:
            real = st.sampled_from(known).map(lambda value, name=name: {name: value})
            choices.append(real.map(lambda pair: {**path_parameters, **pair}))
    return st.one_of(choices)


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    submits = context.operation is not None and context.operation.path == "/v1/jobs"
    if not (submits and isinstance(body, dict) and KNOWN["spec"]):
        return st.just(body)
    valid = st.sampled_from(KNOWN["spec"]).map(lambda spec: {**body, "kind": "score", "spec": spec})
    return st.one_of(st.just(body), valid)


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Farm, str]]:
    """The controller, an admin token, three real jobs and a registered node."""
    folder = tmp_path_factory.mktemp("fuzz")
    farm = Farm(folder / "farm", migrated_template(folder), auth_disabled=False)
    node = farm.node(token=farm.token(Role.NODE))
    try:
        token = farm.token(Role.ADMIN)
        spec = {"reference": farm.path("ref.mp4"), "distorted": [farm.path("dis.mp4")]}
        body = {"kind": "score", "spec": spec}
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(3):
            answer = httpx.post(f"{farm.http_url}/v1/jobs", json=body, headers=auth, timeout=10)
            assert answer.status_code == 201, answer.text
            KNOWN["job_id"].append(answer.json()["id"])
        KNOWN["node_id"].append(node.session.node_id)
        KNOWN["spec"].append(spec)
        yield farm, token
    finally:
        for known in KNOWN.values():
            known.clear()
        farm.run(node.close())
        farm.close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_an_answer_outside_the_document(
    case: Any, controller: tuple[Farm, str]
) -> None:
    farm, token = controller
    case.call_and_validate(
        base_url=farm.http_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=10,
    )


def test_the_fuzzing_covers_the_job_and_node_operations() -> None:
    paths = {operation.ok().path for operation in schema.get_all_operations()}
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/nodes"} <= paths, paths
    assert not any(path.endswith("/events") for path in paths)


def test_the_document_fuzzed_is_the_one_the_controller_serves(controller: tuple[Farm, str]):
    farm, _ = controller
    served = httpx.get(f"{farm.http_url}/openapi.json", timeout=10).json()
    assert served == _document()
