"""One line for what a running job does now: `encoding 42 % 87 fps ETA 0:12 (libaom-av1)`.

Built from `Job.progress` and `Job.progress_detail` (phase, frames, fps, ETA, encoder as its node
last reported); the CLI's `jobs get`/`jobs watch` print it and the web UI writes the same words
(`format.js: progressText`). Under 10 % the percentage keeps one decimal, so a slow encoder
(libaom at its default speed makes well under a frame a second) is seen to move.
"""

from __future__ import annotations

from vmafx.core.jobs import Job, JobState


def clock(seconds: float) -> str:
    """`0:12`, `4:05`, `1:02:03`."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent_text(fraction: float) -> str:
    value = max(0.0, min(1.0, fraction)) * 100
    return f"{value:.1f} %" if 0 < value < 10 else f"{value:.0f} %"


def progress_text(job: Job) -> str:
    """The phase, percent, speed, ETA and encoder of a running job; "" for other states."""
    if job.state is not JobState.RUNNING:
        return ""
    detail = job.progress_detail or {}
    bits: list[str] = []
    phase = detail.get("phase")
    if isinstance(phase, str) and phase:
        bits.append(phase)
    if job.progress is not None:
        bits.append(percent_text(job.progress))
    frames = detail.get("frames")
    if job.progress is None and isinstance(frames, int) and frames:
        bits.append(f"frame {frames}")
    fps = detail.get("fps")
    if isinstance(fps, int | float) and fps > 0:
        bits.append(f"{fps:.1f} fps" if fps < 10 else f"{fps:.0f} fps")
    eta = detail.get("eta_s")
    if isinstance(eta, int | float) and eta > 0:
        bits.append(f"ETA {clock(eta)}")
    encoder = detail.get("encoder")
    if isinstance(encoder, str) and encoder:
        bits.append(f"({encoder})")
    return " ".join(bits)
