"""Follow the checkpoint registry and swap the engine's model without a restart.

Each check reads `registry.json`, picks the version the policy serves (`latest-stable` by
default: the newest that passed the stability gate), and when it differs from the one being
served, verifies the file's SHA-256 (against its `.sha256` file and the registry), loads a
session and installs it. A quarantined, unverified, corrupt or truncated file, a hash mismatch,
or a model whose input size differs from the feature schema is refused: the engine keeps what it
serves, and the refusal is remembered (until the file changes) so it is not retried every poll.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from vmafx.ai.inference import InferenceEngine
from vmafx.ai.registry import Policy, parse_policy, read_registry
from vmafx.errors import ModelError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WatchOutcome:
    action: str  # "swapped" | "unchanged" | "refused" | "nothing"
    version: int | None = None
    reason: str = ""


class ModelWatcher:
    """Polls `directory` (every `poll_interval_s` once started); `check()` does one poll."""

    def __init__(
        self,
        engine: InferenceEngine,
        directory: Path,
        *,
        policy: Policy | str = "latest-stable",
        poll_interval_s: float = 60.0,
    ) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self.policy = parse_policy(policy) if isinstance(policy, str) else policy
        self.poll_interval_s = poll_interval_s
        self.refused: dict[int, str] = {}
        self._refused_keys: dict[tuple[int, str, int, int], str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _file_key(self, version: int, sha256: str, path: Path) -> tuple[int, str, int, int]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return (version, sha256, -1, -1)
        return (version, sha256, st.st_mtime_ns, st.st_size)

    def _refuse(self, version: int | None, reason: str) -> WatchOutcome:
        if version is not None:
            self.refused[version] = reason
        log.warning("model refused", extra={"version": version, "reason": reason})
        return WatchOutcome("refused", version, reason)

    def check(self) -> WatchOutcome:
        """One poll: swap to the policy's version if it is new and sound."""
        try:
            registry = read_registry(self.directory)
        except ModelError as exc:
            return self._refuse(None, str(exc))
        if registry is None:
            return WatchOutcome("nothing", reason="no registry.json yet")
        if registry.n_features and registry.n_features != self.engine.n_features:
            return self._refuse(
                None,
                f"the registry holds models for {registry.n_features} features; "
                f"this engine serves {self.engine.n_features}",
            )
        target = registry.select(self.policy)
        if target is None:
            return WatchOutcome("nothing", reason=f"no version fits the policy {self.policy}")
        current = self.engine.current
        if current and current.version == target.version and current.sha256 == target.sha256:
            return WatchOutcome("unchanged", target.version)
        path = self.directory / target.file
        key = self._file_key(target.version, target.sha256, path)
        if key in self._refused_keys:
            return WatchOutcome("refused", target.version, self._refused_keys[key])
        try:
            model = self.engine.load(path, sha256=target.sha256, version=target.version)
        except ModelError as exc:
            self._refused_keys[key] = str(exc)
            return self._refuse(target.version, str(exc))
        self.engine.install(model)
        return WatchOutcome("swapped", target.version)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a watcher must outlive any surprise; the next poll retries
                log.exception("model check failed")
            self._stop.wait(self.poll_interval_s)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="vmafx-model-watcher", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
