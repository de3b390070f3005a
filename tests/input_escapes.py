"""Two tenants' clips made with the real ffmpeg, and the files an attacker puts under tenant B's
root to read tenant A's clip (issue 11 rows 1, 3, 4): shared by the input-escape tests of the
media layer, `vmafx score` and the node."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from vmafx.media.ffmpeg import locate

#: Big enough for every libvmaf metric (some need more than 192x108).
SIZE = "320x240"


def make_clip(path: Path, *, crf: int, source: str = "testsrc2") -> Path:
    """Ten frames of an ffmpeg test pattern at `crf` (higher: worse)."""
    subprocess.run(
        [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"{source}=size={SIZE}:rate=25", "-frames:v", "10",
         "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@dataclasses.dataclass(frozen=True)
class Tenants:
    """Tenant A's secret clip; tenant B's root with its own reference and distorted clip."""

    a_root: Path
    b_root: Path
    secret: Path
    ref: Path
    dis: Path

    def playlist(self, name: str = "steal.m3u8") -> Path:
        """An HLS playlist under B's root whose one segment is A's clip."""
        path = self.b_root / name
        path.write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
            f"#EXTINF:0.4,\n{self.secret}\n#EXT-X-ENDLIST\n"
        )
        return path

    def concat_list(self, name: str = "list.ffconcat") -> Path:
        """An ffmpeg concat list under B's root naming A's clip."""
        path = self.b_root / name
        path.write_text(f"ffconcat version 1.0\nfile '{self.secret}'\n")
        return path

    def fifo(self, name: str = "live.mp4") -> Path:
        path = self.b_root / name
        os.mkfifo(path)
        return path


def make_tenants(folder: Path) -> Tenants:
    a_root, b_root = folder / "tenant-a", folder / "tenant-b"
    a_root.mkdir()
    b_root.mkdir()
    secret = make_clip(a_root / "secret.mp4", crf=18, source="mandelbrot")
    ref = make_clip(b_root / "ref.mp4", crf=10)
    dis = make_clip(b_root / "dis.mp4", crf=45)
    return Tenants(a_root, b_root, secret, ref, dis)


def copy_as(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    return target
