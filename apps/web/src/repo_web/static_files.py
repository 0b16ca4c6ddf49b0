"""`/static`: the files the web package carries (the browser code of apps/web/js in `static/js/`)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/static"


def static_dir() -> str:
    # A real directory in every way the app runs (sources under Pants, the pex's venv, a sandbox).
    return str(files("repo_web") / "static")


def mount_static(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=static_dir()), name="static")
