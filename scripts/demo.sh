#!/usr/bin/env bash
# The main job on the embedded default: set up, make two short clips with ffmpeg, score them.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_BIN=${PYTHON_BIN:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON_BIN" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
mkdir -p .demo
FFMPEG=$(.venv/bin/python -c "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())")
echo "making two 5-second 720p clips in .demo/ ..."
"$FFMPEG" -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=24:duration=5" \
    -c:v libx264 -preset veryfast -crf 12 -pix_fmt yuv420p .demo/reference.mp4
"$FFMPEG" -hide_banner -loglevel error -y -i .demo/reference.mp4 \
    -c:v libx264 -preset veryfast -crf 30 .demo/crf30.mp4
"$FFMPEG" -hide_banner -loglevel error -y -i .demo/reference.mp4 -vf scale=854:480 \
    -c:v libx264 -preset veryfast -crf 26 .demo/480p_crf26.mp4
.venv/bin/vmafx score .demo/reference.mp4 .demo/crf30.mp4 .demo/480p_crf26.mp4 --feature psnr --feature float_ssim
