#!/usr/bin/env bash
# Make `.gpu-carry/` for the GPU device check (docs/gpu.md): what the lent machine lacks and
# cannot fetch (it has no network). The bundled static ffmpeg (172 MB) is xz-compressed to about
# 48 MB so that it travels under the 64 MiB limit; FFMPEG_XZ=path reuses one already made (xz -9
# takes minutes). vmaf-torch and its yuvio are pure-Python wheels (tens of kB).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-.venv/bin/python}"
exclude="$(git rev-parse --git-path info/exclude)"
grep -qxF '/.gpu-carry/' "$exclude" 2>/dev/null || echo '/.gpu-carry/' >>"$exclude"
mkdir -p .gpu-carry
if [ -n "${FFMPEG_XZ:-}" ]; then
    cp "$FFMPEG_XZ" .gpu-carry/ffmpeg.xz
elif [ ! -s .gpu-carry/ffmpeg.xz ]; then
    ffmpeg="$("$python" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')"
    xz -T0 -9 -c "$ffmpeg" >.gpu-carry/ffmpeg.xz.part && mv .gpu-carry/ffmpeg.xz.part .gpu-carry/ffmpeg.xz
fi
"$python" -m pip download -q --no-deps --only-binary=:all: -d .gpu-carry vmaf-torch==1.1.0 yuvio==1.6
du -sh .gpu-carry
echo "tree that travels (must stay under 64 MiB):"
git ls-files -co --exclude-standard -z | du -ch --files0-from=- | tail -1
