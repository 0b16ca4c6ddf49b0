"""`/static`: files the web package carries (apps/web/js's browser code in `static/js/`)."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/static"
# Set by the dev launcher (`./pants run :dev`): serve apps/web/js/src itself, so a JS edit shows
# on the next page load. Packaged and tested apps serve the copy the package carries.
LIVE_JS_DIR_ENV = "REPO_WEB_JS_DIR"


def static_dir() -> Path:
    # A real directory in every way the app runs (sources under Pants, the pex's venv, a sandbox).
    return Path(str(files("repo_web") / "static"))


def mount_static(app: FastAPI) -> None:
    live_js = os.environ.get(LIVE_JS_DIR_ENV)
    if live_js:
        app.mount(f"{STATIC_URL}/js", StaticFiles(directory=live_js), name="static-js-live")
    # The working tree holds no static/ until something besides the JS is added there.
    if static_dir().is_dir():
        app.mount(STATIC_URL, StaticFiles(directory=static_dir()), name="static")
