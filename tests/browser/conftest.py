"""The web UI in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by
Selenium through /usr/bin/chromedriver: nothing is downloaded), against a real controller.

One controller (auth off, loopback, SQLite in a temporary folder), one fake node on host
`zampp2` with an NVIDIA L4, and one browser serve every test here; each test uses jobs of its
own queue. Screenshots go to `VMAFX_SCREENSHOTS_DIR` when set (e.g. docs/screenshots), else to a
temporary folder. Missing Chromium skips these tests locally and fails them in CI.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require
from tests.farm import FakeNode, Farm, migrated_template

from vmafx.controller.auth import DEV_PRINCIPAL
from vmafx.core.jobs import Job, JobKind, Requirements
from vmafx.core.messages import JobRequest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
LAPTOP = (1280, 900)
PHONE = (390, 844)
WAIT_S = 10.0


def _have_selenium() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    folder = tmp_path_factory.mktemp("ui-farm")
    made = Farm(folder / "farm", migrated_template(folder))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="session")
def node(farm: Farm) -> Iterator[FakeNode]:
    made = farm.node()
    yield made
    farm.run(made.close())


class Browser:
    """A Chromium tab with waits, JavaScript, phone emulation and screenshots."""

    def __init__(self, driver: Any, shots: Path) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.shots = shots
        self.wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.05)

    def open(self, url: str) -> None:
        self.driver.get("about:blank")  # a hash change alone would not reload the page
        self.driver.get(url)

    def until(self, check: Callable[[], Any], message: str = "") -> Any:
        return self.wait.until(lambda _driver: check(), message)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, css), css)

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text_of(self, css: str) -> str:
        return str(
            self.js(
                "const n = document.querySelector(arguments[0]); return n ? n.textContent : null;",
                css,
            )
            or ""
        )

    def wait_text(self, css: str, wanted: str) -> str:
        from selenium.common.exceptions import TimeoutException

        try:
            self.until(lambda: wanted in self.text_of(css))
        except TimeoutException:
            self.screenshot("failed-wait")
            pytest.fail(f"{wanted!r} never appeared in {css}; it holds {self.text_of(css)!r}")
        return self.text_of(css)

    def size(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 2 if mobile else 1,
                "mobile": mobile,
            },
        )

    def screenshot(self, name: str) -> Path:
        """The whole page (not only what fits the window) as `<name>.png`."""
        width, height = self.js(
            "return [document.documentElement.clientWidth, document.documentElement.scrollHeight];"
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def js_errors(self) -> list[str]:
        logs = self.driver.get_log("browser")
        return [entry["message"] for entry in logs if entry.get("source") == "javascript"]


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("VMAFX_SCREENSHOTS_DIR")
    if not folder:
        return tmp_path_factory.mktemp("screenshots")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[Browser]:
    available = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and _have_selenium()
    require(available, "Chromium with chromedriver (apt: chromium chromium-driver) and selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield Browser(driver, shots)
    finally:
        driver.quit()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Browser]:
    """The browser at laptop size; the test fails if a page threw a JavaScript error."""
    browser.size(*LAPTOP)
    browser.js_errors()  # drop what earlier tests left
    yield browser
    assert browser.js_errors() == []


def submit(farm: Farm, kind: JobKind, spec: dict[str, Any], **fields: Any) -> Job:
    fields.setdefault("requirements", Requirements())
    request = JobRequest.parse(kind=kind, spec=spec, **fields)
    return farm.run(farm.running.service.submit_job(DEV_PRINCIPAL, request)).job


def score_job(farm: Farm, queue: str, *distorted: str) -> Job:
    spec = {
        "reference": farm.path("ref.mp4"),
        "distorted": [farm.path(name) for name in distorted or ("dis.mp4",)],
    }
    return submit(farm, JobKind.SCORE, spec, queue=queue)


def encode_job(farm: Farm, queue: str) -> Job:
    spec = {"source": farm.path("master.mov"), "output": farm.path(f"{queue}.mkv"), "codec": "av1"}
    return submit(farm, JobKind.ENCODE, spec, queue=queue)


def press(tab: Browser, css: str) -> None:
    """Click `css` in the page itself, once it is there: parts of a page are redrawn as data
    arrives, so an element WebDriver found a moment before may be gone when it clicks."""
    script = "const n = document.querySelector(arguments[0]); if (n) n.click(); return !!n;"
    tab.until(lambda: tab.js(script, css), css)
