"""The few Kubernetes API calls kopf does not make for the operator: create-or-patch an owned
object (a Deployment, a ConfigMap) and GET a trainer's /status. aiohttp (a kopf dependency),
with the credentials kopf logged in with (`kopf.ConnectionInfo`)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import kopf

from vmafx.errors import UnavailableError

#: apiVersion, kind → the plural in the API path.
_PLURALS = {("apps/v1", "Deployment"): "deployments", ("v1", "ConfigMap"): "configmaps"}
TIMEOUT = aiohttp.ClientTimeout(total=10)


def object_path(body: Mapping[str, Any]) -> str:
    """`/apis/apps/v1/namespaces/NS/deployments` for a namespaced Deployment, etc."""
    api, kind = body["apiVersion"], body["kind"]
    prefix = f"/api/{api}" if "/" not in api else f"/apis/{api}"
    namespace = body["metadata"]["namespace"]
    return f"{prefix}/namespaces/{namespace}/{_PLURALS[(api, kind)]}"


def _text(data: str | bytes | None) -> str | None:
    return data.decode() if isinstance(data, bytes) else data


class KubeApi:
    """Create-or-patch objects on the API server kopf talks to."""

    def __init__(self, connection: kopf.ConnectionInfo) -> None:
        self.server = connection.server.rstrip("/")
        headers = {"Authorization": f"Bearer {connection.token}"} if connection.token else {}
        context: ssl.SSLContext | bool = True
        if connection.insecure:
            context = False
        elif connection.ca_path or connection.ca_data:
            context = ssl.create_default_context(
                cafile=connection.ca_path,
                cadata=_text(connection.ca_data),
            )
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=TIMEOUT, connector=aiohttp.TCPConnector(ssl=context)
        )

    async def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create `body`, or merge-patch it over the existing object of that name."""
        base = f"{self.server}{object_path(body)}"
        url = f"{base}/{body['metadata']['name']}"
        async with self._session.get(url) as found:
            exists = found.status == 200
            if found.status not in (200, 404):
                raise self._error("read", url, found.status, await found.text())
        if exists:
            headers = {"Content-Type": "application/merge-patch+json"}
            call = self._session.patch(url, json=body, headers=headers)
        else:
            call = self._session.post(base, json=body)
        async with call as answer:
            if answer.status >= 300:
                raise self._error("write", url, answer.status, await answer.text())
            result: dict[str, Any] = await answer.json()
            return result

    @staticmethod
    def _error(verb: str, url: str, status: int, text: str) -> UnavailableError:
        return UnavailableError(
            f"the Kubernetes API could not {verb} {url}: HTTP {status} {text[:300]}",
            hint="Check the operator's RBAC (deployments, configmaps, pods) and the API server.",
        )

    async def pods(self, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """The pods in `namespace` carrying every one of `labels`."""
        selector = ",".join(f"{key}={value}" for key, value in labels.items())
        url = f"{self.server}/api/v1/namespaces/{namespace}/pods"
        async with self._session.get(url, params={"labelSelector": selector}) as answer:
            if answer.status != 200:
                raise self._error("list", url, answer.status, await answer.text())
            items: list[dict[str, Any]] = (await answer.json()).get("items") or []
        # Filtered here too: an API emulator may ignore the selector.
        return [
            pod for pod in items
            if all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        ]  # fmt: skip

    async def close(self) -> None:
        await self._session.close()


async def get_json(url: str) -> dict[str, Any]:
    """GET `url` as JSON (the trainer's /status); UnavailableError when it does not answer."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as reply:
            if reply.status != 200:
                raise UnavailableError(f"{url} answered HTTP {reply.status}.")
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise UnavailableError(f"{url} did not answer: {error or type(error).__name__}.") from None
    if not isinstance(body, dict):
        raise UnavailableError(f"{url} answered something other than a JSON object.")
    return body
