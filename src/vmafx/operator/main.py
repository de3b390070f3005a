"""Running the operator: check kopf is installed, build the handlers, run kopf until stopped."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

from vmafx.client.port import ControllerClient
from vmafx.errors import MissingExtraError

INSTALL_COMMAND = "pip install 'vmafx[operator]'"


def require_kopf() -> None:
    """Raise MissingExtraError (exit 19, with the install command) unless kopf imports."""
    if importlib.util.find_spec("kopf") is None:
        raise MissingExtraError(
            "`vmafx operator` needs kopf, which is not installed.",
            extra="operator",
            command=INSTALL_COMMAND,
        )


def run(
    client_factory: Callable[[], ControllerClient],
    *,
    namespaces: tuple[str, ...] = (),
    poll_s: float = 5.0,
    kube_server: str | None = None,
    liveness: str | None = None,
) -> None:
    """Serve VmafxJob, VmafxNode and VmafxModelTraining until SIGTERM/SIGINT."""
    require_kopf()
    import kopf  # noqa: PLC0415 (the extra is optional)

    from vmafx.operator.handlers import OperatorConfig, build_registry, settings_of  # noqa: PLC0415

    config = OperatorConfig(namespaces=namespaces, poll_s=poll_s, kube_server=kube_server)
    asyncio.run(
        kopf.operator(
            registry=build_registry(client_factory, config),
            settings=settings_of(config),
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
            liveness_endpoint=liveness,
        )
    )
