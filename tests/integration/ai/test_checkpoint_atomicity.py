"""A reader polling the checkpoint folder never sees a partial checkpoint or registry."""

from __future__ import annotations

import json
import threading

from vmafx.ai.checkpoints import (
    checkpoint_name,
    digest_path,
    sha256_hex,
    version_of,
    write_checkpoint,
)
from vmafx.ai.registry import ModelStatus, ModelVersion, Registry, read_registry, write_registry

SIZE = 1_000_000


def payload(version: int) -> bytes:
    return bytes([version % 251]) * SIZE + f"end of v{version}".encode()


def test_readers_see_whole_checkpoints_and_registries_or_nothing(tmp_path):
    stop = threading.Event()
    problems: list[str] = []
    seen: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            for path in tmp_path.glob("model_v*.onnx"):
                version = version_of(path.name)
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                if data != payload(version):
                    problems.append(f"{path.name}: {len(data)} bytes")
                seen.add(version)
                sidecar = digest_path(path)
                if sidecar.exists() and sidecar.read_text() not in ("", sha256_hex(data) + "\n"):
                    problems.append(f"{sidecar.name} is partial or wrong")
            try:
                read_registry(tmp_path)
            except Exception as exc:
                problems.append(f"registry: {exc}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    registry = Registry(feature_schema="vmafx-features-v1", n_features=80)
    for version in range(1, 31):
        path, digest = write_checkpoint(tmp_path, version, payload(version))
        entry = ModelVersion(version, path.name, digest, ModelStatus.active, "t", reason="x" * 2000)
        registry = registry.with_version(entry, updated_at=str(version))
        write_registry(tmp_path, registry)
    stop.set()
    for t in threads:
        t.join()
    assert problems == []
    assert len(seen) > 5  # the readers really raced the writer
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert len(json.loads((tmp_path / "registry.json").read_text())["versions"]) == 30
    assert (tmp_path / checkpoint_name(30)).read_bytes() == payload(30)
