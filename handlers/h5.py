"""The H5 pages trainees open inside WeChat: `/h5/<name>` serves `static/h5/<name>.html`.

The pages are static files that call the JSON API from the browser; this blueprint only maps
the agreed short URLs onto them (404 for any other name) and sends `/` to the plan list.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_from_directory

bp = Blueprint("h5", __name__)

_PAGE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def _pages_dir() -> Path:
    return Path(current_app.static_folder or "static") / "h5"


@bp.get("/")
def home():
    return redirect("/h5/plans")


@bp.get("/h5/<name>")
def page(name: str):
    # Only plain names: no dots or slashes, so nothing outside static/h5/ can be reached.
    if not _PAGE_NAME.fullmatch(name) or not (_pages_dir() / f"{name}.html").is_file():
        abort(404)
    response = send_from_directory(_pages_dir(), f"{name}.html", max_age=0)
    # The page shell is tiny; always revalidate so a deploy reaches phones at once.
    response.headers["Cache-Control"] = "no-cache"
    return response
