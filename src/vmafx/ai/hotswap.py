"""Follow the checkpoint registry and swap the engine's model without a restart.

Each check reads `registry.json` and walks the versions the policy may serve, best first
(`latest-stable`, the default: the active versions, newest first). The first one that is
already served, or that verifies (SHA-256 against its `.sha256` file and the registry), loads
and takes the feature schema's input size, is served. A refused version (corrupt, truncated,
replaced, unverified, another input size) is skipped: the node falls back to the newest intact
version the policy allows, and one WARNING line says which version was refused, why, and which
version is served instead. A refusal is remembered until the file changes, so it is neither
retried nor logged again at every poll. `pinned:<v>` allows no other version. When no version
is intact, nothing is served: predictions are absent and `problem` says why; scoring goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from vmafx.ai.inference import InferenceEngine
from vmafx.ai.registry import ModelVersion, Policy, parse_policy, read_registry
from vmafx.errors import ModelError

log = logging.getLogger(__name__)


_OFF = "predictions are off until a sound checkpoint is published"


@dataclasses.dataclass(frozen=True)
class WatchOutcome:
    """One check's result. `version`: the policy's choice (for "refused", the version refused);
    `serving`: what is served after the check; `refused`: each version refused in this check,
    best first, with its reason."""

    action: str  # "swapped" | "unchanged" | "refused" | "nothing"
    version: int | None = None
    reason: str = ""
    serving: int | None = None
    refused: tuple[tuple[int, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class _Refusal:
    version: int
    reason: str
    new: bool  # first seen in this check (logged); False when remembered from an earlier one


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
        #: Why no model is served (None while one is): shown by `infer` jobs that need one.
        self.problem: str | None = None
        self._refused_keys: dict[tuple[int, str, int, int], str] = {}
        self._registry_problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _file_key(self, version: int, sha256: str, path: Path) -> tuple[int, str, int, int]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return (version, sha256, -1, -1)
        return (version, sha256, st.st_mtime_ns, st.st_size)

    def _refuse_registry(self, reason: str) -> WatchOutcome:
        """The registry itself is unusable: keep what is served, say so once per reason."""
        if reason != self._registry_problem:
            log.warning("model registry refused: %s; the served model is kept", reason)
            self._registry_problem = reason
        if self.engine.current is None:
            self.problem = reason
        return WatchOutcome("refused", None, reason, serving=self.engine.version)

    def check(self) -> WatchOutcome:
        """One poll: serve the newest sound version the policy allows."""
        try:
            registry = read_registry(self.directory)
        except ModelError as exc:
            return self._refuse_registry(str(exc))
        if registry is None:
            if self.engine.current is None:
                self.problem = f"no checkpoint in {self.directory} yet"
            return WatchOutcome("nothing", reason="no registry.json yet")
        if registry.n_features and registry.n_features != self.engine.n_features:
            return self._refuse_registry(
                f"the registry holds models for {registry.n_features} features; "
                f"this engine serves {self.engine.n_features}"
            )
        self._registry_problem = None
        choices = registry.servable(self.policy)
        if not choices:
            return self._nothing_servable()
        current = self.engine.current
        refusals: list[_Refusal] = []
        for entry in choices:
            if current and (current.version, current.sha256) == (entry.version, entry.sha256):
                return self._settle(entry.version, refusals, swapped=False)
            refusal = self._try(entry)
            if refusal is None:
                return self._settle(entry.version, refusals, swapped=True)
            refusals.append(refusal)
        return self._none_intact(refusals)

    def _try(self, entry: ModelVersion) -> _Refusal | None:
        """Load and install `entry`; its refusal (remembered until the file changes) otherwise."""
        path = self.directory / entry.file
        key = self._file_key(entry.version, entry.sha256, path)
        if key in self._refused_keys:
            return _Refusal(entry.version, self._refused_keys[key], new=False)
        try:
            model = self.engine.load(path, sha256=entry.sha256, version=entry.version)
        except ModelError as exc:
            self._refused_keys[key] = self.refused[entry.version] = str(exc)
            return _Refusal(entry.version, str(exc), new=True)
        self.engine.install(model)
        return None

    def _settle(self, served: int, refusals: list[_Refusal], *, swapped: bool) -> WatchOutcome:
        self.problem = None
        tail = f"serving version {served} instead" if swapped else f"still serving version {served}"
        _log_refusals(refusals, tail)
        if not refusals:
            return WatchOutcome("swapped" if swapped else "unchanged", served, serving=served)
        first = refusals[0]
        return WatchOutcome(
            "refused", first.version, first.reason, serving=served, refused=_pairs(refusals)
        )

    def _none_intact(self, refusals: list[_Refusal]) -> WatchOutcome:
        only = (
            f" (the policy {self.policy} allows no other)" if self.policy.kind == "pinned" else ""
        )
        _log_refusals(refusals, f"no intact model version to fall back on{only}: {_OFF}")
        self._stop_serving(f"the policy {self.policy} no longer allows it and no version is intact")
        self.problem = "; ".join(
            f"model version {r.version} refused: {r.reason.rstrip('.')}" for r in refusals
        )
        first = refusals[0]
        return WatchOutcome("refused", first.version, first.reason, refused=_pairs(refusals))

    def _nothing_servable(self) -> WatchOutcome:
        why = f"no version fits the policy {self.policy} (a quarantined version is never served)"
        self._stop_serving(why)
        self.problem = why
        return WatchOutcome("nothing", reason=why)

    def _stop_serving(self, why: str) -> None:
        """The served version is no longer one the policy allows: predictions stop, loudly."""
        current = self.engine.current
        if current is None:
            return
        self.engine.clear()
        log.warning("model version %s is no longer served: %s; %s", current.version, why, _OFF)

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


def _log_refusals(refusals: list[_Refusal], tail: str) -> None:
    for refusal in refusals:
        if refusal.new:
            reason = refusal.reason.rstrip(".")
            log.warning("model version %d refused: %s; %s", refusal.version, reason, tail)


def _pairs(refusals: list[_Refusal]) -> tuple[tuple[int, str], ...]:
    return tuple((r.version, r.reason) for r in refusals)
