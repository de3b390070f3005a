"""`kill -9` of a `vmafx corpus score` run leaves nothing behind: its workers cancel their
ffmpeg and exit, and the forkserver and resource tracker follow them.

The run is started by a small wrapper that makes itself a child subreaper, so every process the
run leaves orphaned is re-parented to the wrapper (and not to init), where it can be counted,
reaped, and killed if it outlives the bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmafx.media.ffmpeg import locate

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="child subreapers are Linux only"),
]

#: Generous: a worker exits about 4 s after the run died, on a loaded 2-core machine too.
BOUND_S = 20.0

WRAPPER = r"""
import ctypes, json, os, signal, subprocess, sys, time

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
me = os.getpid()
manifest, out, bound = sys.argv[1], sys.argv[2], float(sys.argv[3])


def table():
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat").read()
            cmd = open(f"/proc/{name}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        procs[int(name)] = (int(ppid), state, cmd.strip())
    return procs


def descendants():
    procs, found, frontier = table(), {}, [me]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state, cmd) in procs.items():
            if ppid == parent and pid not in found:
                found[pid] = (state, cmd)
                frontier.append(pid)
    return found


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


run = subprocess.Popen(
    [sys.executable, "-m", "vmafx", "corpus", "score", manifest, "--out", out, "--workers", "2"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    before = descendants()
    if any("libvmaf" in cmd for _, cmd in before.values()) and run.poll() is None:
        break
    time.sleep(0.05)
os.kill(run.pid, signal.SIGKILL)
run.wait()
killed = time.monotonic()
while True:
    reap()
    alive = {pid: info for pid, info in descendants().items() if info[0] != "Z"}
    if not alive or time.monotonic() - killed > bound:
        break
    time.sleep(0.1)
result = {
    "before": sorted(cmd[:200] for _, cmd in before.values()),
    "scoring": any("libvmaf" in cmd for _, cmd in before.values()),
    "survivors": sorted(cmd[:400] for _, cmd in alive.values()),
    "seconds": round(time.monotonic() - killed, 1),
}
for pid in alive:  # never leave them behind, whatever the test says
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
time.sleep(0.2)
reap()
print(json.dumps(result))
"""


def ff(*args: str) -> None:
    subprocess.run([locate(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def test_kill_9_of_a_corpus_run_leaves_no_process_behind(tmp_path: Path):
    ref, dis = tmp_path / "ref.y4m", tmp_path / "dis.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24", "-frames:v", "240",
       "-pix_fmt", "yuv420p", str(ref))  # fmt: skip
    ff("-i", str(ref), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", str(dis))
    manifest = tmp_path / "clips.csv"
    rows = [f"clip{n},{dis},{ref}" for n in range(60)]
    manifest.write_text("id,distorted,reference\n" + "\n".join(rows) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    out = tmp_path / "features.parquet"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(manifest), str(out), str(BOUND_S)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert any("forkserver" in cmd for cmd in result["before"]), result
    assert result["scoring"], result  # killed while workers ran ffmpeg
    assert result["survivors"] == [], result
