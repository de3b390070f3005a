"""What the node's NVIDIA GPUs are doing now: core and encoder utilisation, NVENC sessions,
memory. Sent with every heartbeat; the controller shows it on the Nodes page and `/metrics`.

NVML (`pynvml`, package nvidia-ml-py) when it loads and answers, else `nvidia-smi --query-gpu`
(asked again without `utilization.encoder` when an old driver refuses that field). Only the
node's own GPUs (by UUID: a node pinned to one GPU reports that one) are kept. A sample never
raises and is bounded by a timeout: no answer is an empty sample.

Never run on real hardware: the NVML path is tested with a fake `pynvml` module, the
nvidia-smi path with recorded outputs (tests/fixtures/gpu/) and a fake `nvidia-smi` script.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Collection, Sequence
from typing import Any

from vmafx.core.gpuusage import MAX_GPUS, GpuUsage
from vmafx.node.gpu_parsers import NVIDIA_USAGE_FIELDS, parse_nvidia_smi_usage
from vmafx.node.gpus import (
    DEFAULT_TIMEOUT_S,
    NvmlLoader,
    SubprocessToolRunner,
    ToolRunner,
    import_nvml,
)

log = logging.getLogger(__name__)

_OLD_FIELDS = tuple(field for field in NVIDIA_USAGE_FIELDS if field != "utilization.encoder")


def usage_argv(fields: Sequence[str]) -> list[str]:
    return ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _try(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception:  # NVMLError_NotSupported and friends: that figure is unknown
        return None


def read_nvml_usage(nvml: Any) -> list[GpuUsage]:
    """Every GPU's load as NVML reports it; raises what nvmlInit raises (the caller falls back)."""
    nvml.nvmlInit()
    try:
        usages = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            rates = _try(nvml.nvmlDeviceGetUtilizationRates, handle)
            encoder = _try(nvml.nvmlDeviceGetEncoderUtilization, handle)  # [percent, period_us]
            stats = _try(nvml.nvmlDeviceGetEncoderStats, handle)  # [sessions, fps, latency_us]
            memory = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
            usages.append(
                GpuUsage(
                    uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                    index=index,
                    utilization_pct=float(rates.gpu) if rates is not None else None,
                    encoder_utilization_pct=float(encoder[0]) if encoder is not None else None,
                    encoder_sessions=int(stats[0]) if stats is not None else None,
                    memory_used_mb=int(memory.used) // (1024 * 1024) if memory else None,
                    memory_total_mb=int(memory.total) // (1024 * 1024) if memory else None,
                )
            )
        return usages
    finally:
        nvml.nvmlShutdown()


class GpuLoadSampler:
    """Samples the load of the GPUs whose UUIDs it is given (NVML, else nvidia-smi)."""

    def __init__(
        self,
        uuids: Collection[str],
        *,
        runner: ToolRunner | None = None,
        nvml: NvmlLoader | None = import_nvml,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        wait_s: float = 2.0,
    ) -> None:
        self.uuids = {uuid.lower() for uuid in uuids}
        self.wait_s = wait_s
        self._inflight: asyncio.Future[list[GpuUsage]] | None = None
        self.runner = runner or SubprocessToolRunner()
        self.timeout_s = timeout_s
        self._nvml_loader = nvml
        self._nvml: Any = None
        self._nvml_failed = nvml is None
        self._lock = threading.Lock()
        #: Which way the last sample was read: "nvml", "nvidia-smi" or "" (none worked).
        self.source = ""

    def _from_nvml(self) -> list[GpuUsage] | None:
        if self._nvml_failed:
            return None
        try:
            if self._nvml is None:
                assert self._nvml_loader is not None
                self._nvml = self._nvml_loader()
            if self._nvml is None:
                self._nvml_failed = True
                return None
            return read_nvml_usage(self._nvml)
        except Exception as error:  # no driver, no library: nvidia-smi from now on
            log.debug("NVML load sampling unavailable", extra={"error": repr(error)})
            self._nvml_failed = True
            return None

    def _from_smi(self) -> list[GpuUsage] | None:
        for fields in (NVIDIA_USAGE_FIELDS, _OLD_FIELDS):
            output = self.runner.run(usage_argv(fields), self.timeout_s)
            if output is not None:
                return parse_nvidia_smi_usage(output, fields)
        return None

    def sample(self) -> list[GpuUsage]:
        """The node's GPUs' load now ([] when neither way answers). Blocking: see `sample_async`."""
        with self._lock:
            found = self._from_nvml()
            self.source = "nvml" if found is not None else ""
            if found is None:
                found = self._from_smi()
                self.source = "nvidia-smi" if found is not None else ""
        mine = [usage for usage in found or () if usage.uuid.lower() in self.uuids]
        return mine[:MAX_GPUS]

    async def sample_async(self) -> list[GpuUsage]:
        """`sample()` in a worker thread for the heartbeat, which waits at most `wait_s` for it
        (an empty sample then). While a sample is still running (a wedged driver can hold NVML
        or nvidia-smi), no other starts: the heartbeat goes out at once, without GPU load."""
        if self._inflight is not None and not self._inflight.done():
            return []
        self._inflight = asyncio.ensure_future(asyncio.to_thread(self.sample))
        try:
            return await asyncio.wait_for(asyncio.shield(self._inflight), timeout=self.wait_s)
        except TimeoutError:
            log.debug("GPU load sample still running after %.1f s", self.wait_s)
            return []
