"""The controller's HTTP API (FastAPI): thin routes over `ControllerService`; see `app.py`."""

from vmafx.controller.http.app import build_http_app
from vmafx.controller.http.context import HttpLimits

__all__ = ["HttpLimits", "build_http_app"]
