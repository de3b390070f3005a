"""The web UI's static files, served by the controller's HTTP app: no token, strict headers,
every module a page imports present (the browser tests drive the pages themselves)."""

from __future__ import annotations

import re

import pytest

from vmafx.controller.http.ui import STATIC

from .conftest import Api

pytestmark = pytest.mark.anyio
IMPORT = re.compile(r"""from\s+"(\./[^"]+)";""")


async def test_the_root_sends_browsers_to_the_ui(mem: Api):
    response = await mem.client.get("/")
    assert (response.status_code, response.headers["location"]) == (307, "/ui/")


async def test_the_ui_page_needs_no_token_and_forbids_anything_foreign(mem: Api):
    assert (await mem.client.get("/v1/jobs")).status_code == 401  # the data does
    page = await mem.client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/main.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_every_module_the_pages_import_is_served_as_javascript(mem: Api):
    pending, seen = ["js/main.js"], set()
    while pending:
        path = pending.pop()
        seen.add(path)
        response = await mem.client.get(f"/ui/{path}")
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"]
        folder = path.rpartition("/")[0]
        for found in IMPORT.findall(response.text):
            name = f"{folder}/{found.removeprefix('./')}"
            if name not in seen:
                pending.append(name)
    served = {f"js/{item.name}" for item in (STATIC / "js").glob("*.js")}
    assert seen == served  # nothing shipped that no page uses
    css = await mem.client.get("/ui/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_nothing_outside_the_static_folder_is_served(mem: Api):
    for path in ("/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/js/../../__init__.py"):
        assert (await mem.client.get(path)).status_code == 404, path


async def test_the_ui_is_not_part_of_the_api_document(mem: Api):
    paths = (await mem.client.get("/openapi.json")).json()["paths"]
    assert not [
        path for path in paths if not path.startswith(("/v1", "/healthz", "/readyz", "/metrics"))
    ]
