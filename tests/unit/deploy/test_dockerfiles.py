"""A lint of deploy/docker/Dockerfile.*, which cannot be built here (no container engine): base
images pinned, a non-root USER, no secrets, every COPY source in the repository and kept by the
.dockerignore, a HEALTHCHECK on a path the process serves, writable paths on volumes, and an
ENTRYPOINT that is a real `vmafx` command whose flags and VMAFX_* settings exist."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.unit.deploy.deploytools import DOCKER, REPO, command_problems, known_env_names

IMAGES = ("controller", "node", "trainer")
#: What each image's HEALTHCHECK may ask for, and the listener setting that port must match.
HEALTH = {
    "controller": ("/healthz", "VMAFX_CONTROLLER_HTTP_LISTEN"),
    "node": ("/livez", "VMAFX_NODE_HTTP_LISTEN"),
    "trainer": ("/status", "VMAFX_SIDECAR_STATUS_PORT"),
}
GPU_RUNTIMES = ("cpu", "cuda", "rocm", "intel")
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)
SECRET_VALUE = re.compile(r"://[^/@\s]+:[^/@\s]+@|-----BEGIN|\b[A-Za-z0-9+/]{40,}\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [rest for word, rest in self.instructions if word == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def parse(path: Path) -> Dockerfile:
    """Instructions with continuation lines joined and comments dropped, split into stages."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].lower() == "as" else None
            stages.append(Stage(parts[0], name))
        elif not stages and word == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append((word, rest))
    return Dockerfile(args, stages)


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in stage.all("ENV"):
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def dockerfile(image: str) -> Dockerfile:
    return parse(DOCKER / f"Dockerfile.{image}")


def _pinned(image: str) -> bool:
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    _, _, tag = image.rpartition(":")
    return "/" not in tag and re.match(r"\d+\.\d+\.\d+", tag) is not None


@pytest.mark.parametrize("image", IMAGES)
def test_every_base_image_is_pinned_by_digest_or_exact_version(image: str) -> None:
    parsed = dockerfile(image)
    names = {stage.name for stage in parsed.stages if stage.name}
    for stage in parsed.stages:
        base = re.sub(r"\$\{(\w+)\}", lambda m: parsed.args.get(m.group(1), m.group(0)), stage.base)
        if "${GPU_RUNTIME}" in base:  # a stage per runtime, checked below
            continue
        assert base in names or _pinned(base), f"{image}: FROM {stage.base} → {base} is not pinned"


def test_the_node_image_has_a_stage_for_every_gpu_runtime_and_cpu_by_default() -> None:
    parsed = dockerfile("node")
    assert parsed.args["GPU_RUNTIME"] == "cpu"
    names = {stage.name for stage in parsed.stages}
    assert {f"runtime-{runtime}" for runtime in GPU_RUNTIMES} <= names
    assert parsed.final.base == "runtime-${GPU_RUNTIME}"


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_runs_as_a_user_that_is_not_root(image: str) -> None:
    users = dockerfile(image).final.all("USER")
    assert users, f"{image}: no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{image}: USER {users[-1]}"


@pytest.mark.parametrize("image", IMAGES)
def test_no_secret_is_baked_into_the_image(image: str) -> None:
    parsed = dockerfile(image)
    for stage in parsed.stages:
        for key, value in env_of(stage).items():
            assert not SECRET_NAME.search(key), f"{image}: ENV {key}"
            assert not SECRET_VALUE.search(value), f"{image}: ENV {key}={value}"
        for rest in stage.all("ARG"):
            assert not SECRET_NAME.search(rest.partition("=")[0]), f"{image}: ARG {rest}"
    for key in parsed.args:
        assert not SECRET_NAME.search(key), f"{image}: ARG {key}"


def _copy_sources(stage: Stage) -> list[str]:
    sources: list[str] = []
    for rest in stage.all("COPY") + stage.all("ADD"):
        if "--from=" in rest:
            continue
        words = [word for word in shlex.split(rest) if not word.startswith("--")]
        sources += words[:-1]
    return sources


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether the .dockerignore drops `path` (last matching pattern wins, `!` re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            ignored = not negate
    return ignored


@pytest.mark.parametrize("image", IMAGES)
def test_every_copy_source_exists_in_the_repository_and_reaches_the_build(image: str) -> None:
    ignore = DOCKER / f"Dockerfile.{image}.dockerignore"
    patterns = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [source for stage in dockerfile(image).stages for source in _copy_sources(stage)]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"{image}: COPY {source}: no such file in the repository"
        assert not _ignored(source, patterns), f"{image}: COPY {source} is in {ignore.name}"


@pytest.mark.parametrize("image", IMAGES)
def test_the_healthcheck_asks_the_process_on_its_own_port_and_path(image: str) -> None:
    final = dockerfile(image).final
    (check,) = final.all("HEALTHCHECK")
    argv = json.loads(check[check.index("CMD") + 3 :])
    assert argv[0] == "python"
    env = env_of(final)
    path, listener = HEALTH[image]
    url = env["HEALTHCHECK_URL"]
    assert url.startswith("http://127.0.0.1:") and url.endswith(path)
    port = url.removeprefix("http://127.0.0.1:").split("/")[0]
    assert env[listener].rpartition(":")[2] == port
    assert port in " ".join(final.all("EXPOSE")).split()


@pytest.mark.parametrize("image", IMAGES)
def test_the_entrypoint_is_a_real_vmafx_command(image: str) -> None:
    final = dockerfile(image).final
    (entrypoint,) = final.all("ENTRYPOINT")
    argv = json.loads(entrypoint) + [a for cmd in final.all("CMD") for a in json.loads(cmd)]
    assert argv[:2] == ["vmafx", image]
    assert command_problems(argv) == []


@pytest.mark.parametrize("image", IMAGES)
def test_every_vmafx_setting_in_the_image_is_one_vmafx_reads(image: str) -> None:
    env = env_of(dockerfile(image).final)
    unknown = sorted(set(filter(lambda key: key.startswith("VMAFX_"), env)) - known_env_names())
    assert unknown == []


@pytest.mark.parametrize("image", IMAGES)
def test_every_path_the_process_writes_lies_on_a_volume(image: str) -> None:
    final = dockerfile(image).final
    volumes = [v for rest in final.all("VOLUME") for v in json.loads(rest)]
    assert "/tmp" in volumes
    env = env_of(final)
    writes = [env["HOME"], env["XDG_STATE_HOME"] + "/vmafx"] + [
        value for key, value in env.items() if key.endswith(("_DIR", "_SOCKET"))
    ]
    for path in writes:
        assert any(path == v or path.startswith(v + "/") for v in volumes), f"{image}: {path}"


def test_the_lint_catches_an_unpinned_base_and_a_root_user(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nUSER root\nENV DB_PASSWORD=hunter2\n")
    parsed = parse(bad)
    assert not _pinned(parsed.stages[0].base)
    assert parsed.final.all("USER") == ["root"]
    assert SECRET_NAME.search(next(iter(env_of(parsed.final))))


def _pyproject() -> dict[str, Any]:
    import tomllib

    loaded: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())
    return loaded


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_installs_extras_the_project_has_on_a_python_it_supports(image: str) -> None:
    project = _pyproject()["project"]
    parsed = dockerfile(image)
    runs = " ".join(rest for stage in parsed.stages for rest in stage.all("RUN"))
    extras = [e for group in re.findall(r'"/src\[([a-z,]+)\]"', runs) for e in group.split(",")]
    assert extras and set(extras) <= set(project["optional-dependencies"])
    python = re.search(r"python:(\d+)\.(\d+)\.", parsed.args["PYTHON_IMAGE"])
    assert python is not None
    minimum = re.search(r">=(\d+)\.(\d+)", project["requires-python"])
    assert minimum is not None
    assert tuple(map(int, python.groups())) >= tuple(map(int, minimum.groups()))


def test_the_pins_in_the_images_are_the_projects() -> None:
    node = " ".join(rest for s in dockerfile("node").stages for rest in s.all("RUN"))
    trainer = " ".join(rest for s in dockerfile("trainer").stages for rest in s.all("RUN"))
    (ffmpeg,) = re.findall(r"imageio-ffmpeg==([\d.]+)", node)
    (floor,) = [
        d for d in _pyproject()["project"]["dependencies"] if d.startswith("imageio-ffmpeg")
    ]
    assert tuple(map(int, ffmpeg.split("."))) >= tuple(map(int, floor.split(">=")[1].split(".")))
    (torch,) = re.findall(r"torch==([\d.]+)", trainer)
    assert f"torch=={torch}" in (REPO / "scripts" / "test.sh").read_text()
