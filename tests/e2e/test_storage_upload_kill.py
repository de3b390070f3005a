"""A node killed (SIGKILL) in the middle of uploading an encode's output to a real S3 server
(SeaweedFS on loopback): nothing appears under the final key, and the job's next attempt, on
another node, uploads the whole object (the MD5 the server checked is the downloaded bytes').
The second node, sharing the first one's temp folder, removes the scratch folder (a whole
encode) the killed node left there when it starts.

The output is real and large (13 MB: a lossless encode of noise), larger than what the kernel
buffers between the node and the server (the node's send buffer grows to 4 MiB at most), so
the node is still writing its body when it dies. The controller signs URLs for an endpoint that
is a plain TCP relay in this test: it passes bytes through unchanged (the signature covers the
Host it relays) and stops reading the first upload after 1 MiB of its body, as a slow link
would, so that the test kills the node at a known point. After the kill the relay reads
whatever the dead node's socket still delivers, forwards it, and closes: exactly what the
server would have seen without the relay.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import CONTROLLER_ENV, Farm
from tests.e2e.test_storage_farm import NO_AWS
from tests.storage_server import SCOPED_KEY, SCOPED_SECRET, SeaweedS3

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.attempts import AttemptOutcome
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobRequest
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.probe import probe

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
KEY = "farm/out/big.mp4"
STALL_AFTER = 1024 * 1024


class StallingRelay:
    """A TCP relay to the S3 server that stops reading the first PUT to `KEY` after
    `STALL_AFTER` bytes of its body, until `resume` is set."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.socket()
        # Small receive buffers: the node's writes block soon after the relay stops reading.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.resume = threading.Event()
        self.ended = threading.Event()
        self.armed = True
        self.content_length = 0
        self.body_received = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        back = threading.Thread(target=_pipe, args=(server, client), daemon=True)
        back.start()
        try:
            self._forward(client, server)
        finally:
            back.join(30)
            client.close()
            server.close()

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        head = b""
        watched = False
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                server.sendall(chunk)
                if not watched and b"\r\n\r\n" not in head:
                    head += chunk
                    if b"\r\n\r\n" in head:
                        watched = self._watch(head)
                        if watched:
                            self.body_received = len(head.split(b"\r\n\r\n", 1)[1])
                    continue
                if watched:
                    self.body_received += len(chunk)
                    if self.body_received >= STALL_AFTER and not self.stalled.is_set():
                        self.stalled.set()
                        self.resume.wait(60)  # the node blocks in send(); the test kills it
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)
        if watched:
            self.ended.set()

    def _watch(self, head: bytes) -> bool:
        request, _, rest = head.partition(b"\r\n")
        if not (self.armed and request.startswith(b"PUT /media/" + KEY.encode() + b"?")):
            return False
        self.armed = False
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                self.content_length = int(value.strip())
        return True

    def close(self) -> None:
        self.resume.set()
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def relay(seaweed_s3: SeaweedS3) -> Iterator[StallingRelay]:
    host, port = seaweed_s3.endpoint.removeprefix("http://").split(":")
    relay = StallingRelay((host, int(port)))
    try:
        yield relay
    finally:
        relay.close()


def _storage_dir(tmp: Path, endpoint: str) -> Path:
    folder = tmp / "storage"
    folder.mkdir()
    tenant = folder / "dev.env"
    tenant.write_text(
        f"AWS_ACCESS_KEY_ID={SCOPED_KEY}\nAWS_SECRET_ACCESS_KEY={SCOPED_SECRET}\n"
        f"AWS_ENDPOINT_URL={endpoint}\nAWS_REGION=us-east-1\nVMAFX_STORAGE_ALLOW=s3://media/\n"
    )
    tenant.chmod(0o600)
    return folder


async def test_a_node_killed_mid_upload_leaves_no_object_and_the_retry_uploads_it_whole(
    tmp_path, seaweed_s3, relay, monkeypatch
):
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    media = tmp_path / "media"
    media.mkdir()
    source = media / "noise.y4m"  # 30 frames of 640x360 noise: a 13 MB lossless encode
    subprocess.run(
        [locate_ffmpeg(), "-v", "error", "-y", "-f", "lavfi",
         "-i", "color=c=gray:s=640x360:r=25:d=1.2,noise=alls=60:allf=t",
         "-pix_fmt", "yuv420p", str(source)],
        check=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    farm = Farm(tmp_path, media)
    try:
        args = ["controller", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                "--store", f"sqlite:///{tmp_path / 'controller.db'}", "--auth-disabled",
                "--scoring-root", str(media),
                "--storage-dir", str(_storage_dir(tmp_path, f"http://127.0.0.1:{relay.port}"))]  # fmt: skip
        controller = farm._spawn("controller", args, {**CONTROLLER_ENV, **NO_AWS})
        port = controller.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
        farm.target = f"127.0.0.1:{port}"
        farm.client = GrpcControllerClient(farm.target, timeout_s=10)
        scratch = tmp_path / "tmp-n1"
        scratch.mkdir()
        n1 = farm.start_node("n1", queues="encode", env={**NO_AWS, "TMPDIR": str(scratch)})
        spec = {"source": str(source), "output": f"s3://media/{KEY}", "codec": "h264",
                "preset": "ultrafast", "rate_control": {"mode": "crf", "value": 0},
                "audio": "none"}  # fmt: skip
        job_id = (
            await farm.client.submit_job(JobRequest.parse(kind=JobKind.ENCODE, spec=spec))
        ).job.id

        assert relay.stalled.wait(60), "the first upload never reached 1 MiB\n" + n1.tail()
        n1.signal(signal.SIGKILL)  # mid-upload: its PUT has sent about 1 MiB of the body
        n1.popen.wait(10)
        relay.resume.set()
        assert relay.ended.wait(30), "the dead node's connection never closed"
        assert relay.content_length > 8 * 1024 * 1024
        # The dead node had not handed the whole body to its socket: the rest was never sent.
        assert STALL_AFTER <= relay.body_received < relay.content_length
        left = list(scratch.glob(f"vmafx-out-{job_id[:8]}-*/big.mp4"))  # SIGKILL: no clean-up
        assert len(left) == 1 and left[0].stat().st_size == relay.content_length
        assert not seaweed_s3.exists(KEY), "a killed upload left an object under the final key"

        # n2 shares n1's temp folder (one machine): starting, it removes what n1 left there.
        farm.start_node("n2", queues="encode", env={**NO_AWS, "TMPDIR": str(scratch)})
        assert not left[0].parent.exists(), "the killed node's scratch folder was not removed"

        async def finished():
            got = (await farm.client.get_job(job_id)).job
            return got if got.is_terminal else None

        done = await farm.wait_for(finished, "the retried encode to end", timeout_s=90)
        assert done.state is JobState.COMPLETED, done.error
        attempts = (await farm.client.get_job(job_id)).attempts
        assert [a.node_name for a in attempts] == ["n1", "n2"]
        assert attempts[0].outcome is AttemptOutcome.EXPIRED  # its lease ran out: n1 was dead
        s3 = seaweed_s3.client()
        try:  # closed here: a client left to the collector warns of its sockets in a later test
            answer = s3.get_object(Bucket="media", Key=KEY)
            with contextlib.closing(answer["Body"]) as stream:
                body = stream.read()
        finally:
            s3.close()
        digest = hashlib.md5(body).hexdigest()  # S3's own checksum
        assert len(body) == done.result["bytes"]
        assert digest == done.result["md5"]  # the MD5 the node sent, which the server checked
        downloaded = tmp_path / "downloaded.mp4"
        downloaded.write_bytes(body)
        assert probe(str(downloaded)).frame_count == 30  # a whole, playable encode
        assert not list(scratch.glob("vmafx-*")), "n2 left its scratch folder behind"
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()
