"""Farm tune probes kept across searches: which probe is which content's, and which may be kept.
Pure; the controller's tuner (`vmafx.controller.tuning`) does the store's reads and writes.

The controller never reads media, so it cannot hash a source itself. Two parties vouch for it
instead, and both must agree before a measurement is kept:

- the submitter (`vmafx tune --controller`, which reads the source to probe it) puts the
  SHA-256 of the source's content (`vmafx.tune.cache.content_hash`, as the local probe cache
  keys it), its size and its mtime in the tune spec (`source_sha256`, `source_size`,
  `source_mtime_ns`);
- the node that encodes a probe reports the size and mtime of the source it read, unchanged
  from before its encode to after (`source_stat` in the encode result).

A probe is kept only when the node's (size, mtime) equal the submitter's: the node encoded the
very file the submitter hashed. It is found again by (tenant, key), the key a SHA-256 of the
content hash and the probe's whole encode spec but its output path (encoder, preset, CRF/CQ/QP,
size, trim, scoring model: any change is another key). A spec without the three source fields
(a tune job submitted over HTTP by hand, an object-storage source) neither keeps nor reuses.
"""

from __future__ import annotations

from vmafx.tune.cache import probe_key
from vmafx.tune.farm import DELIVER, Child, ProbeJob, TuneDriver, child_spec
from vmafx.tune.search import CHEAP, FULL


def cache_key(driver: TuneDriver, probe: ProbeJob) -> str | None:
    """The key a measurement of `probe` is kept under, or None (no vouched source content,
    or a delivery, which is not a measurement)."""
    digest = driver.spec.source_sha256
    if digest is None or probe.kind == "deliver":
        return None
    spec = child_spec(driver, probe)
    spec.pop("source")
    spec.pop("output")
    return probe_key(source_sha256=digest, spec=spec)


def probe_for(driver: TuneDriver, key: str) -> ProbeJob | None:
    """The probe a child's key names (None: a delivery, or a key this driver never makes)."""
    if key.startswith(DELIVER):
        return None
    kind, *parts = key.split(":")
    try:
        if kind == "ladder":
            width, height = (int(v) for v in parts[0].split("x"))
            probes = driver.probes_at(float(parts[1]), FULL, (width, height))
        elif kind == "full":
            probes = driver.probes_at(float(parts[0]), FULL, None)
        elif kind == "sample":
            probes = driver.probes_at(float(parts[0]), CHEAP, None)
        else:
            return None
    except (ValueError, IndexError):
        return None
    return next((p for p in probes if p.key == key), None)


def keepable(driver: TuneDriver, child: Child) -> bool:
    """Whether a finished probe's measurement may be kept for later searches: completed,
    measured by this search (not itself a kept one), scorable with its metric, and its node
    read the file the submitter hashed (same size and mtime)."""
    spec = driver.spec
    if child.cached or child.state != "completed" or child.result is None:
        return False
    if spec.source_size is None or spec.source_mtime_ns is None:
        return False
    stat = child.result.get("source_stat")
    if not isinstance(stat, dict):
        return False
    if (stat.get("size"), stat.get("mtime_ns")) != (spec.source_size, spec.source_mtime_ns):
        return False
    return driver.unscorable(child) is None
