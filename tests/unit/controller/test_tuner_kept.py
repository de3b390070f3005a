"""Farm tune probes kept across searches, on the in-memory store: a second identical search
(target or ladder) submits no probe job and reports every probe cached, encoding again only
the file it delivers; another tenant, changed content, a node that read another file, or a
spec without the source's identity reuse nothing."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.controller.auth import Principal
from vmafx.controller.tuning import Tuner
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest, NodeRegistration, NodeReport
from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio

SHA = "ab" * 32
SIZE, MTIME = 123_456, 1_765_000_000_123_456_789
IDENTITY = {"source_sha256": SHA, "source_size": SIZE, "source_mtime_ns": MTIME}


def vmaf_at(crf: float, height: int = 1080) -> float:
    return 99.0 - 0.02 * (crf - 10) ** 2 - 0.5 * (crf - 10) - (1080 - height) / 100


def tune_request(farm: Any, **fields: Any) -> JobRequest:
    spec = {"source": str(farm.root / "ref.mp4"), "codec": "h264", "target_vmaf": 90,
            "output": str(farm.root / "out" / "best.mkv"), **IDENTITY, **fields}  # fmt: skip
    return JobRequest.parse(
        kind=JobKind.TUNE, spec={k: v for k, v in spec.items() if v is not None}
    )


class Node:
    """A fake node of one tenant: reports table-made encodes, the source as `stat` says."""

    def __init__(self, farm: Any, session: NodeRegistration, principal: Principal) -> None:
        self.farm, self.session, self.principal = farm, session, principal
        self.stat = {"size": SIZE, "mtime_ns": MTIME}

    async def work_once(self) -> Job | None:
        s = self.session
        claim = await self.farm.service.pull_work(self.principal, s.node_id, s.session_token)
        if claim is None:
            return None
        spec = claim.job.spec
        crf = spec["rate_control"]["value"]
        height = (spec.get("resolution") or {}).get("height", 1080)
        result = {"output": spec["output"], "bytes": 1000, "frames": 24, "encoder": "libx264",
                  "bitrate_kbps": 8000 / crf * height / 1080, "elapsed_s": 0.5,
                  "source_stat": self.stat}  # fmt: skip
        if spec.get("score_after"):
            result["score_after"] = {"vmaf": vmaf_at(crf, height), "frame_count": 24}
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result)
        await self.farm.service.report_result(self.principal, s.node_id, s.session_token, report)
        return claim.job


async def node_of(farm: Any, tenant: str = "acme") -> Node:
    principal = Principal.of(tenant, Role.NODE)
    session = await farm.register(f"{tenant}-node", principal, encoders=("libx264",))
    return Node(farm, session, principal)


async def search(farm: Any, tuner: Tuner, node: Node, request: JobRequest, tenant: str = "acme"):
    """Submit a tune job as `tenant`, run it to its end; (job, its child jobs)."""
    writer = Principal.of(tenant, Role.WRITER, name="ci")
    tune = (await farm.service.submit_job(writer, request)).job
    for _ in range(80):
        await tuner.run_once()
        job = await farm.store.get_job(tune.id)
        if job.is_terminal:
            reader = Principal.of(tenant, Role.READER)
            children = (await farm.service.list_jobs(reader, JobFilter(parent_id=tune.id))).jobs
            return job, children
        while await node.work_once() is not None:
            pass
        farm.clock.advance(0.01)
    raise AssertionError("the tune job never ended")


def scored(children: list[Job]) -> list[Job]:
    return [c for c in children if c.spec.get("score_after")]


async def test_a_second_identical_search_submits_no_probe_and_reports_every_probe_cached(farm):
    node = await node_of(farm)
    tuner = Tuner(farm.service)
    first, first_children = await search(farm, tuner, node, tune_request(farm))
    assert first.state is JobState.COMPLETED, first.error
    assert len(scored(first_children)) >= 2
    assert not any(p["cached"] for p in first.result["probes"])

    second, children = await search(farm, tuner, node, tune_request(farm))
    assert second.state is JobState.COMPLETED, second.error
    result = second.result
    assert scored(children) == []  # no probe measured again
    [delivery] = children  # the chosen encode, made again for its file, unscored
    assert delivery.idempotency_key == f"tune:{second.id}:deliver:full:{result['crf']:g}"
    assert result["output"] == delivery.spec["output"] == first.result["output"]
    assert result["chosen_job"] == delivery.id
    assert (result["crf"], result["vmaf"]) == (first.result["crf"], first.result["vmaf"])
    assert [p["crf"] for p in result["probes"]] == [p["crf"] for p in first.result["probes"]]
    assert all(p["cached"] and p["output"] is None for p in result["probes"])
    assert result["full_encodes"] == 1 and result["discarded"] == []
    assert result["cost"] == round(24 / 24, 3)  # the delivery's frames only


async def test_another_tenant_never_reuses_a_probe(farm):
    tuner = Tuner(farm.service)
    first, _ = await search(farm, tuner, await node_of(farm), tune_request(farm))
    assert first.state is JobState.COMPLETED, first.error
    theirs = await node_of(farm, "globex")
    farm.service.inputs = type(farm.service.inputs)([farm.root])
    other, children = await search(farm, tuner, theirs, tune_request(farm), tenant="globex")
    assert other.state is JobState.COMPLETED, other.error
    assert len(scored(children)) == len(children) >= 2
    assert not any(p["cached"] for p in other.result["probes"])


@pytest.mark.parametrize(
    "change",
    [
        {"source_sha256": "cd" * 32, "source_mtime_ns": MTIME + 1},  # rewritten, same size
        {"source_sha256": "ef" * 32, "source_size": SIZE + 1, "source_mtime_ns": MTIME + 1},
    ],
    ids=["changed-content", "changed-size"],
)
async def test_a_changed_source_is_probed_again(farm, change):
    node = await node_of(farm)
    tuner = Tuner(farm.service)
    await search(farm, tuner, node, tune_request(farm))
    node.stat = {k.removeprefix("source_"): v for k, v in {**IDENTITY, **change}.items()
                 if k != "source_sha256"}  # fmt: skip
    again, children = await search(farm, tuner, node, tune_request(farm, **change))
    assert again.state is JobState.COMPLETED, again.error
    assert len(scored(children)) == len(children) >= 2
    assert not any(p["cached"] for p in again.result["probes"])


async def test_a_touched_source_with_the_same_content_is_reused(farm):
    """The key is the content: a new mtime alone (a copy, a touch) costs nothing."""
    node = await node_of(farm)
    tuner = Tuner(farm.service)
    await search(farm, tuner, node, tune_request(farm))
    node.stat = {"size": SIZE, "mtime_ns": MTIME + 10**9}
    again, children = await search(
        farm, tuner, node, tune_request(farm, source_mtime_ns=MTIME + 10**9)
    )
    assert scored(children) == []
    assert all(p["cached"] for p in again.result["probes"])


async def test_a_probe_whose_node_read_another_file_than_the_one_hashed_is_not_kept(farm):
    node = await node_of(farm)
    node.stat = {"size": SIZE, "mtime_ns": MTIME + 5}  # rewritten after the submitter hashed it
    tuner = Tuner(farm.service)
    await search(farm, tuner, node, tune_request(farm))
    node.stat = {"size": SIZE, "mtime_ns": MTIME}
    again, children = await search(farm, tuner, node, tune_request(farm))
    assert len(scored(children)) == len(children) >= 2
    assert not any(p["cached"] for p in again.result["probes"])


async def test_a_spec_without_the_source_identity_keeps_and_reuses_nothing(farm):
    node = await node_of(farm)
    tuner = Tuner(farm.service)
    bare = {"source_sha256": None, "source_size": None, "source_mtime_ns": None}
    await search(farm, tuner, node, tune_request(farm, **bare))
    _again, children = await search(farm, tuner, node, tune_request(farm))
    assert len(scored(children)) == len(children) >= 2  # nothing was kept to reuse
    _third, children = await search(farm, tuner, node, tune_request(farm, **bare))
    assert len(scored(children)) == len(children) >= 2  # and a bare spec never looks


async def test_a_second_identical_ladder_encodes_only_its_rungs_again(farm):
    node = await node_of(farm)
    tuner = Tuner(farm.service)
    ladder = {"mode": "ladder", "target_vmaf": None, "resolutions": ["720", "360"],
              "points": 3, "rungs": 2, "source_width": 1920, "source_height": 1080,
              "output": str(farm.root / "out" / "ladder")}  # fmt: skip
    first, _first_children = await search(farm, tuner, node, tune_request(farm, **ladder))
    assert first.state is JobState.COMPLETED, first.error
    second, children = await search(farm, tuner, node, tune_request(farm, **ladder))
    assert second.state is JobState.COMPLETED, second.error
    result = second.result
    assert scored(children) == []
    rungs = result["rungs"]
    assert [(r["width"], r["crf"], r["vmaf"]) for r in rungs] == [
        (r["width"], r["crf"], r["vmaf"]) for r in first.result["rungs"]
    ]
    assert sorted(c.spec["output"] for c in children) == sorted(r["output"] for r in rungs)
    assert all(r["cached"] and r["job"] in {c.id for c in children} for r in rungs)
    assert all(p["cached"] for p in result["probes"])
    assert len(result["points"]) == len(first.result["points"])


async def test_the_sweeper_prunes_kept_probes_older_than_the_retention(farm):
    from datetime import timedelta

    from vmafx.controller.sweeper import Retention, Sweeper

    node = await node_of(farm)
    await search(farm, Tuner(farm.service), node, tune_request(farm))
    kept = farm.store._probes  # the in-memory store's rows
    assert kept
    sweeper = Sweeper(farm.service, retention=Retention(days=1.0))
    assert await sweeper.prune_once(now=farm.clock.now() + timedelta(hours=23)) >= 0
    assert farm.store._probes == kept  # younger than a day: kept
    await sweeper.prune_once(now=farm.clock.now() + timedelta(days=1, seconds=1))
    assert farm.store._probes == {}
