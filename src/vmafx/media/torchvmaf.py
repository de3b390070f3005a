"""An opt-in VMAF scorer on the GPU: the `vmaf-torch` package (a PyTorch re-implementation of
VMAF v0.6.1 by Aistov and Koroteev, BSD-3), fed batches of frames that ffmpeg decodes.

NOT libvmaf: vmaf-torch computes the features in floating point where libvmaf uses integers,
so its scores deviate (its authors report up to 0.027 pooled on the Netflix public set). Every
result says so (`LABEL`). It is offered only as `vmafx score --backend torch-cuda`, only where
torch sees a CUDA GPU, never by default; on the CPU it runs too (`device="cpu"`), which is how
its deviation from libvmaf is tested on the development machines (tests/integration/media/
test_torch_vmaf.py). Whether it is faster than libvmaf on a GPU, and by how much it deviates
there, is what the device script measures (benchmarks/gpu.py, docs/gpu.md).

How frames flow: one ffmpeg per input decodes its luma plane as 8-bit `gray` rawvideo to a pipe
(a distorted input of another size is scaled to the reference with bicubic first, as the libvmaf
path does; `nvdec=True` decodes with `-hwaccel cuda`); batches of `batch` frames become
[N, 1, H, W] float tensors on the device. Motion needs each frame's neighbours, so every batch is
computed with one frame of context on each side and only its own frames are kept.

Limits: 8-bit inputs only (vmaf-torch works on [0, 255]); the model is vmaf_v0.6.1 only.
"""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from vmafx.errors import MismatchError, MissingExtraError, UsageError
from vmafx.media.urls import local_input_args

BACKEND = "torch-cuda"
LABEL = "vmaf-torch (PyTorch re-implementation of VMAF v0.6.1): NOT libvmaf"
DEFAULT_BATCH = 16


@dataclasses.dataclass(frozen=True)
class TorchVmafResult:
    distorted: str
    frames: list[float]
    elapsed_s: float
    device: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.frames)) if self.frames else float("nan")

    @property
    def fps(self) -> float:
        return len(self.frames) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "distorted": self.distorted,
            "backend": BACKEND if self.device.startswith("cuda") else f"torch-{self.device}",
            "label": LABEL,
            "device": self.device,
            "frame_count": len(self.frames),
            "pooled": {"vmaf_torch": {"mean": self.mean}},
            "frames": {"vmaf_torch": list(self.frames)},
            "elapsed_s": round(self.elapsed_s, 3),
            "fps": round(self.fps, 2),
        }


def load() -> Any:
    """The `vmaf_torch` module, or MissingExtraError with the install command."""
    try:
        return importlib.import_module("vmaf_torch")
    except ImportError as error:
        raise MissingExtraError(
            f"The torch-cuda backend needs the vmaf-torch package ({error}).",
            extra="gpu",
            command="pip install 'vmafx[gpu]'",
        ) from None


def why_not_offered() -> str | None:
    """Why `--backend torch-cuda` cannot run here; None when it can."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA GPU"
    try:
        load()
    except MissingExtraError as error:
        return error.message
    return None


def check_offered() -> None:
    reason = why_not_offered()
    if reason is not None:
        raise UsageError(
            f"--backend torch-cuda cannot run here: {reason}.",
            hint="It needs an NVIDIA GPU that torch sees and `pip install 'vmafx[gpu]'`; "
            "the default backend (libvmaf) needs neither.",
        )


def decode_argv(
    ffmpeg: str, path: str, *, size: tuple[int, int] | None = None, nvdec: bool = False
) -> list[str]:
    """ffmpeg decoding `path`'s luma as 8-bit gray rawvideo to stdout (scaled to `size`)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error"]
    if nvdec:
        argv += ["-hwaccel", "cuda"]
    argv += local_input_args(path)
    chain = [] if size is None else [f"scale={size[0]}:{size[1]}:flags=bicubic"]
    chain.append("format=gray")
    return [*argv, "-map", "0:v:0", "-vf", ",".join(chain), "-f", "rawvideo", "pipe:1"]


def _frames(stream: IO[bytes], width: int, height: int) -> Iterator[np.ndarray]:
    size = width * height
    while True:
        data = stream.read(size)
        if len(data) < size:
            return
        yield np.frombuffer(data, dtype=np.uint8).reshape(height, width)


class _Decoder:
    """One ffmpeg decoding to a pipe; its stderr drained on a thread."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.stderr = b""
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def close(self) -> int:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._drain.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def score_pair(
    ffmpeg: str,
    reference: str,
    distorted: str,
    *,
    width: int,
    height: int,
    distorted_size: tuple[int, int] | None = None,
    device: str = "cuda",
    batch: int = DEFAULT_BATCH,
    nvdec: bool = False,
) -> TorchVmafResult:
    """Per-frame VMAF (v0.6.1, clipped to 0–100) of `distorted` against `reference`."""
    torch = importlib.import_module("torch")
    vmaf_torch = load()
    model = vmaf_torch.VMAF(clip_score=True).to(device).eval()
    scale = None if distorted_size in (None, (width, height)) else (width, height)
    started = time.perf_counter()
    ref = _Decoder(decode_argv(ffmpeg, reference, nvdec=nvdec))
    dis = _Decoder(decode_argv(ffmpeg, distorted, size=scale, nvdec=nvdec))
    scores: list[float] = []
    try:
        assert ref.proc.stdout is not None and dis.proc.stdout is not None
        pairs = zip(
            _frames(ref.proc.stdout, width, height),
            _frames(dis.proc.stdout, width, height),
            strict=False,
        )
        before: tuple[np.ndarray, np.ndarray] | None = None  # the last frame scored
        pending: list[tuple[np.ndarray, np.ndarray]] = []  # frames to score, plus one after
        with torch.inference_mode():
            for pair in pairs:
                pending.append(pair)
                if len(pending) == batch + 1:
                    window = ([before] if before is not None else []) + pending
                    scores += _batch_scores(torch, model, window, device, before is not None)[:-1]
                    before, pending = pending[-2], pending[-1:]
            if pending:
                window = ([before] if before is not None else []) + pending
                scores += _batch_scores(torch, model, window, device, before is not None)
        leftover = ref.proc.stdout.read(1), dis.proc.stdout.read(1)
    finally:
        codes = ref.close(), dis.close()
    elapsed = time.perf_counter() - started
    for code, decoder, path in ((codes[0], ref, reference), (codes[1], dis, distorted)):
        if code != 0:
            tail = decoder.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise UsageError(
                f"ffmpeg could not decode {path} for the torch backend (exit code {code}).",
                hint="\n".join(tail) or "Run ffmpeg on the file to see why.",
            )
    if any(leftover):
        longer = reference if leftover[0] else distorted
        raise MismatchError(
            f"{longer} has more frames than the other input; the torch backend compares "
            "inputs of equal frame counts only.",
            hint="Trim them to the same frames, or use the libvmaf backend with --sync shortest.",
        )
    return TorchVmafResult(distorted, scores, elapsed, str(device))


def _batch_scores(
    torch: Any, model: Any, window: list[tuple[np.ndarray, np.ndarray]], device: str, lead: bool
) -> list[float]:
    """Scores of `window`'s frames, less the leading context frame when there is one."""
    ref = torch.from_numpy(np.stack([r for r, _ in window])[:, None]).to(device).float()
    dis = torch.from_numpy(np.stack([d for _, d in window])[:, None]).to(device).float()
    values = model(ref, dis).reshape(-1).tolist()
    return [float(v) for v in values[1:]] if lead else [float(v) for v in values]
