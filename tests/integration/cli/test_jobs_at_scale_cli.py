"""`vmafx jobs` at scale, in process against a real controller (gRPC on loopback, auth on,
SQLite): `submit -q` prints ids only, `submit --from FILE.csv|jsonl` submits every row in
batches, `list --search` finds jobs by file name and shows the files, `cancel --filter` and
`retry --filter` act on every match in one call, and `retry ID` makes a linked new job."""

from __future__ import annotations

import json
import math
import uuid

import pytest
from tests.farm import Farm
from tests.integration.cli.test_jobs_cli import run, submit

pytestmark = pytest.mark.integration


def listed(farm: Farm, token: str, *args: str) -> list[dict]:
    out = run(farm, token, "jobs", "list", "--format", "json", *args)
    assert out.code == 0, out.stderr
    return out.json()


def test_submit_quiet_prints_only_the_job_id(farm, writer):
    out = run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"),
              farm.path("dis.mp4"), "--queue", "q-quiet", "-q")  # fmt: skip
    assert out.code == 0, out.stderr
    [line] = out.stdout.splitlines()
    assert str(uuid.UUID(line)) == line
    assert [job["id"] for job in listed(farm, writer, "--queue", "q-quiet")] == [line]


def test_submit_from_csv_submits_every_row_and_a_rerun_with_keys_adds_nothing(
    farm, writer, tmp_path
):
    rows = ["reference,distorted,idempotency_key"]
    for i in range(3):
        rows.append(f"{farm.path('ref.mp4')},{farm.path('dis.mp4')};{farm.path('crf28.mp4')},k{i}")
    table = tmp_path / "pairs.csv"
    table.write_text("\n".join(rows) + "\n")
    args = ("jobs", "submit", "score", "--from", str(table), "--queue", "q-csv", "-q")
    first = run(farm, writer, *args)
    assert first.code == 0, first.stderr
    ids = first.stdout.split()
    assert len(ids) == 3 and len(set(ids)) == 3
    jobs = listed(farm, writer, "--queue", "q-csv")
    assert {job["id"] for job in jobs} == set(ids)
    assert all(job["inputs"][1:] == [farm.path("dis.mp4"), farm.path("crf28.mp4")] for job in jobs)
    again = run(farm, writer, *args)
    assert again.code == 0 and again.stdout.split() == ids
    said = run(farm, writer, "jobs", "submit", "score", "--from", str(table), "--queue", "q-csv")
    assert "submitted 3 jobs (3 seen before" in said.stdout


def test_submit_encode_from_jsonl_takes_per_row_settings(farm, writer, tmp_path):
    lines = [
        {"source": farm.path("master.mov"), "out": farm.path(f"out_{crf}.mp4"), "crf": crf}
        for crf in (23, 31)
    ]
    source = tmp_path / "encodes.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = run(farm, writer, "jobs", "submit", "encode", "--from", str(source), "--codec", "hevc",
              "--queue", "q-jsonl", "--format", "json")  # fmt: skip
    assert out.code == 0, out.stderr
    made = [json.loads(line) for line in out.stdout.splitlines()]
    assert [job["spec"]["rate_control"]["value"] for job in made] == [23, 31]
    assert {job["spec"]["codec"] for job in made} == {"hevc"}
    assert [job["outputs"] for job in made] == [
        [farm.path("out_23.mp4")],
        [farm.path("out_31.mp4")],
    ]


def test_a_bad_row_is_named_by_its_line_and_nothing_is_submitted(farm, writer, tmp_path):
    table = tmp_path / "broken.csv"
    table.write_text(
        "reference,distorted\n"
        f"{farm.path('ref.mp4')},{farm.path('dis.mp4')}\n"
        f"{farm.path('ref.mp4')},{tmp_path / 'missing.mp4'}\n"
    )
    out = run(farm, writer, "jobs", "submit", "score", "--from", str(table), "--queue", "q-bad")
    assert out.code != 0
    assert "broken.csv, line 3" in out.stderr and "missing.mp4" in out.stderr
    assert listed(farm, writer, "--queue", "q-bad") == []


def test_list_search_finds_jobs_by_file_name_and_shows_their_files(farm, writer):
    crf = submit(farm, writer, "q-search")
    run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"), farm.path("crf28.mp4"),
        "--queue", "q-search")  # fmt: skip
    found = listed(farm, writer, "--search", "queue:q-search dis.mp4")
    assert [job["id"] for job in found] == [crf]
    table = run(farm, writer, "jobs", "list", "--search", "queue:q-search")
    assert "ref.mp4 → crf28.mp4" in table.stdout and "ref.mp4 → dis.mp4" in table.stdout


def test_a_search_that_cannot_be_read_is_exit_2_and_says_why(farm, writer):
    out = run(farm, writer, "jobs", "list", "--search", "colour:blue")
    assert out.code == 2
    assert "unknown field 'colour'" in out.stderr


def test_cancel_by_filter_cancels_every_match_in_one_call(farm, writer):
    hits = [
        run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"), farm.path("crf28.mp4"),
            "--queue", "q-bulk", "-q").stdout.strip()
        for _ in range(3)
    ]  # fmt: skip
    other = submit(farm, writer, "q-bulk")
    out = run(farm, writer, "jobs", "cancel", "--filter", "crf28", "--queue", "q-bulk")
    assert out.code == 0, out.stderr
    assert "cancelled 3 of 3 matching jobs" in out.stdout
    states = {job["id"]: job["state"] for job in listed(farm, writer, "--queue", "q-bulk")}
    assert states == {**dict.fromkeys(hits, "cancelled"), other: "pending"}


def test_bulk_commands_need_ids_or_a_filter(farm, writer):
    out = run(farm, writer, "jobs", "cancel")
    assert out.code == 2 and "--filter" in out.stderr


def test_retry_of_a_failed_job_is_a_new_linked_job_and_asking_again_gives_it_again(
    farm, writer, node
):
    failed = submit(farm, writer, "q-retry")
    claim = farm.run(node.claim("q-retry"))
    farm.run(node.fail(claim, "ffmpeg: No space left on device"))
    first = run(farm, writer, "jobs", "retry", failed[:8])
    assert first.code == 0, first.stderr
    retry = first.stdout.split()[3]
    again = run(farm, writer, "jobs", "retry", failed)
    assert again.stdout.split()[3] == retry and "asked before" in again.stdout
    shown = run(farm, writer, "jobs", "get", retry, "--format", "json").json()
    assert (shown["retry_of"], shown["state"]) == (failed, "pending")
    assert (
        shown["spec"] == run(farm, writer, "jobs", "get", failed, "--format", "json").json()["spec"]
    )
    refused = run(farm, writer, "jobs", "retry", retry)
    assert refused.code != 0 and "cannot be retried" in refused.stderr


def test_retry_by_filter_retries_the_failed_matches_once(farm, writer, node):
    for _ in range(2):
        submit(farm, writer, "q-retry-all")
        claim = farm.run(node.claim("q-retry-all"))
        farm.run(node.fail(claim, "decoder error at frame 12"))
    out = run(
        farm, writer, "jobs", "retry", "--filter", 'error:"frame 12"', "--queue", "q-retry-all"
    )
    assert out.code == 0, out.stderr
    assert "retried 2 of 2 matching jobs" in out.stdout
    again = run(farm, writer, "jobs", "retry", "--filter", "error:frame", "--queue", "q-retry-all")
    assert "retried 0 of 2 matching jobs" in again.stdout
    pending = listed(farm, writer, "--queue", "q-retry-all", "--state", "pending")
    assert len(pending) == 2 and all(job["retry_of"] for job in pending)


# --- per-frame series ---------------------------------------------------------------------------
def test_get_per_frame_writes_the_series_the_node_shipped_as_csv_and_json(
    farm, writer, node, tmp_path
):
    job_id = submit(farm, writer, "q-frames")
    claim = farm.run(node.claim("q-frames"))
    farm.run(node.complete(claim, frames=30, shipped=True))
    stored = run(farm, writer, "jobs", "get", job_id, "--format", "json").json()
    assert stored["result"]["results"][0]["per_frame"]["stored"] is True
    assert "data" not in stored["result"]["results"][0]["per_frame"]  # kept out of the row
    table = tmp_path / "frames.csv"
    out = run(farm, writer, "jobs", "get", job_id[:8], "--per-frame", str(table))
    assert out.code == 0, out.stderr
    assert f"wrote 30 frames to {table}" in out.stderr
    rows = table.read_text().splitlines()
    assert rows[0] == "distorted,frame,vmaf_v0.6.1,psnr_y,integer_adm2"
    assert len(rows) == 31 and rows[1].startswith(f"{farm.path('dis.mp4')},0,85.0,40.0,0.9")
    document = tmp_path / "frames.json"
    assert run(farm, writer, "jobs", "get", job_id, "--per-frame", str(document)).code == 0
    body = json.loads(document.read_text())
    expected = [round(90 - 5 * math.cos(i / 3), 6) for i in range(30)]  # as the fake node sends
    assert body["inputs"][0]["series"]["vmaf_v0.6.1"] == expected


def test_the_http_api_serves_the_per_frame_csv(farm, writer, node):
    import httpx

    job_id = submit(farm, writer, "q-frames-http")
    claim = farm.run(node.claim("q-frames-http"))
    farm.run(node.complete(claim, frames=5, shipped=True))
    answer = httpx.get(
        f"{farm.http_url}/v1/jobs/{job_id}/frames",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines()[0] == "distorted,frame,vmaf_v0.6.1,psnr_y,integer_adm2"
    assert len(answer.text.splitlines()) == 6


def test_a_job_without_shipped_series_says_why(farm, writer, node, tmp_path):
    job_id = submit(farm, writer, "q-frames-none")
    pending = run(farm, writer, "jobs", "get", job_id, "--per-frame", str(tmp_path / "x.csv"))
    assert pending.code == 14 and "is pending" in pending.stderr
    claim = farm.run(node.claim("q-frames-none"))
    farm.run(node.complete(claim))
    done = run(farm, writer, "jobs", "get", job_id, "--per-frame", str(tmp_path / "x.csv"))
    assert done.code == 14 and "has no per-frame series" in done.stderr
    assert not (tmp_path / "x.csv").exists()


# --- the same over HTTP ---------------------------------------------------------------------------
def _http(farm, token, method, path, **kwargs):
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{farm.http_url}{path}", headers=headers, **kwargs)


def test_http_counts_search_and_bulk_retry_in_one_call(farm, writer, node):
    failed = []
    for _ in range(2):
        failed.append(submit(farm, writer, "q-http-bulk"))
        claim = farm.run(node.claim("q-http-bulk"))
        farm.run(node.fail(claim, "libvmaf: out of memory"))
    submit(farm, writer, "q-http-bulk")
    counts = _http(farm, writer, "GET", "/v1/jobs/counts", params={"q": "queue:q-http-bulk"})
    assert counts.json() == {"total": 3, "states": {"failed": 2, "pending": 1}}
    page = _http(farm, writer, "GET", "/v1/jobs", params={"q": "queue:q-http-bulk error:memory"})
    assert {job["id"] for job in page.json()["jobs"]} == set(failed)
    body = {"all_matching": True, "queue": ["q-http-bulk"], "q": "error:memory"}
    done = _http(farm, writer, "POST", "/v1/jobs/retry", json=body).json()
    assert (done["matched"], done["changed"], len(done["job_ids"])) == (2, 2, 2)
    retried = [_http(farm, writer, "GET", f"/v1/jobs/{i}").json() for i in done["job_ids"]]
    assert sorted(job["retry_of"] for job in retried) == sorted(failed)


def test_http_bulk_needs_ids_or_all_matching(farm, writer):
    answer = _http(farm, writer, "POST", "/v1/jobs/cancel", json={"q": "anything"})
    assert answer.status_code == 400
    assert "all_matching" in answer.json()["error"]["message"]
