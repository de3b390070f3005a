"""The GPU device check (issue 19): one run, under 8 minutes, figures written to a folder.

    PYTHONPATH=src python3 benchmarks/gpu.py OUT [--ffmpeg PATH] [--budget-s 420]
    PYTHONPATH=src python3 benchmarks/gpu.py OUT --dry-run [--without av,sqlalchemy,...]

(or `scripts/gpu-check.sh OUT`, which sets the path and keeps a log). What it measures, each
step timed and skipped with a recorded reason once the budget is spent or where what it needs
is missing; nothing is fetched from a network:

  env        Python, torch and CUDA, nvidia-smi, ONNX Runtime's providers, which of vmafx's
             imports are missing on this machine (the device image has no PyAV, SQLAlchemy,
             FastAPI or imageio-ffmpeg: the paths used here need none of them)
  probe      `vmafx node --probe --format json` (GPUs by NVML and nvidia-smi, trial encodes and
             NVDEC trial decodes; on a Hopper GPU NVENC must be refused)
  decode     bare ffmpeg decode fps of each clip, CPU against NVDEC (hwdownload included)
  score      `vmafx score --decode cpu|cuda --threads T` fps at 1080p and 2160p (clips made on
             the spot: testsrc2+noise, x264 CRF 18 reference, CRF 35 distorted), the report's
             `decode` record, and whether the per-frame scores are identical (bit-exact NVDEC);
             one `--decode auto` run at 1080p records what auto picks
  torch      vmaf-torch on CUDA at 1080p: fps (CPU decode and NVDEC), per-frame max and pooled
             mean deviation against libvmaf's per-frame scores of the same pair
  trainer    the trainer's steps/s (batch 32, 80 features) on the CPU and with CUDA

ffmpeg: --ffmpeg, else VMAFX_FFMPEG, else `ffmpeg` on PATH, else imageio-ffmpeg, else
`.gpu-carry/ffmpeg.xz` (the bundled static ffmpeg, xz-compressed to travel: scripts/gpu-carry.sh),
unpacked to a temporary folder. vmaf-torch: imported, else installed from `.gpu-carry/*.whl`
into a temporary folder (never from a network).

`--dry-run` makes tiny clips and runs every step on the CPU in well under a minute: the test
tests/integration/test_gpu_check.py runs it that way, with `--without` hiding the packages the
device image lacks. Files written to OUT: env.json, probe.json, summary.json, summary.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import json
import lzma
import os
import platform
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CARRY = ROOT / ".gpu-carry"
#: Imports vmafx may need, and the extra that brings each: reported, never installed.
OPTIONAL = {
    "av": "base (PyAV: probing in the node and the controller)",
    "imageio_ffmpeg": "base (the bundled ffmpeg)",
    "sqlalchemy": "controller",
    "fastapi": "controller",
    "pydantic": "controller",
    "grpc": "node",
    "prometheus_client": "node",
    "pynvml": "node (nvidia-ml-py)",
    "onnxruntime": "ai",
    "torch": "train",
    "onnx": "train",
    "vmaf_torch": "gpu",
    "pandas": "gpu",
}
BLOCKER = """
import importlib.abc, os, sys
_HIDDEN = set(filter(None, os.environ.get("VMAFX_GPU_CHECK_WITHOUT", "").split(",")))
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in _HIDDEN:
            raise ImportError(f"{name} hidden by benchmarks/gpu.py --without")
        return None
sys.meta_path.insert(0, _Hide())
"""


class Run:
    """The run's state: the output folder, the budget, the figures, the log."""

    def __init__(self, out: Path, budget_s: float, dry: bool) -> None:
        self.out = out
        self.dry = dry
        self.deadline = time.monotonic() + budget_s
        self.summary: dict[str, Any] = {"dry_run": dry, "steps": {}}
        self.work = Path(tempfile.mkdtemp(prefix="vmafx-gpu-check-"))
        self.env = dict(os.environ)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def step(self, name: str, func: Callable[[], Any], need_s: float) -> None:
        """Run one step; record its figures, or why it was skipped or failed."""
        started = time.monotonic()
        if self.left() < need_s:
            self.summary["steps"][name] = {"skipped": f"budget: {self.left():.0f} s left"}
            log(f"[{name}] skipped: budget")
            return
        log(f"[{name}] ...")
        try:
            result = func()
        except Exception as error:  # a step's failure is a figure too
            result = {"error": f"{type(error).__name__}: {error}"}
        result = result if isinstance(result, dict) else {"result": result}
        result["wall_s"] = round(time.monotonic() - started, 2)
        self.summary["steps"][name] = result
        log(f"[{name}] {json.dumps(result)[:600]}")
        self.write()

    def write(self) -> None:
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=2))

    def sh(
        self, argv: list[str], timeout: float = 300, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        timeout = max(5.0, min(timeout, self.left()))
        return subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=timeout, env=self.env, **kw
        )


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


# --- environment --------------------------------------------------------------------------------
def hide(modules: list[str], run: Run) -> None:
    """Make `modules` unimportable here and in every child (a simulated device image)."""
    if not modules:
        return
    folder = run.work / "hide"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    run.env["VMAFX_GPU_CHECK_WITHOUT"] = ",".join(modules)
    run.env["PYTHONPATH"] = os.pathsep.join([str(folder), run.env.get("PYTHONPATH", "")])
    os.environ["VMAFX_GPU_CHECK_WITHOUT"] = run.env["VMAFX_GPU_CHECK_WITHOUT"]
    exec(compile(BLOCKER, "<gpu-check blocker>", "exec"), {})


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:
        return False
    return True


def carried_wheels(run: Run) -> str | None:
    """Install `.gpu-carry/*.whl` (vmaf-torch, yuvio) into a temporary folder; what happened."""
    if importable("vmaf_torch"):
        return "already importable"
    if "vmaf_torch" in run.env.get("VMAFX_GPU_CHECK_WITHOUT", ""):
        return "hidden (--without)"
    wheels = sorted(str(p) for p in CARRY.glob("*.whl"))
    if not wheels:
        return "no .gpu-carry/*.whl (scripts/gpu-carry.sh makes them)"
    target = run.work / "site"
    done = run.sh(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target",
         str(target), *wheels], timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        return f"pip failed: {done.stderr.strip()[-300:]}"
    sys.path.insert(0, str(target))
    run.env["PYTHONPATH"] = os.pathsep.join([str(target), run.env.get("PYTHONPATH", "")])
    importlib.invalidate_caches()
    return "installed from .gpu-carry: " + ", ".join(Path(w).name for w in wheels)


def environment(run: Run) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "wheels": carried_wheels(run),
        "missing": {m: why for m, why in OPTIONAL.items() if not importable(m)},
    }
    smi = shutil.which("nvidia-smi")
    if smi:
        done = run.sh([smi, "--query-gpu=name,uuid,memory.total,driver_version,compute_cap",
                       "--format=csv,noheader"], timeout=30)  # fmt: skip
        env["nvidia_smi"] = done.stdout.strip() or done.stderr.strip()
    if importable("torch"):
        import torch  # noqa: PLC0415

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.version.cuda
        env["cuda_available"] = bool(torch.cuda.is_available())
        if env["cuda_available"]:
            env["cuda_device"] = torch.cuda.get_device_name(0)
    if importable("onnxruntime"):
        import onnxruntime  # noqa: PLC0415

        env["onnxruntime"] = onnxruntime.__version__
        env["onnxruntime_providers"] = onnxruntime.get_available_providers()
    (run.out / "env.json").write_text(json.dumps(env, indent=2))
    return env


def find_ffmpeg(run: Run, given: str | None) -> str:
    for candidate in (given, os.environ.get("VMAFX_FFMPEG"), shutil.which("ffmpeg")):
        if candidate:
            return candidate
    if importable("imageio_ffmpeg"):
        import imageio_ffmpeg  # noqa: PLC0415

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    packed = CARRY / "ffmpeg.xz"
    if not packed.is_file():
        raise SystemExit(
            "no ffmpeg: pass --ffmpeg, set VMAFX_FFMPEG, or carry .gpu-carry/ffmpeg.xz "
            "(scripts/gpu-carry.sh)"
        )
    target = run.work / "ffmpeg"
    with lzma.open(packed) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 22)
    target.chmod(target.stat().st_mode | stat.S_IXUSR)
    return str(target)


# --- steps --------------------------------------------------------------------------------------
def vmafx(run: Run, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run.sh([sys.executable, "-m", "vmafx", *args], timeout=timeout)


def probe(run: Run) -> dict[str, Any]:
    run.env["XDG_STATE_HOME"] = str(run.work / "state")
    done = vmafx(run, "node", "--probe", "--format", "json", timeout=240)
    how = "vmafx node --probe --format json"
    if done.returncode == 0:
        text = done.stdout
    else:  # the CLI could not start here (a typer that needs what the image lacks, say)
        how = f"probe_node() in process; the CLI failed: {done.stderr.strip()[-300:]}"
        text = json.dumps(probe_in_process(run), indent=2)
    (run.out / "probe.json").write_text(text)
    report = json.loads(text)
    return {
        "how": how,
        "gpus": [
            f"{g['name']} ({g['uuid']}, {g['memory_mb']} MiB, driver {g['driver']}, "
            f"cc {g.get('compute_capability')})"
            for g in report["gpus"]
        ],
        "sources": {k: v is not None for k, v in report["sources"].items()},
        "encoders_verified": report["encoders"]["verified"],
        "nvenc_refused": {
            k: v["reason"] for k, v in report["encoders"]["failures"].items() if "nvenc" in k
        },
        "decoders_verified": report["decoders"]["verified"],
        "decoders_refused": {k: v["reason"] for k, v in report["decoders"]["failures"].items()},
        "backends": report["announce"]["backends"],
        "notes": report["notes"],
    }


def probe_in_process(run: Run) -> dict[str, Any]:
    """What `vmafx node --probe --format json` prints, without the CLI around it."""
    from vmafx.media.ffmpeg import ffmpeg_info  # noqa: PLC0415
    from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415
    from vmafx.node.probe_report import probe_node  # noqa: PLC0415
    from vmafx.node.settings import node_settings  # noqa: PLC0415

    os.environ["XDG_STATE_HOME"] = run.env["XDG_STATE_HOME"]
    ffmpeg = ffmpeg_info(run.env["VMAFX_FFMPEG"])
    return probe_node(node_settings(), ffmpeg, SubprocessRunner()).to_json()


def make_clips(run: Run, ffmpeg: str, name: str, size: str, frames: int) -> tuple[str, str]:
    ref, dis = str(run.work / f"{name}_ref.mp4"), str(run.work / f"{name}_dis.mp4")
    source = f"testsrc2=size={size}:rate=24,noise=alls=8:allf=t"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    base = [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", str(frames)]
    for path, crf in ((ref, "18"), (dis, "35")):
        done = run.sh([*base, *x264, "-crf", crf, path], timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"making {path}: {done.stderr[-300:]}")
    return ref, dis


def decode_fps(run: Run, ffmpeg: str, path: str, frames: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    argvs = {
        "cpu": [ffmpeg, "-v", "error", "-i", path, "-f", "null", "-"],
        "nvdec": [
            ffmpeg,
            "-v",
            "error",
            "-hwaccel",
            "cuda",
            "-hwaccel_output_format",
            "cuda",
            "-i",
            path,
            "-vf",
            "hwdownload,format=nv12",
            "-f",
            "null",
            "-",
        ],
    }
    for name, argv in argvs.items():
        started = time.perf_counter()
        done = run.sh(argv, timeout=120)
        elapsed = time.perf_counter() - started
        figures[name] = (
            round(frames / elapsed, 1) if done.returncode == 0
            else f"failed: {done.stderr.strip()[-200:]}"
        )  # fmt: skip
    return figures


def read_frames(path: Path) -> list[float]:
    with path.open() as handle:
        return [float(row["vmaf_v0.6.1"]) for row in csv.DictReader(handle)]


def score(run: Run, ref: str, dis: str, frames: int, decode: str, threads: int) -> dict[str, Any]:
    per_frame = run.work / f"{Path(dis).stem}_{decode}.csv"
    started = time.perf_counter()
    done = vmafx(run, "score", ref, dis, "--decode", decode, "--threads", str(threads),
                 "--format", "json", "--per-frame", str(per_frame), "--no-features")  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-400:]}"}
    report = json.loads(done.stdout)
    return {
        "fps": round(frames / elapsed, 1),
        "wall_s": round(elapsed, 2),
        "vmaf_mean": report["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"],
        "decode": report.get("decode"),
        "frames_csv": str(per_frame),
    }


def scoring(
    run: Run, ffmpeg: str, name: str, size: str, frames: int, threads: int
) -> dict[str, Any]:
    ref, dis = make_clips(run, ffmpeg, name, size, frames)
    run.summary.setdefault("clips", {})[name] = {"ref": ref, "dis": dis, "frames": frames}
    out: dict[str, Any] = {"size": size, "frames": frames, "threads": threads}
    out["decode_fps"] = decode_fps(run, ffmpeg, dis, frames)
    cpu = score(run, ref, dis, frames, "cpu", threads)
    cuda = score(run, ref, dis, frames, "cuda", threads)
    out["cpu"], out["cuda"] = cpu, cuda
    if "fps" in cpu and "fps" in cuda:
        out["cuda_over_cpu"] = round(cuda["fps"] / cpu["fps"], 3)
        a, b = read_frames(Path(cpu["frames_csv"])), read_frames(Path(cuda["frames_csv"]))
        # meaningful only where NVDEC really decoded: `gpu_decoded` says whether it did
        out["gpu_decoded"] = (cuda.get("decode") or {}).get("used") == "cuda"
        out["bit_exact"] = a == b
        out["max_frame_difference"] = max(
            (abs(x - y) for x, y in zip(a, b, strict=False)), default=None
        )
    if name == "1080p":
        out["auto"] = score(run, ref, dis, frames, "auto", threads).get("decode")
    return out


def torch_scorer(run: Run, ffmpeg: str, dry: bool) -> dict[str, Any]:
    clip = run.summary.get("clips", {}).get("1080p")
    cpu = run.summary["steps"].get("score_1080p", {}).get("cpu", {})
    if clip is None or "frames_csv" not in cpu:
        return {"skipped": "no 1080p libvmaf run to compare with"}
    if not importable("vmaf_torch"):
        return {"skipped": "vmaf-torch not importable (see env.wheels)"}
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from vmafx.media import torchvmaf  # noqa: PLC0415

    device = "cuda" if torch.cuda.is_available() and not dry else "cpu"
    width, height = (int(v) for v in run.summary["steps"]["score_1080p"]["size"].split("x"))
    libvmaf = np.array(read_frames(Path(cpu["frames_csv"])))
    out: dict[str, Any] = {"device": device, "label": torchvmaf.LABEL}
    for nvdec in (False, True) if device == "cuda" else (False,):
        result = torchvmaf.score_pair(
            ffmpeg, clip["ref"], clip["dis"], width=width, height=height, device=device,
            batch=16, nvdec=nvdec,
        )  # fmt: skip
        mine = np.array(result.frames)
        key = "nvdec" if nvdec else "cpu_decode"
        out[key] = {
            "fps": round(result.fps, 1),
            "frames": len(mine),
            "pooled_mean": round(float(mine.mean()), 4),
            "libvmaf_pooled_mean": round(float(libvmaf.mean()), 4),
            "pooled_deviation": round(abs(float(mine.mean() - libvmaf.mean())), 4),
            "max_frame_deviation": round(float(np.abs(mine - libvmaf).max()), 4),
        }
    libvmaf_fps = cpu.get("fps")
    if libvmaf_fps and "cpu_decode" in out:
        out["torch_over_libvmaf_fps"] = round(out["cpu_decode"]["fps"] / libvmaf_fps, 3)
    return out


def trainer(run: Run, steps: int) -> dict[str, Any]:
    if not importable("torch"):
        return {"skipped": "torch not importable"}
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from vmafx.ai.trainer.device import training_device  # noqa: PLC0415
    from vmafx.ai.trainer.learner import Learner  # noqa: PLC0415
    from vmafx.ai.trainer.model import QualityMlp  # noqa: PLC0415
    from vmafx.ai.trainer.replay import Batch  # noqa: PLC0415
    from vmafx.ai.trainer.settings import SidecarSettings  # noqa: PLC0415

    settings = SidecarSettings(checkpoint_dir=run.work / "models")
    rng = np.random.default_rng(1)
    rows = [(rng.random(80, dtype=np.float32), float(rng.random() * 100)) for _ in range(64)]
    out: dict[str, Any] = {"batch": settings.batch_size, "features": 80, "steps": steps}
    for want in (False, True):
        chosen = training_device(want)
        name = "cuda" if want else "cpu"
        if want and chosen.device.type != "cuda":
            out[name] = {"skipped": chosen.reason}
            continue
        torch.manual_seed(1)
        learner = Learner(settings, QualityMlp(80), rng=random.Random(1), device=chosen.device)
        batch = Batch(new=rows[: settings.batch_size], replayed=[])
        for _ in range(5):  # warm-up (CUDA context, kernels)
            learner.train_step(batch)
        if chosen.device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            learner.train_step(batch)
        if chosen.device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        out[name] = {"steps_per_s": round(steps / elapsed, 1), "device": chosen.reason}
    if "steps_per_s" in out.get("cuda", {}):
        out["cuda_over_cpu"] = round(out["cuda"]["steps_per_s"] / out["cpu"]["steps_per_s"], 3)
    return out


# --- report -------------------------------------------------------------------------------------
def markdown(summary: dict[str, Any]) -> str:
    lines = ["# GPU check", "", f"dry run: {summary['dry_run']}", ""]
    env = summary["steps"].get("env", {})
    for key in ("nvidia_smi", "cuda_device", "torch", "onnxruntime_providers", "missing"):
        if key in env:
            lines.append(f"- {key}: {env[key]}")
    for name, figures in summary["steps"].items():
        if name == "env":
            continue
        lines += ["", f"## {name}", "", "```json", json.dumps(figures, indent=2), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ffmpeg")
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--dry-run", action="store_true", help="tiny clips, CPU only")
    parser.add_argument("--without", default="", help="modules to hide (simulate the image)")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args.out, args.budget_s, args.dry_run)
    hide([m for m in args.without.split(",") if m], run)
    run.env.setdefault("PYTHONPATH", str(ROOT / "src"))
    if str(ROOT / "src") not in run.env["PYTHONPATH"].split(os.pathsep):
        run.env["PYTHONPATH"] = os.pathsep.join([run.env["PYTHONPATH"], str(ROOT / "src")])
    sys.path.insert(0, str(ROOT / "src"))
    run.step("env", lambda: environment(run), 0)
    ffmpeg = find_ffmpeg(run, args.ffmpeg)
    run.env["VMAFX_FFMPEG"] = ffmpeg
    run.summary["ffmpeg"] = ffmpeg
    sizes = [("1080p", "192x108", 6), ("2160p", "256x144", 4)] if args.dry_run else [
        ("1080p", "1920x1080", 240), ("2160p", "3840x2160", 96),
    ]  # fmt: skip
    run.step("probe", lambda: probe(run), 30)
    for name, size, frames in sizes:
        run.step(
            f"score_{name}",
            lambda n=name, s=size, f=frames: scoring(run, ffmpeg, n, s, f, args.threads),
            60,
        )
    run.step("torch", lambda: torch_scorer(run, ffmpeg, args.dry_run), 45)
    run.step("trainer", lambda: trainer(run, 50 if args.dry_run else 2000), 20)
    (run.out / "summary.md").write_text(markdown(run.summary))
    run.write()
    with contextlib.suppress(OSError):
        shutil.rmtree(run.work)
    log(f"done; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
