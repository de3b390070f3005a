"""A farm job over objects in a real S3 server (SeaweedFS on loopback): the controller holds
the tenant's credentials and signs URLs at each claim, the node (a subprocess whose
environment has no AWS credentials) scores by those URLs, a corpus manifest of s3:// clips is
scored through the farm, an encode's output is uploaded through a signed PUT, an encode reads
its source object by a signed URL (and a source it may not read fails, named, after 3 claims each
signed afresh), a tune job searches an object through encode probes, and neither the secret, the access
key nor any signature reaches the store, the events, the logs, the metrics or the job JSON."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.e2e.conftest import CONTROLLER_ENV, MEDIA, Farm
from tests.storage_server import ACCESS_KEY, SCOPED_KEY, SCOPED_SECRET, SECRET_KEY, SeaweedS3

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.errors import ForbiddenError, UsageError
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
NO_AWS = {
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _storage_dir(tmp: Path, server: SeaweedS3) -> Path:
    folder = tmp / "storage"
    folder.mkdir()
    tenant = folder / "dev.env"  # auth off: the caller is tenant `dev`
    tenant.write_text(  # credentials that may read and write media/farm/* only
        f"AWS_ACCESS_KEY_ID={SCOPED_KEY}\nAWS_SECRET_ACCESS_KEY={SCOPED_SECRET}\n"
        f"AWS_ENDPOINT_URL={server.endpoint}\nAWS_REGION=us-east-1\n"
        "VMAFX_STORAGE_ALLOW=s3://media/\n"
    )
    tenant.chmod(0o600)
    return folder


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as page:
        return page.read().decode()


async def test_a_node_without_credentials_scores_objects_by_urls_the_controller_signed(
    tmp_path, seaweed_s3, monkeypatch
):
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    ref = seaweed_s3.put("farm/ref.y4m", MEDIA / "ref.y4m")
    dis = seaweed_s3.put("farm/dis.mp4", MEDIA / "dis.mp4")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(MEDIA / "ref.y4m", media / "ref.y4m")
    farm = Farm(tmp_path, media)
    http_port = _free_port()
    try:
        args = ["controller", "--grpc-listen", "127.0.0.1:0",
                "--http-listen", f"127.0.0.1:{http_port}",
                "--store", f"sqlite:///{tmp_path / 'controller.db'}", "--auth-disabled",
                "--scoring-root", str(media), "--storage-dir",
                str(_storage_dir(tmp_path, seaweed_s3))]  # fmt: skip
        controller = farm._spawn("controller", args, {**CONTROLLER_ENV, **NO_AWS})
        port = controller.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
        farm.target = f"127.0.0.1:{port}"
        farm.client = GrpcControllerClient(farm.target, timeout_s=10)
        node = farm.start_node("n1", queues="score,encode", env=NO_AWS)
        spec = {"reference": ref, "distorted": [dis]}
        job = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.SCORE, spec=spec))).job
        out = "s3://media/farm/out/enc.mp4"
        encode = {"source": str(media / "ref.y4m"), "output": out, "codec": "h264",
                  "rate_control": {"mode": "crf", "value": 30}}  # fmt: skip
        enc = await farm.client.submit_job(JobRequest.parse(kind=JobKind.ENCODE, spec=encode))
        enc_id = enc.job.id
        from_s3 = {"source": ref, "output": "s3://media/farm/out/from-s3.mp4", "codec": "h264",
                   "rate_control": {"mode": "crf", "value": 30}, "score_after": True}  # fmt: skip
        enc_s3 = await farm.client.submit_job(JobRequest.parse(kind=JobKind.ENCODE, spec=from_s3))
        locked = seaweed_s3.put("locked/dis.mp4", MEDIA / "dis.mp4")  # the tenant may not read it
        refused_spec = {"reference": ref, "distorted": [locked]}
        refused_job = await farm.client.submit_job(
            JobRequest.parse(kind=JobKind.SCORE, spec=refused_spec)
        )
        refused_source = {"source": locked, "output": "s3://media/farm/out/never.mp4",
                          "codec": "h264"}  # fmt: skip
        refused_enc = await farm.client.submit_job(
            JobRequest.parse(kind=JobKind.ENCODE, spec=refused_source)
        )
        corrupt = seaweed_s3.put("farm/corrupt.mp4", MEDIA / "corrupt.mp4")
        corrupt_source = {"source": corrupt, "output": "s3://media/farm/out/corrupt.mp4",
                          "codec": "h264"}  # fmt: skip
        corrupt_enc = await farm.client.submit_job(
            JobRequest.parse(kind=JobKind.ENCODE, spec=corrupt_source)
        )

        async def finished(job_id: str):
            got = (await farm.client.get_job(job_id)).job
            return got if got.is_terminal else None

        done = await farm.wait_for(
            lambda: finished(job.id), "the s3 score job to end", timeout_s=90
        )
        assert done.state is JobState.COMPLETED, done.error
        encoded = await farm.wait_for(lambda: finished(enc_id), "the encode to end", timeout_s=90)
        assert encoded.state is JobState.COMPLETED, encoded.error
        assert encoded.result["output"] == out
        head = seaweed_s3.client().head_object(Bucket="media", Key="farm/out/enc.mp4")
        assert head["ContentLength"] == encoded.result["bytes"] > 0
        assert not list(Path(tempfile.gettempdir()).glob(f"vmafx-out-{enc_id[:8]}-*"))
        assert head["ETag"].strip('"') == encoded.result["md5"]  # the MD5 the server checked

        # An encode whose source is an object: read by the URL signed for the claim, named by
        # its s3:// name in the result (score_after's reference too).
        encoded_s3 = await farm.wait_for(
            lambda: finished(enc_s3.job.id), "the encode of an object to end", timeout_s=90
        )
        assert encoded_s3.state is JobState.COMPLETED, encoded_s3.error
        assert encoded_s3.result["output"] == "s3://media/farm/out/from-s3.mp4"
        after = encoded_s3.result["score_after"]
        assert after["reference"] == ref and "error" not in after, after
        assert 50 < after["vmaf"] <= 100
        assert after["frame_count"] == encoded_s3.result["frames"] > 0
        head_s3 = seaweed_s3.client().head_object(Bucket="media", Key="farm/out/from-s3.mp4")
        assert head_s3["ContentLength"] == encoded_s3.result["bytes"]
        refused_encode = await farm.wait_for(
            lambda: finished(refused_enc.job.id), "the refused encode to end", timeout_s=90
        )
        assert refused_encode.state is JobState.FAILED
        assert "s3://media/locked/dis.mp4 (HTTP 403 Forbidden)" in (refused_encode.error or "")
        assert "refused on every attempt" in (refused_encode.error or "")
        assert not seaweed_s3.exists("farm/out/never.mp4")
        # ffmpeg's own words about the source (which name the URL it opened) reach the error
        # with the object's name in place of the signed URL.
        broken = await farm.wait_for(
            lambda: finished(corrupt_enc.job.id), "the corrupt encode to end", timeout_s=90
        )
        assert broken.state is JobState.FAILED
        assert f"could not decode the source {corrupt}" in (broken.error or ""), broken.error
        assert f"Error opening input file {corrupt}." in (broken.error or ""), broken.error
        refused = await farm.wait_for(
            lambda: finished(refused_job.job.id), "the refused job to end", timeout_s=90
        )
        assert refused.state is JobState.FAILED
        assert "s3://media/locked/dis.mp4 (HTTP 403 Forbidden)" in (refused.error or "")
        assert "refused on every attempt" in (refused.error or "")
        attempts = (await farm.client.get_job(refused_job.job.id)).attempts
        assert len(attempts) == 3  # each a new claim, with URLs signed afresh
        local = LibvmafScorer(locate_ffmpeg(), SubprocessRunner()).score(
            ScoreRequest(str(MEDIA / "ref.y4m"), (str(MEDIA / "dis.mp4"),))
        )
        result = done.result["results"][0]
        assert result["distorted"] == dis
        assert result["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(
            local.results[0].pooled["vmaf_v0.6.1"].mean, abs=1e-6
        )

        manifest = tmp_path / "clips.csv"
        manifest.write_text(f"id,distorted,reference\na,{dis},{ref}\nb,{dis},{ref}\n")
        corpus = subprocess.run(
            [sys.executable, "-m", "vmafx", "corpus", "score", str(manifest),
             "--out", str(tmp_path / "clips.parquet"), "--controller", farm.target],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
            env=seaweed_s3.env(),  # the client probes width/height/fps with its own credentials
        )  # fmt: skip
        failures = tmp_path / "clips.failures.csv"
        assert corpus.returncode == 0, corpus.stderr + (
            failures.read_text() if failures.exists() else ""
        )
        table = pq.read_table(tmp_path / "clips.parquet").to_pylist()
        assert sorted(row["id"] for row in table) == ["a", "b"]
        for row in table:
            assert row["vmaf_mean"] == pytest.approx(
                local.results[0].pooled["vmaf_v0.6.1"].mean, abs=1e-6
            )

        outside = {"reference": "s3://other-bucket/ref.y4m", "distorted": [dis]}
        with pytest.raises(ForbiddenError, match="not in tenant 'dev'.s storage allow-list"):
            await farm.client.submit_job(JobRequest.parse(kind=JobKind.SCORE, spec=outside))

        job_json = _get(f"http://127.0.0.1:{http_port}/v1/jobs/{job.id}")
        assert json.loads(job_json)["spec"]["reference"] == ref
        for shown in (
            enc_s3.job.id,
            refused_enc.job.id,
            corrupt_enc.job.id,
        ):  # encodes of objects, as the API shows
            job_json += _get(f"http://127.0.0.1:{http_port}/v1/jobs/{shown}")
        assert "s3://media/locked/dis.mp4" in job_json
        metrics = _get(f"http://127.0.0.1:{http_port}/metrics")
        await farm.client.close()
        farm.client = None
        farm.kill_all()
        stored = b"".join(
            path.read_bytes() for path in tmp_path.glob("controller.db*") if path.is_file()
        ).decode("latin-1")
        results = "".join(
            p.read_bytes().decode("latin-1")
            for p in tmp_path.glob("results-n1/**/*")
            if p.is_file()
        )
        logs = "".join(proc.output() + proc.stderr.read_text() for proc in (controller, node))
        for where, text in [("store rows and events", stored), ("job JSON", job_json),
                            ("metrics", metrics), ("logs", logs), ("node results", results)]:  # fmt: skip
            for secret in (SECRET_KEY, ACCESS_KEY, SCOPED_SECRET, SCOPED_KEY, "X-Amz-Signature",
                           "X-Amz-Credential"):  # fmt: skip
                assert secret not in text, f"{secret} found in the {where}"
        assert "farm/dis.mp4" in stored  # the store was read: the spec names the object
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()


async def test_a_tune_job_searches_an_object_through_encode_probes_a_bare_node_reads(
    tmp_path, seaweed_s3, monkeypatch
):
    """A tune job of an s3:// source: the controller's tuner sends encode probes of the object
    (each claim signs it afresh; trimmed sample probes cut the reference from it too); the
    chosen encode lands under the local output; no signature is stored."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    media = tmp_path / "media"
    media.mkdir()
    clip = tmp_path / "clip.mkv"  # 72 frames: long enough for sample probes
    subprocess.run(
        [locate_ffmpeg(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=160x90:rate=24:duration=3,noise=alls=12:allf=t",
         "-c:v", "ffv1", str(clip)],
        check=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    source = seaweed_s3.put("farm/tune/clip.mkv", clip)
    farm = Farm(tmp_path, media)
    try:
        args = ["controller", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                "--store", f"sqlite:///{tmp_path / 'controller.db'}", "--auth-disabled",
                "--scoring-root", str(media), "--storage-dir",
                str(_storage_dir(tmp_path, seaweed_s3))]  # fmt: skip
        controller = farm._spawn("controller", args, {**CONTROLLER_ENV, **NO_AWS})
        port = controller.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
        farm.target = f"127.0.0.1:{port}"
        farm.client = GrpcControllerClient(farm.target, timeout_s=10)
        node = farm.start_node("n1", queues="encode", env=NO_AWS)
        out = media / "out" / "best.mkv"
        spec = {"source": source, "codec": "h264", "encoder": "libx264", "target_vmaf": 88,
                "output": str(out), "parallel": 2, "preset": "ultrafast",
                "source_width": 160, "source_height": 90, "source_frames": 72,
                "source_fps": 24.0}  # fmt: skip
        tune = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.TUNE, spec=spec))).job
        no_output = JobRequest.parse(
            kind=JobKind.TUNE, spec={k: v for k, v in spec.items() if k != "output"}
        )
        with pytest.raises(UsageError, match="names no output"):
            await farm.client.submit_job(no_output)

        async def ended():
            got = (await farm.client.get_job(tune.id)).job
            return got if got.is_terminal else None

        job = await farm.wait_for(ended, "the tune job of an object to end", timeout_s=120)
        assert job.state is JobState.COMPLETED, job.error
        result = job.result
        assert result["hit"] and result["vmaf"] >= 88
        assert Path(result["output"]).is_file()
        assert {p["kind"] for p in result["probes"]} == {"sample", "full"}
        children = (await farm.client.list_jobs(JobFilter(parent_id=tune.id))).jobs
        assert children and all(c.spec["source"] == source for c in children)
        trimmed = [c for c in children if c.result and c.result["score_after"]["trimmed"]]
        assert trimmed and all(c.result["score_after"]["reference"] == source for c in trimmed)
        await farm.client.close()
        farm.client = None
        farm.kill_all()
        stored = b"".join(
            path.read_bytes() for path in tmp_path.glob("controller.db*") if path.is_file()
        ).decode("latin-1")
        logs = "".join(proc.output() + proc.stderr.read_text() for proc in (controller, node))
        for text in (stored, logs):
            for secret in (SCOPED_SECRET, SCOPED_KEY, "X-Amz-Signature", "X-Amz-Credential"):
                assert secret not in text
        assert "farm/tune/clip.mkv" in stored
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()
