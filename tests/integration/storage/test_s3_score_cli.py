"""`vmafx score` over objects in a real S3 server (SeaweedFS on loopback): the same scores as
from local files, and a clear one-line error with the right exit code for each failure, with
neither the secret nor a signature anywhere in the output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.conftest import MEDIA
from tests.storage_server import SECRET_KEY, SeaweedS3

pytestmark = pytest.mark.integration
REF, DIS = MEDIA / "ref.y4m", MEDIA / "dis.mp4"


def vmafx(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vmafx", *args], capture_output=True, text=True, env=env, timeout=120
    )


def assert_no_secret(out: subprocess.CompletedProcess[str]) -> None:
    text = out.stdout + out.stderr
    assert SECRET_KEY not in text
    assert "X-Amz-Signature=" not in text.replace("X-Amz-Signature=[redacted]", "")
    assert "X-Amz-Credential=" not in text.replace("X-Amz-Credential=[redacted]", "")


@pytest.fixture(scope="module")
def objects(seaweed_s3: SeaweedS3) -> tuple[str, str]:
    return seaweed_s3.put("cli/ref.y4m", REF), seaweed_s3.put("cli/dis.mp4", DIS)


def _pooled(out: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert out.returncode == 0, out.stderr
    return [r["pooled"] for r in json.loads(out.stdout)["results"]]


def test_two_objects_score_exactly_as_the_same_files_on_disk(seaweed_s3, objects):
    env = seaweed_s3.env()
    remote = vmafx("score", *objects, "--format", "json", env=env)
    local = vmafx("score", str(REF), str(DIS), "--format", "json", env=env)
    assert _pooled(remote) == _pooled(local)
    report = json.loads(remote.stdout)
    assert report["reference"] == objects[0]
    assert report["results"][0]["distorted"] == objects[1]
    assert_no_secret(remote)


def test_a_mixed_pair_local_reference_and_object_distorted_scores_the_same(seaweed_s3, objects):
    env = seaweed_s3.env()
    mixed = vmafx("score", str(REF), objects[1], "--format", "json", env=env)
    local = vmafx("score", str(REF), str(DIS), "--format", "json", env=env)
    assert _pooled(mixed) == _pooled(local)


def test_a_missing_object_exits_3_naming_it(seaweed_s3, objects):
    out = vmafx("score", objects[0], "s3://media/cli/nothere.mp4", env=seaweed_s3.env())
    assert out.returncode == 3
    assert "s3://media/cli/nothere.mp4 does not exist" in out.stderr
    assert "Traceback" not in out.stderr
    assert_no_secret(out)


def test_wrong_credentials_exit_16_with_the_fix_and_without_the_secret(seaweed_s3, objects):
    wrong = "wrong-" + SECRET_KEY
    out = vmafx("score", *objects, env=seaweed_s3.env(AWS_SECRET_ACCESS_KEY=wrong))
    assert out.returncode == 16
    assert "refused the credentials" in out.stderr and "AWS_SECRET_ACCESS_KEY" in out.stderr
    assert wrong not in out.stdout + out.stderr
    assert_no_secret(out)


def test_no_credentials_at_all_exit_16_naming_the_variables(seaweed_s3, objects):
    env = {
        k: v
        for k, v in seaweed_s3.env().items()
        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env.update(
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
    )
    out = vmafx("score", *objects, env=env)
    assert out.returncode == 16, out.stderr
    assert "No S3 credentials" in out.stderr and "AWS_ACCESS_KEY_ID" in out.stderr


def test_a_playlist_stored_under_a_video_name_is_refused_before_ffmpeg(
    seaweed_s3, tmp_path, objects
):
    fake = tmp_path / "steal.mp4"
    fake.write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    url = seaweed_s3.put("cli/steal.mp4", fake)
    out = vmafx("score", objects[0], url, env=seaweed_s3.env())
    assert out.returncode == 4
    assert f"{url} is an HLS playlist" in out.stderr


def test_a_playlist_by_name_is_refused_without_reading_it(seaweed_s3, objects):
    out = vmafx("score", objects[0], "s3://media/cli/list.m3u8", env=seaweed_s3.env())
    assert out.returncode == 4
    assert "s3://media/cli/list.m3u8 is an HLS playlist" in out.stderr


def test_per_frame_csv_is_uploaded_to_the_object_url(seaweed_s3, objects, tmp_path):
    env = seaweed_s3.env()
    key = "cli/out/frames.csv"
    out = vmafx("score", *objects, "--per-frame", f"s3://media/{key}", env=env)
    assert out.returncode == 0, out.stderr
    local = tmp_path / "frames.csv"
    assert vmafx("score", *objects, "--per-frame", str(local), env=env).returncode == 0
    body = seaweed_s3.client().get_object(Bucket="media", Key=key)["Body"].read()
    assert body == local.read_bytes()
    assert body.count(b"\n") == 9  # header + 8 frames


def test_without_boto3_an_s3_url_exits_19_with_the_install_command(seaweed_s3, objects):
    code = (
        "import sys; sys.modules['boto3'] = None; sys.argv = ['vmafx', 'score', *sys.argv[1:]];"
        "from vmafx.cli.entry import main; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *objects],
        capture_output=True, text=True, env=seaweed_s3.env(), timeout=60,
    )  # fmt: skip
    assert out.returncode == 19
    assert "pip install 'vmafx[s3]'" in out.stderr


def test_a_signed_https_style_url_given_directly_scores_like_the_file(seaweed_s3, objects):
    client = seaweed_s3.client()
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "media", "Key": "cli/dis.mp4"}, ExpiresIn=300
    )
    env = {k: v for k, v in seaweed_s3.env().items() if not k.startswith("AWS_")}
    remote = vmafx("score", str(REF), url, "--format", "json", env=env)
    local = vmafx("score", str(REF), str(DIS), "--format", "json", env=env)
    assert _pooled(remote) == _pooled(local)
    missing = vmafx("score", str(REF), url.replace("cli/dis.mp4", "cli/none.mp4"), env=env)
    assert missing.returncode in (3, 16)  # the key is part of what was signed: 403 or 404
    assert url.split("X-Amz-Signature=")[1] not in missing.stderr
